use actionkit::Action;
use actionkit::form_state::{FieldError, Schema};

#[derive(Action, serde::Deserialize)]
#[action(id = "send")]
struct Send {
    #[field(options = audiences)]
    audience_id: String,
}

async fn audiences() -> Result<Schema, FieldError> {
    Ok(Schema::default())
}

fn main() {}
