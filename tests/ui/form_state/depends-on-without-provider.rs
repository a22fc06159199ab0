use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "send")]
struct Send {
    audience_id: String,
    #[field(depends_on(audience_id))]
    segment_id: String,
}

fn main() {}
