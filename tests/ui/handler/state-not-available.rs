use actionkit::runtime::Runtime;
use actionkit::{Action, ActionError, State};

#[derive(Clone)]
struct Mailer;

#[derive(Clone)]
struct AppState;

#[derive(Action, serde::Deserialize)]
#[action(id = "ping", execute = ping, state = Mailer)]
struct Ping {
    target: String,
}

async fn ping(State(_mail): State<Mailer>, _input: Ping) -> Result<(), ActionError> {
    Ok(())
}

fn main() {
    let _ = Runtime::new(AppState).action::<Ping>();
}
