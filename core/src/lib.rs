//! The runtime half of [actionkit](https://docs.rs/actionkit): traits, schema builders, form
//! state, handlers, the runtime core, idempotency stores and platform adapters.
//!
//! Users depend on the `actionkit` facade crate, which re-exports everything here together with
//! the derive macros. Modules are named for what they own; arrows point one way, from the
//! platform adapters to the model.

mod action;
pub mod export;
pub mod schema;
pub mod signature;
pub mod store;
pub mod ui;

pub use action::Action;
#[doc(hidden)]
pub use action::ActionModel;
pub use schema::{InputError, InputType};

/// What generated code reaches; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use ::schemars;
    pub use ::serde;
    pub use ::serde_json;

    pub use crate::action::ActionModel;
    pub use crate::schema::{
        ArrayItem, FieldSpec, InputType, IntegerInput, Keyword, ListInput, Literal, ObjectInput, SelectInput,
        TextInput, object_schema,
    };
    pub use crate::ui::{UiFormat, UiSpec};

    /// The schema of a unit enum: `{"type": "string", "enum": names}`.
    pub fn string_enum(names: &[&str]) -> serde_json::Map<String, serde_json::Value> {
        let mut map = serde_json::Map::new();
        map.insert("type".into(), "string".into());
        map.insert("enum".into(), names.iter().map(|n| serde_json::Value::from(*n)).collect());
        map
    }

    /// Caches a value for a derived type (`OnceLock` re-exported for generated statics).
    pub use std::sync::OnceLock;

    /// Compile-time proof that `T` satisfies a marker trait; generated code calls these spanned
    /// at the offending attribute so the trait's message lands there.
    pub const fn assert_text<T: ?Sized + TextInput>() {}
    /// See [`assert_text`].
    pub const fn assert_select<T: ?Sized + SelectInput>() {}
    /// See [`assert_text`].
    pub const fn assert_object<T: ?Sized + ObjectInput>() {}
    /// See [`assert_text`].
    pub const fn assert_integer<T: ?Sized + IntegerInput>() {}
    /// See [`assert_text`].
    pub const fn assert_list<T: ?Sized + ListInput>() {}
    /// See [`assert_text`].
    pub const fn assert_input<T: ?Sized + InputType>() {}
}
