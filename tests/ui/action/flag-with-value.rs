use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "note")]
struct Note {
    #[field(multi = true)]
    text: String,
}

fn main() {}
