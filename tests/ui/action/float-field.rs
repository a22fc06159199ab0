use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "charge")]
struct Charge {
    amount: f64,
}

fn main() {}
