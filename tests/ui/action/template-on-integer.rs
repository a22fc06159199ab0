use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "wait")]
struct Wait {
    #[field(template)]
    seconds: Option<u64>,
}

fn main() {}
