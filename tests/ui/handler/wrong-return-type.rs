use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "ping", execute = ping)]
struct Ping {
    target: String,
}

async fn ping(input: Ping) -> String {
    input.target
}

fn main() {}
