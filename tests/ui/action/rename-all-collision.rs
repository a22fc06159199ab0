use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "pick")]
#[serde(rename_all = "UPPERCASE")]
#[allow(non_snake_case)]
struct Pick {
    name: String,
    NAME: String,
}

fn main() {}
