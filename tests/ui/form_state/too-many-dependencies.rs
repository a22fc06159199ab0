use actionkit::Action;
use actionkit::form_state::{FieldError, Options};

#[derive(Action, serde::Deserialize)]
#[action(id = "send")]
struct Send {
    a: String, b: String, c: String, d: String, e: String, f: String, g: String,
    h: String, i: String, j: String, k: String, l: String, m: String,
    #[field(options = pick, depends_on(a, b, c, d, e, f, g, h, i, j, k, l, m))]
    n: String,
}

async fn pick() -> Result<Options, FieldError> {
    Ok(Options::default())
}

fn main() {}
