use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "subscribe")]
struct Subscribe {
    plan: String,
    #[field(visible_when(plan = "pro"))]
    seats: u32,
}

fn main() {}
