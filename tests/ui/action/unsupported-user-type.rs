use actionkit::Action;

#[derive(serde::Deserialize)]
struct Money {
    cents: i64,
}

#[derive(Action, serde::Deserialize)]
#[action(id = "pay")]
struct Pay {
    amount: Money,
}

fn main() {}
