use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "toggle")]
struct Toggle {
    #[serde(default)]
    #[field(default = "yes")]
    enabled: bool,
}

fn main() {}
