//! Files the platforms' app packages need, generated from the action model: each registered
//! platform supplies its own through [`Platform::export`](crate::platform::Platform::export)
//! (per-action schema and component files, and entries merged into an existing app manifest
//! without losing anything else in it); this module asks every platform in registration order,
//! and writes or checks the result.
//!
//! The same functions serve the CLI (`export --out DIR [--check]`), a drift test in a user's test
//! suite, and a `build.rs`; all are synchronous and need no runtime:
//!
//! ```no_run
//! # fn app() -> actionkit_core::server::App<()> { actionkit_core::server::App::new(()) }
//! // tests/app_files.rs: fails with a diff when the committed files are stale.
//! #[test]
//! fn app_files_are_current() {
//!     if let Err(err) = actionkit_core::export::check(&app(), "app-files") {
//!         panic!("{err}\nrun `cargo run -- export --out app-files` to update them");
//!     }
//! }
//! ```
//!
//! In a `build.rs` of a crate that depends on the crate defining the actions:
//!
//! ```no_run
//! # mod my_actions { pub fn app() -> actionkit_core::server::App<()> { actionkit_core::server::App::new(()) } }
//! fn main() {
//!     let out = std::path::Path::new("app-files");
//!     actionkit_core::export::write(&my_actions::app(), out).expect("export the app files");
//!     println!("cargo::rerun-if-changed=build.rs");
//! }
//! ```

pub mod drift;
mod files;

pub use self::files::{
    ExportAction, ExportError, ExportFile, Exportable, Manifest, SchemaDrift, check, files, write,
};
