//! The flagship example: the documented "send email" custom action, served for Stripe.
//!
//! ```sh
//! cargo run --example send_email -- serve          # the server, with embedded defaults
//! cargo run --example send_email -- export --out stripe-app
//! cargo run --example send_email -- sign --route /stripe/send_email/execute --body '{...}'
//! ```
//!
//! Its input struct reproduces the platforms' reference input and UI schemas exactly; its form
//! cascades (audience → segments, template → merge variables) come from a built-in catalog, and
//! every delivered email is one JSON line in the outbox file, so it runs with no services.
//!
//! The email service's key is read per account from Stripe's Secret Store (secret
//! `email_api_key`) when `STRIPE_API_KEY` is set (and `STRIPE_API_BASE`, for a fake); with no
//! configuration the built-in demo key is used, so `serve` works as it is.

mod app;

use std::path::PathBuf;
use std::process::ExitCode;

use actionkit::App;
use actionkit::server::cli::{Command, clap};
use app::input::SendEmail;
use app::mailer::Mailer;

/// Serve, export and try the send_email action.
#[derive(clap::Parser)]
struct Cli {
    /// Where delivered emails are appended, one JSON line each.
    #[arg(
        long,
        global = true,
        env = "SEND_EMAIL_OUTBOX",
        default_value = ".actionkit/outbox.jsonl"
    )]
    outbox: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = <Cli as clap::Parser>::parse();
    actionkit::server::cli::init_logging();
    App::new(Mailer::new(&cli.outbox))
        .version(env!("CARGO_PKG_VERSION"))
        .action::<SendEmail>()
        .run(cli.command)
        .await
}
