use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "pick")]
struct Pick {
    #[field(dynamic_select)]
    count: u32,
}

fn main() {}
