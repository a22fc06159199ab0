use std::rc::Rc;

use actionkit::{Action, ActionError, debug_handler};

#[derive(Action, serde::Deserialize)]
#[action(id = "ping", execute = ping)]
struct Ping {
    target: String,
}

#[debug_handler]
async fn ping(input: Ping) -> Result<usize, ActionError> {
    let shared = Rc::new(input.target);
    tokio::task::yield_now().await;
    Ok(shared.len())
}

fn main() {}
