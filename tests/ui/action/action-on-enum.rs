use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "mode")]
enum Mode {
    Fast,
    Slow,
}

fn main() {}
