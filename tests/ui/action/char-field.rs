use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "grade")]
struct Grade {
    letter: char,
}

fn main() {}
