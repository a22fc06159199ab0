use actionkit::{Action, ActionError};

#[derive(Action, serde::Deserialize)]
#[action(id = "read", execute = read)]
struct Read {
    path: String,
}

async fn read(input: Read) -> Result<String, ActionError> {
    let text = std::fs::read_to_string(&input.path)?;
    Ok(text)
}

fn main() {}
