use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "send")]
struct Send {
    #[field(dynamic_select)]
    audience_id: String,
}

fn main() {}
