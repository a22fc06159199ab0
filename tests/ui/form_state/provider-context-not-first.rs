use actionkit::form_state::{FieldError, Options};
use actionkit::{Action, Context};

#[derive(Action, serde::Deserialize)]
#[action(id = "send")]
struct Send {
    audience_id: String,
    #[field(options = segments, depends_on(audience_id))]
    segment_id: String,
}

async fn segments(_audience_id: &str, _ctx: Context) -> Result<Options, FieldError> {
    Ok(Options::default())
}

fn main() {}
