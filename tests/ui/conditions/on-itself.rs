use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "subscribe")]
struct Subscribe {
    #[field(visible_when(seats = 1))]
    seats: Option<u32>,
}

fn main() {}
