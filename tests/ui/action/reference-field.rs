use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "greet")]
struct Greet {
    name: &'static str,
}

fn main() {}
