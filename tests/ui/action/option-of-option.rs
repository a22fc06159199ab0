use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "maybe")]
struct Maybe {
    note: Option<Option<String>>,
}

fn main() {}
