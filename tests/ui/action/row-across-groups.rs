use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "person")]
struct Person {
    #[field(row = "name", group = "Who")]
    first_name: String,
    #[field(row = "name")]
    last_name: String,
}

fn main() {}
