use actionkit::InputType;

#[derive(InputType, serde::Deserialize)]
struct Address {
    #[field(multi)]
    street: String,
}

fn main() {}
