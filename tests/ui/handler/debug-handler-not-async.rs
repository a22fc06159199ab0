use actionkit::{Action, ActionError, debug_handler};

#[derive(Action, serde::Deserialize)]
#[action(id = "ping")]
struct Ping {
    target: String,
}

#[debug_handler]
fn ping(input: Ping) -> Result<String, ActionError> {
    Ok(input.target)
}

fn main() {}
