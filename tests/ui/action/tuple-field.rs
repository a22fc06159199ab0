use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "locate")]
struct Locate {
    point: (i64, i64),
}

fn main() {}
