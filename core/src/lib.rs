//! The runtime half of [actionkit](https://docs.rs/actionkit): traits, schema builders, form
//! state, handlers, the runtime core, idempotency stores and platform adapters.
//!
//! Users depend on the `actionkit` facade crate, which re-exports everything here together with
//! the derive macros. Modules are named for what they own; arrows point one way, from the
//! platform adapters to the model (see the repository's `STYLE.md`).

pub mod signature;
pub mod store;
