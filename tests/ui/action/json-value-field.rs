use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "raw")]
struct Raw {
    payload: serde_json::Value,
}

fn main() {}
