use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "note")]
struct Note {
    #[field(title = 5)]
    text: String,
}

fn main() {}
