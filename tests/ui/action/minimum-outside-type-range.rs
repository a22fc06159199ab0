use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "retry")]
struct Retry {
    #[field(minimum = -1)]
    attempts: u8,
}

fn main() {}
