use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "toggle")]
struct Toggle {
    #[field(multi)]
    enabled: bool,
}

fn main() {}
