use actionkit::{Action, ActionError};

#[derive(Action, serde::Deserialize)]
#[action(id = "ping", execute = ping)]
struct Ping {
    target: String,
}

async fn ping(retries: u32, input: Ping) -> Result<(), ActionError> {
    let _ = (retries, input.target);
    Ok(())
}

fn main() {}
