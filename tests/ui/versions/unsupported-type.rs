use actionkit::Action;

#[derive(serde::Serialize, serde::Deserialize)]
struct Money {
    cents: i64,
}

// An earlier version is an action input like any other: its fields must be input types.
#[derive(Action, serde::Serialize, serde::Deserialize)]
#[action(id = "pay")]
struct PayV1 {
    amount: Money,
}

#[derive(Action, serde::Serialize, serde::Deserialize)]
#[action(id = "pay", previous = PayV1)]
struct Pay {
    cents: i64,
}

impl From<PayV1> for Pay {
    fn from(v1: PayV1) -> Self {
        Pay { cents: v1.amount.cents }
    }
}

fn main() {}
