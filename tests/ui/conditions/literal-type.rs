use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "subscribe")]
struct Subscribe {
    notify: Option<bool>,
    #[field(enabled_when(notify = "yes"))]
    reminder: Option<String>,
}

fn main() {}
