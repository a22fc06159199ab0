use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "pick")]
struct Pick {
    #[field(dynamic_selct)]
    audience_id: String,
}

fn main() {}
