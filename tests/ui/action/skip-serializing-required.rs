use actionkit::Action;

#[derive(Action, serde::Deserialize, serde::Serialize)]
#[action(id = "note")]
struct Note {
    #[serde(skip_serializing_if = "String::is_empty")]
    text: String,
}

fn main() {}
