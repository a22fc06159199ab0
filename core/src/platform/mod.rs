//! Platform adapters: each turns its platform's HTTP calls into runtime [`Call`]s and the
//! runtime's [`Outcome`]s into its wire format. Adapters never import each other; a new
//! platform is a new sibling module.
//!
//! [`Call`]: crate::runtime::Call
//! [`Outcome`]: crate::runtime::Outcome

pub mod epilot;
pub mod stripe;
