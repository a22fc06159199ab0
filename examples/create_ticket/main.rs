//! A second example: an action whose input changed twice after it was published, with both
//! earlier versions declared, served for Stripe and epilot.
//!
//! ```sh
//! cargo run --example create_ticket -- serve
//! cargo run --example create_ticket -- export --out app-files   # also versions/create_ticket/v1, v2
//! ```
//!
//! Workflows configured with version 1 (`title`, `body`, `urgent`) or version 2 (`title`,
//! `description`, `priority`) keep working: their saved values decode as that version and are
//! converted forward, so the handler only ever sees the current [`CreateTicket`].

mod ticket;

use std::process::ExitCode;

use actionkit::App;
use ticket::{CreateTicket, Tracker};

#[tokio::main]
async fn main() -> ExitCode {
    App::new(Tracker::default())
        .version(env!("CARGO_PKG_VERSION"))
        .action::<CreateTicket>()
        .run_cli()
        .await
}
