use actionkit::Action;
use actionkit::form_state::{FieldError, Options};

#[derive(Action, serde::Deserialize)]
#[action(id = "send")]
struct Send {
    #[field(options = pick, depends_on(b))]
    a: String,
    #[field(options = pick, depends_on(a))]
    b: String,
}

async fn pick(_other: &str) -> Result<Options, FieldError> {
    Ok(Options::default())
}

fn main() {}
