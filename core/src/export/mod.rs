//! Files the platforms' app packages need, generated from the action model: per action
//! `extensions/<id>/input_schema.json` and `ui_schema.json`, the `stripe-app.yaml` extension
//! entries (merged into an existing manifest without losing anything else in it), and the epilot
//! app-manifest component `epilot/<id>.json` (`CUSTOM_FLOW_ACTION`, `external_integration`).
//!
//! The same functions serve the CLI (`export --out DIR [--check]`), a drift test in a user's test
//! suite, and a `build.rs`; all are synchronous and need no runtime:
//!
//! ```no_run
//! # fn app() -> actionkit_core::server::App<()> { actionkit_core::server::App::new(()) }
//! // tests/stripe_app.rs: fails with a diff when the committed files are stale.
//! #[test]
//! fn stripe_app_files_are_current() {
//!     if let Err(err) = actionkit_core::export::check(&app(), "stripe-app") {
//!         panic!("{err}\nrun `cargo run -- export --out stripe-app` to update them");
//!     }
//! }
//! ```
//!
//! In a `build.rs` of a crate that depends on the crate defining the actions:
//!
//! ```no_run
//! # mod my_actions { pub fn app() -> actionkit_core::server::App<()> { actionkit_core::server::App::new(()) } }
//! fn main() {
//!     let out = std::path::Path::new("stripe-app");
//!     actionkit_core::export::write(&my_actions::app(), out).expect("export the Stripe app files");
//!     println!("cargo::rerun-if-changed=build.rs");
//! }
//! ```

mod files;
pub mod stripe_manifest;

pub use self::files::{
    ExportAction, ExportError, ExportFile, Exportable, Manifest, check, files, write,
};
