use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "notify", permission(name = "Customer Read", purpose = "Reads the customer"))]
struct Notify {
    channel: String,
}

fn main() {}
