use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "note")]
struct Note {
    #[field(max_length = "80")]
    text: String,
}

fn main() {}
