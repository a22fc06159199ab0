use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "matrix")]
struct Matrix {
    rows: Vec<Vec<String>>,
}

fn main() {}
