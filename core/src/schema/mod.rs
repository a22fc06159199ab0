//! The input model: JSON Schema draft-07 for an action's input, built from the static field
//! descriptions that `#[derive(Action)]` and `#[derive(InputType)]` generate.
//!
//! # How this relates to schemars
//! actionkit emits exactly the platform subset documented for Stripe custom actions (draft-07,
//! `string`/`boolean`/`integer`/`object`/`array` of scalars, `additionalProperties: false`),
//! which schemars' general-purpose output does not match (it emits `null` unions for `Option`,
//! `$defs` for nested types and `format: int64` annotations). The derives therefore build the
//! schema themselves through [`InputType`], and additionally implement
//! [`schemars::JsonSchema`] for every derived type, returning the very same schema, so a derived
//! input can be embedded in schemars-based tooling (OpenAPI generators, documentation).

mod build;
mod decode;
pub(crate) mod fast;
mod input_type;
mod spec;

pub use build::input_schema;
#[doc(hidden)]
pub use build::object_schema;
pub use decode::{InputError, InputValidator, decode, to_input};
pub use input_type::{
    ArrayItem, InputType, IntegerInput, ListInput, ObjectInput, SelectInput, TextInput,
};
pub use spec::FieldSpec;
#[doc(hidden)]
pub use spec::TypeSpec;
#[doc(hidden)]
pub use spec::{Keyword, Literal};

/// The `$schema` URI of every generated input schema (JSON Schema draft-07).
pub const DRAFT_07: &str = "http://json-schema.org/draft-07/schema#";

/// The JSON pointer of a top-level property: `/<name>`, escaped.
///
/// ```
/// assert_eq!(actionkit_core::schema::pointer("a/b~c"), "/a~1b~0c");
/// ```
pub fn pointer(name: &str) -> String {
    format!("/{}", name.replace('~', "~0").replace('/', "~1"))
}
