#![doc = include_str!("../README.md")]

pub use actionkit_core::*;
pub use actionkit_macros::*;

/// The names most actions need: `use actionkit::prelude::*;` brings the derives, the traits,
/// `App`, `Context`, `State`, `ActionError` and the form-state types.
pub mod prelude {
    pub use actionkit_core::prelude::*;
    pub use actionkit_macros::{Action, InputType, debug_handler};
}
