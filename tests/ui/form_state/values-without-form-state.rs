// `<A>Values` and `<A>Config` come with form state only: an action without dynamic fields,
// conditions or a whole-form handler has no `FormAction` to name.
use actionkit::Action;
use actionkit::form_state::FormRequest;

#[derive(Action, serde::Deserialize)]
#[action(id = "send")]
struct Send {
    to: String,
}

fn handler(_request: &FormRequest<Send>) {}

fn main() {}
