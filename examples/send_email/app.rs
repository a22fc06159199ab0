//! The example's action, catalog and mailer, shared by `main.rs` and the integration tests.

#[path = "catalog.rs"]
pub mod catalog;
#[path = "input.rs"]
pub mod input;
#[path = "mailer.rs"]
pub mod mailer;
