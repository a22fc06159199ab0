use actionkit::{Action, ActionError, State, debug_handler};

#[derive(Clone)]
struct Mailer;

#[derive(Action, serde::Deserialize)]
#[action(id = "ping", execute = ping, state = Mailer)]
struct Ping {
    target: String,
}

#[debug_handler]
async fn ping(State(_mail): State<Mailer>, input: Ping) -> Result<String, ActionError> {
    Ok(input.target)
}

fn main() {}
