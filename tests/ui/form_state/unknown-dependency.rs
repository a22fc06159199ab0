use actionkit::Action;
use actionkit::form_state::{FieldError, Options};

#[derive(Action, serde::Deserialize)]
#[action(id = "send")]
struct Send {
    audience_id: String,
    #[field(options = segments, depends_on(audience))]
    segment_id: String,
}

async fn segments(_audience_id: &str) -> Result<Options, FieldError> {
    Ok(Options::default())
}

fn main() {}
