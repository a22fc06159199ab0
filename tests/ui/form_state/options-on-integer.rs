use actionkit::Action;
use actionkit::form_state::{FieldError, Options};

#[derive(Action, serde::Deserialize)]
#[action(id = "send")]
struct Send {
    #[field(options = counts)]
    count: u32,
}

async fn counts() -> Result<Options, FieldError> {
    Ok(Options::default())
}

fn main() {}
