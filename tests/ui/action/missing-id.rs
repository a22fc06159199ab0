use actionkit::Action;

#[derive(Action, serde::Deserialize)]
struct SendEmail {
    audience_id: String,
}

fn main() {}
