//! [`InputType`]: the Rust types an action input may hold, and what each may carry.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};

/// A Rust type that can be a field of an action input, with its JSON Schema.
///
/// Implemented for the platform's supported set: `String`, `bool`, the integer types, free-form
/// JSON objects (`serde_json::Map<String, Value>`, and `HashMap`/`BTreeMap` from `String` to
/// `Value`), `Vec` of [`ArrayItem`]s, `Option` of any of these, and every type that derives
/// `Action` or `InputType` (objects and unit enums). Everything else is rejected at compile time.
///
/// Integer types carry their range as `minimum`/`maximum`, except that 64-bit types only state
/// `minimum: 0` when unsigned, so that every value the schema admits also deserialises.
///
/// ```
/// use actionkit_core::schema::InputType;
/// assert_eq!(serde_json::Value::Object(<Vec<String>>::schema()),
///            serde_json::json!({"type": "array", "items": {"type": "string"}}));
/// assert!(!<Option<bool>>::REQUIRED);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an action input field",
    label = "unsupported input type",
    note = "supported: `String`, `bool`, integers (`i8`..`i64`, `u8`..`u64`, `isize`, `usize`), structs and unit enums that `#[derive(InputType)]`, `serde_json::Map<String, Value>`, `Vec` of strings, booleans, integers or unit enums, and `Option` of any of these"
)]
pub trait InputType {
    /// Whether an object property of this type is required (`false` for `Option`).
    const REQUIRED: bool = true;

    /// Whether deserialising this type treats `null` on an optional property exactly as the
    /// property's absence (true unless a serde `default` could tell them apart). Derived
    /// types compute it; it lets the input decoder deserialise straight from the request text
    /// when a platform sends `null` for a cleared field.
    #[doc(hidden)]
    const NULL_IS_ABSENT: bool = true;

    /// The type's JSON Schema (without `title` and `description`, which belong to the field).
    fn schema() -> Map<String, Value>;

    /// A unit enum's values on the wire (empty for every other type); conditions on the field
    /// are checked against them at compile time.
    #[doc(hidden)]
    const VALUES: &'static [&'static str] = &[];

    /// The above as one value, for a field of this type (generated field specs read it once
    /// per field).
    #[doc(hidden)]
    const SPEC: super::spec::TypeSpec = super::spec::TypeSpec {
        required: Self::REQUIRED,
        schema: Self::schema,
        null_is_absent: Self::NULL_IS_ABSENT,
    };
}

/// A type that may be the item of an input array: strings, booleans, integers and unit enums.
#[diagnostic::on_unimplemented(
    message = "`Vec<{Self}>` cannot be an action input field: array items must be strings, booleans or integers",
    label = "unsupported array item",
    note = "the platforms accept arrays of `String`, `bool`, integers and unit enums only; for a list of objects use several fields or a free-form `serde_json::Map<String, Value>`"
)]
pub trait ArrayItem: InputType {}

/// A string field: may carry `multi`, `template`, `min_length`, `max_length`, `pattern`, `format`.
#[diagnostic::on_unimplemented(
    message = "this attribute needs a string field; `{Self}` is not a `String`",
    label = "`multi`, `template`, `min_length`, `max_length`, `pattern` and `format` apply to `String` fields only"
)]
pub trait TextInput {}

/// A field that may be a `dynamic_select`: a string or a list of strings.
#[diagnostic::on_unimplemented(
    message = "`dynamic_select` needs a string field; `{Self}` is not a `String` or `Vec<String>`",
    label = "a dropdown's value is a string"
)]
pub trait SelectInput {}

/// A field that may be a `dynamic_schema`: a free-form JSON object.
#[diagnostic::on_unimplemented(
    message = "`dynamic_schema` needs a free-form object field; `{Self}` is not a `serde_json::Map<String, Value>`",
    label = "a dynamic schema describes a free-form object"
)]
pub trait ObjectInput {}

/// An integer field: may carry `minimum` and `maximum`.
#[diagnostic::on_unimplemented(
    message = "`minimum` and `maximum` need an integer field; `{Self}` is not an integer",
    label = "bounds apply to integer fields only"
)]
pub trait IntegerInput {}

/// An array field: may carry `min_items` and `max_items`.
#[diagnostic::on_unimplemented(
    message = "`min_items` and `max_items` need a `Vec` field; `{Self}` is not a `Vec`",
    label = "item counts apply to `Vec` fields only"
)]
pub trait ListInput {}

fn typed(ty: &str) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("type".into(), ty.into());
    map
}

impl InputType for String {
    fn schema() -> Map<String, Value> {
        typed("string")
    }
}
impl ArrayItem for String {}
impl TextInput for String {}
impl SelectInput for String {}

impl InputType for bool {
    fn schema() -> Map<String, Value> {
        typed("boolean")
    }
}
impl ArrayItem for bool {}

macro_rules! bounded_integers {
    ($($ty:ty),*) => {$(
        impl InputType for $ty {
            fn schema() -> Map<String, Value> {
                let mut map = typed("integer");
                map.insert("minimum".into(), json!(<$ty>::MIN));
                map.insert("maximum".into(), json!(<$ty>::MAX));
                map
            }
        }
        impl ArrayItem for $ty {}
        impl IntegerInput for $ty {}
    )*};
}
bounded_integers!(i8, i16, i32, u8, u16, u32);

macro_rules! wide_integers {
    ($($ty:ty => $unsigned:expr),*) => {$(
        impl InputType for $ty {
            fn schema() -> Map<String, Value> {
                let mut map = typed("integer");
                if $unsigned {
                    map.insert("minimum".into(), 0.into());
                }
                map
            }
        }
        impl ArrayItem for $ty {}
        impl IntegerInput for $ty {}
    )*};
}
wide_integers!(i64 => false, isize => false, u64 => true, usize => true);

impl<T: InputType> InputType for Option<T> {
    const REQUIRED: bool = false;
    const NULL_IS_ABSENT: bool = T::NULL_IS_ABSENT;
    const VALUES: &'static [&'static str] = T::VALUES;
    fn schema() -> Map<String, Value> {
        T::schema()
    }
}
impl<T: TextInput> TextInput for Option<T> {}
impl<T: SelectInput> SelectInput for Option<T> {}
impl<T: ObjectInput> ObjectInput for Option<T> {}
impl<T: IntegerInput> IntegerInput for Option<T> {}
impl<T: ListInput> ListInput for Option<T> {}

impl<T: ArrayItem> InputType for Vec<T> {
    const NULL_IS_ABSENT: bool = T::NULL_IS_ABSENT;
    fn schema() -> Map<String, Value> {
        let mut map = typed("array");
        map.insert("items".into(), Value::Object(T::schema()));
        map
    }
}
impl<T: ArrayItem> ListInput for Vec<T> {}
impl SelectInput for Vec<String> {}

macro_rules! free_form_objects {
    ($($ty:ty),*) => {$(
        impl InputType for $ty {
            fn schema() -> Map<String, Value> {
                typed("object")
            }
        }
        impl ObjectInput for $ty {}
    )*};
}
free_form_objects!(Map<String, Value>, HashMap<String, Value>, BTreeMap<String, Value>);
