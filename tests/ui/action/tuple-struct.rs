use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "wrap")]
struct Wrap(String);

fn main() {}
