use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "ping")]
struct Ping;

fn main() {}
