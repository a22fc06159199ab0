use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "send email!")]
struct SendEmail {
    audience_id: String,
}

fn main() {}
