use actionkit::{Action, ActionError, Context, debug_handler};

#[derive(Action, serde::Deserialize)]
#[action(id = "ping", execute = ping)]
struct Ping {
    target: String,
}

#[debug_handler]
async fn ping(input: Ping, ctx: Context) -> Result<(), ActionError> {
    let _ = (ctx, input.target);
    Ok(())
}

fn main() {}
