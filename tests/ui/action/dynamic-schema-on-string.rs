use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "send_email")]
struct SendEmail {
    #[field(dynamic_schema)]
    template_id: String,
}

fn main() {}
