use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "send")]
struct Send {
    #[field(options = "audiences")]
    audience_id: String,
}

fn main() {}
