use actionkit::Action;
use actionkit::form_state::{FieldError, Options};

#[derive(Action, serde::Deserialize)]
#[action(id = "send")]
struct Send {
    #[field(options = pick, depends_on(a))]
    a: String,
}

async fn pick(_a: &str) -> Result<Options, FieldError> {
    Ok(Options::default())
}

fn main() {}
