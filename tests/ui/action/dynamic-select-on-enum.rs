use actionkit::{Action, InputType};

#[derive(InputType, serde::Deserialize)]
enum Colour {
    Red,
    Green,
}

#[derive(Action, serde::Deserialize)]
#[action(id = "paint")]
struct Paint {
    #[field(dynamic_select)]
    colour: Colour,
}

fn main() {}
