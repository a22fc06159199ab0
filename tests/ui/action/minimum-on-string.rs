use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "count")]
struct Count {
    #[field(minimum = 1)]
    total: String,
}

fn main() {}
