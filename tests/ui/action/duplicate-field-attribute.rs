use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "pick")]
struct Pick {
    #[field(title = "Audience", title = "List")]
    audience_id: String,
}

fn main() {}
