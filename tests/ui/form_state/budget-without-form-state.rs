use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "send", form_state_budget_ms = 200)]
struct Send {
    a: String,
}

fn main() {}
