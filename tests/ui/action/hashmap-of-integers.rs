use std::collections::HashMap;

use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "scores")]
struct Scores {
    by_name: HashMap<String, i64>,
}

fn main() {}
