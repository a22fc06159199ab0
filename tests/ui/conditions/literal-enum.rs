use actionkit::{Action, InputType};

#[derive(InputType, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum Plan {
    Free,
    Pro,
}

#[derive(Action, serde::Deserialize)]
#[action(id = "subscribe")]
struct Subscribe {
    plan: Plan,
    #[field(visible_when(plan = ["pro", "team"]))]
    seats: Option<u32>,
}

fn main() {}
