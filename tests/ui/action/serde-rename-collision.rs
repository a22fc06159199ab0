use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "pick")]
struct Pick {
    audience: String,
    #[serde(rename = "audience")]
    audience_id: String,
}

fn main() {}
