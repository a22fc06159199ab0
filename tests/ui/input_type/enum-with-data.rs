use actionkit::InputType;

#[derive(InputType, serde::Deserialize)]
enum Target {
    Everyone,
    Segment(String),
}

fn main() {}
