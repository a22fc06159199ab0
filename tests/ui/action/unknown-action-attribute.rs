use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(idd = "pick")]
struct Pick {
    audience_id: String,
}

fn main() {}
