use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "bad id")]
struct Several {
    #[field(titel = "Amount")]
    amount: f32,
    #[field(multi)]
    enabled: bool,
}

fn main() {}
