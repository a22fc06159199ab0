use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "contact")]
struct Contact {
    #[field(format = "emial")]
    address: String,
}

fn main() {}
