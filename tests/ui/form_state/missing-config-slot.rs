use actionkit::Action;
use actionkit::form_state::{FormRequest, FormState, SelectConfig};

#[derive(Action, serde::Deserialize)]
#[action(id = "send", form_state = send_form)]
struct Send {
    #[field(dynamic_select)]
    audience_id: String,
    #[field(dynamic_select)]
    segment_id: Option<String>,
}

async fn send_form(req: FormRequest<Send>) -> FormState<Send> {
    FormState::new(&req, SendConfig { audience_id: SelectConfig::default() })
}

fn main() {}
