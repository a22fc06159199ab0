use actionkit::Action;

#[derive(Action, serde::Deserialize)]
#[action(id = "pick")]
struct Pick<T> {
    value: T,
}

fn main() {}
