use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "tags")]
struct Tags {
    #[field(min_items = 1)]
    tag: String,
}

fn main() {}
