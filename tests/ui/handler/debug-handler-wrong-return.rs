use actionkit::{Action, debug_handler};

#[derive(Action, serde::Deserialize)]
#[action(id = "ping", execute = ping)]
struct Ping {
    target: String,
}

#[debug_handler]
async fn ping(input: Ping) -> Option<String> {
    Some(input.target)
}

fn main() {}
