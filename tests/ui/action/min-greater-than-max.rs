use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "code")]
struct Code {
    #[field(min_length = 8, max_length = 4)]
    value: String,
}

fn main() {}
