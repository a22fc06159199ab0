use actionkit::Action;
use actionkit::runtime::Runtime;

#[derive(Action, serde::Deserialize)]
#[action(id = "ping")]
struct Ping {
    target: String,
}

fn main() {
    let _ = Runtime::new(()).action::<Ping>();
}
