use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "person", row("first_name", "last_name"))]
struct Person {
    first_name: String,
    last_name: String,
}

fn main() {}
