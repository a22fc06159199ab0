use actionkit::Action;
use actionkit::form_state::{FieldError, Options};

#[derive(Action, serde::Deserialize)]
#[action(id = "send", form_state_budget_ms = 0)]
struct Send {
    #[field(options = pick)]
    a: String,
}

async fn pick() -> Result<Options, FieldError> {
    Ok(Options::default())
}

fn main() {}
