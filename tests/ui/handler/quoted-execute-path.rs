use actionkit::{Action, ActionError};

#[derive(Action, serde::Deserialize)]
#[action(id = "ping", execute = "ping")]
struct Ping {
    target: String,
}

async fn ping(_input: Ping) -> Result<(), ActionError> {
    Ok(())
}

fn main() {}
