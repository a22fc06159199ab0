use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "pick")]
struct Pick {
    #[serde(alias = "list_id")]
    audience_id: String,
}

fn main() {}
