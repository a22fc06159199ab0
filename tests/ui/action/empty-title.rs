use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "note")]
struct Note {
    #[field(title = "")]
    text: String,
}

fn main() {}
