use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "count")]
struct Count {
    #[field(min_length = 1)]
    total: i64,
}

fn main() {}
