use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "person", group(label = "Who", fields(first_name)))]
struct Person {
    #[field(group = "Name")]
    first_name: String,
}

fn main() {}
