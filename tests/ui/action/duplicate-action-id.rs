use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "pick")]
#[action(id = "choose")]
struct Pick {
    audience_id: String,
}

fn main() {}
