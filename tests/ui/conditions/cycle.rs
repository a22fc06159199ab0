use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "subscribe")]
struct Subscribe {
    #[field(visible_when(b = true))]
    a: Option<bool>,
    #[field(visible_when(a = true))]
    b: Option<bool>,
}

fn main() {}
