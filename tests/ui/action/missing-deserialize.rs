use actionkit::{Action, ActionError};

#[derive(Action, Debug)]
#[action(id = "ping", execute = ping)]
struct Ping {
    target: String,
}

async fn ping(input: Ping) -> Result<(), ActionError> {
    let _ = input;
    Ok(())
}

fn main() {}
