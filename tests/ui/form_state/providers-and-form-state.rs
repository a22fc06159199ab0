use actionkit::Action;
use actionkit::form_state::{FieldError, FormRequest, FormState, Options};

#[derive(Action, serde::Deserialize)]
#[action(id = "send", form_state = send_form)]
struct Send {
    #[field(options = audiences)]
    audience_id: String,
}

async fn audiences() -> Result<Options, FieldError> {
    Ok(Options::default())
}

async fn send_form(req: FormRequest<Send>) -> FormState<Send> {
    FormState::new(&req, SendConfig { audience_id: Default::default() })
}

fn main() {}
