use actionkit::{Action, ActionError, Context, debug_handler};

#[derive(Action, serde::Deserialize)]
#[action(id = "ping", execute = ping)]
struct Ping {
    target: String,
}

#[debug_handler]
async fn ping(ctx: Context, retries: u32, input: Ping) -> Result<(), ActionError> {
    let _ = (ctx, retries, input.target);
    Ok(())
}

fn main() {}
