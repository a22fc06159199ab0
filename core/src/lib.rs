//! The runtime half of [actionkit](https://docs.rs/actionkit): traits, schema builders, form
//! state, handlers, the runtime core, idempotency stores and platform adapters.
//!
//! Users depend on the `actionkit` facade crate, which re-exports everything here together with
//! the derive macros. Modules are named for what they own; arrows point one way, from the
//! platform adapters to the model.

mod action;
mod context;
mod error;
pub mod export;
mod extensions;
pub mod form_state;
pub mod handler;
pub mod platform;
pub mod runtime;
pub mod schema;
pub mod server;
pub mod signature;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
#[doc(hidden)]
pub mod ui;

#[doc(hidden)]
pub use action::ActionModel;
pub use action::{Action, Permission};
pub use context::{Context, Secret};
pub use error::{ActionError, ErrorClass, FieldPointer, ResultExt};
pub use extensions::Extensions;
pub use handler::{Executable, FromRef, Handler, Skipped, State};
pub use schema::{InputError, InputType};
pub use server::App;

/// The names most actions need: `use actionkit::prelude::*;`.
pub mod prelude {
    pub use crate::form_state::{Choice, FieldError, FormRequest, FormState, Options, Schema};
    pub use crate::{
        Action, ActionError, App, Context, FromRef, InputType, ResultExt, Skipped, State,
    };
}

/// What generated code reaches; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use ::schemars;
    pub use ::serde;
    pub use ::serde_json;

    pub use crate::action::{
        ActionModel, ActionSpec, decode_earlier, earlier_schemas, migrate_values, str_eq,
    };
    pub use crate::context::Context;
    pub use crate::form_state::conditions::{Condition, Effect};
    pub use crate::form_state::engine::{dependency, tolerant, whole_form};
    pub use crate::form_state::{
        Content, DynamicField, DynamicKind, FieldError, FormAction, FormField, FormMemo,
        FormRequest, FormState, FormStateRequest, FormStateResponse, MemoScope, Options, Schema,
        SchemaConfig, SelectConfig, SlotMut,
    };
    pub use crate::form_state::{Provider, dispatch, request as form_request};
    pub use crate::handler::{BoxFuture, FromRef, HandlerResult, call_handler};
    pub use crate::schema::{
        ArrayItem, FieldSpec, InputType, IntegerInput, Keyword, ListInput, Literal, ObjectInput,
        SelectInput, TextInput, TypeSpec, object_schema,
    };
    pub use crate::ui::{UiFormat, UiSpec};

    /// Whether a condition's string literal is a value of the field it reads: one of a unit
    /// enum's `values`, or anything when the field is not an enum (`values` empty).
    pub const fn admits(values: &[&str], literal: &str) -> bool {
        if values.is_empty() {
            return true;
        }
        let mut i = 0;
        while i < values.len() {
            if crate::action::str_eq(values[i], literal) {
                return true;
            }
            i += 1;
        }
        false
    }

    /// The schema of a unit enum: `{"type": "string", "enum": names}`.
    pub fn string_enum(names: &[&str]) -> serde_json::Map<String, serde_json::Value> {
        let mut map = serde_json::Map::new();
        map.insert("type".into(), "string".into());
        map.insert(
            "enum".into(),
            names.iter().map(|n| serde_json::Value::from(*n)).collect(),
        );
        map
    }

    /// Caches a value for a derived type (`OnceLock` re-exported for generated statics).
    pub use std::sync::OnceLock;

    /// A JSON object, the shape of every schema and of form values (short for generated code).
    pub type JsonMap = serde_json::Map<String, serde_json::Value>;

    /// What a form-state entry point answers (short for generated code).
    pub type FormFuture = BoxFuture<Result<FormStateResponse, crate::schema::InputError>>;

    /// One entry of a generated config's `to_wire`.
    pub fn config_entry<T: serde::Serialize>(map: &mut JsonMap, name: &str, wire: T) {
        let value = serde_json::to_value(wire).expect("a form-state config serialises");
        map.insert(name.to_owned(), value);
    }

    /// `schemars::JsonSchema::json_schema` of a derived type: its `InputType` schema.
    pub fn json_schema(schema: JsonMap) -> schemars::Schema {
        schemars::Schema::from(schema)
    }

    /// An action's input is deserialised from the platform's JSON: generated code asserts it
    /// once per action, spanned at the derive, and nowhere else.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` derives `Action` but not `Deserialize`; add `Deserialize` to the derive list",
        label = "`{Self}` needs `#[derive(serde::Deserialize)]` too",
        note = "an action's input is deserialised from the platform's JSON: `#[derive(Action, serde::Deserialize)]`"
    )]
    pub trait ActionInput {}

    #[diagnostic::do_not_recommend]
    impl<T: serde::de::DeserializeOwned> ActionInput for T {}

    /// See [`ActionInput`].
    pub const fn assert_deserialize<T: ?Sized + ActionInput>() {}

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
    /// `#[debug_handler]`: `T` is an extractor for state `S`.
    pub fn assert_extractor<S, T: crate::handler::FromContext<S>>() {}
    /// `#[debug_handler]`: `T` is an action input.
    pub fn assert_action<T: crate::Action>() {}
    /// `#[debug_handler]`: `T` is a valid handler return type.
    pub fn assert_outcome<T: crate::handler::IntoOutcome>() {}
    /// `#[debug_handler]`: the handler's future is `Send`.
    pub fn assert_send<T: Send>(_: T) {}
}
