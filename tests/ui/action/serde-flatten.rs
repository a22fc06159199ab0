use actionkit::{Action, InputType};

#[derive(InputType, serde::Deserialize)]
struct Address {
    city: String,
}

#[derive(Action, serde::Deserialize)]
#[action(id = "ship")]
struct Ship {
    #[serde(flatten)]
    address: Address,
}

fn main() {}
