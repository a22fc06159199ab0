use actionkit::{Action, InputType};

#[derive(InputType, serde::Deserialize)]
struct Recipient {
    email: String,
}

#[derive(Action, serde::Deserialize)]
#[action(id = "broadcast")]
struct Broadcast {
    recipients: Vec<Recipient>,
}

fn main() {}
