use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "subscribe")]
struct Subscribe {
    plan: String,
    #[field(visible_when(plna = "pro"))]
    seats: Option<u32>,
}

fn main() {}
