use actionkit::Action;
use actionkit::form_state::{FieldError, Options};

#[derive(Action, serde::Deserialize)]
#[action(id = "send")]
struct Send {
    count: u32,
    #[field(options = segments, depends_on(count))]
    segment_id: String,
}

async fn segments(_count: &str) -> Result<Options, FieldError> {
    Ok(Options::default())
}

fn main() {}
