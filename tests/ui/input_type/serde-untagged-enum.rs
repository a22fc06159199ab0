use actionkit::InputType;

#[derive(InputType, serde::Deserialize)]
#[serde(untagged)]
enum Mode {
    Fast,
    Slow,
}

fn main() {}
