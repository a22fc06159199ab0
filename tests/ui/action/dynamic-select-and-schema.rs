use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "vars")]
struct Vars {
    #[field(dynamic_select, dynamic_schema)]
    values: serde_json::Map<String, serde_json::Value>,
}

fn main() {}
