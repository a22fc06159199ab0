//! Turning untrusted JSON into a typed input: normalise, validate against the input schema,
//! then deserialise with serde, so that every rejection names the offending field.

use std::fmt;

use jsonschema::error::ValidationErrorKind;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_path_to_error::Segment;

use super::InputType;

/// Why an input value was refused, and where: the HTTP layer answers it as `400 invalid_input`.
///
/// ```
/// use actionkit_core::schema::InputError;
/// let err = InputError::new("/audience_id", "missing required field `audience_id`");
/// assert_eq!(err.field(), "/audience_id");
/// assert_eq!(err.to_string(), "`/audience_id`: missing required field `audience_id`");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InputError {
    field: String,
    message: String,
}

impl InputError {
    /// An error at `field`, a JSON pointer into the input (`""` for the input as a whole).
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        InputError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The JSON pointer of the offending value, relative to the input (`/template_variables/name`).
    pub fn field(&self) -> &str {
        &self.field
    }

    /// What is wrong with it, in lower case, naming the fix where there is one.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "input: {}", self.message)
        } else {
            write!(f, "`{}`: {}", self.field, self.message)
        }
    }
}

impl std::error::Error for InputError {}

/// A compiled input schema that decodes untrusted JSON into a typed input.
///
/// Decoding (1) drops `null` on optional properties, which platforms send for a cleared field,
/// (2) validates against the schema, so unknown fields, wrong types, missing required fields and
/// every keyword (`minLength`, `pattern`, `format`, `minimum`…) are refused with the field's JSON
/// pointer, then (3) deserialises with serde. Derived actions keep one of these per type; see
/// [`Action::decode`](crate::Action::decode).
///
/// ```
/// use actionkit_core::schema::{FieldSpec, InputValidator, input_schema};
/// let validator = InputValidator::new(input_schema(&[FieldSpec::new::<String>("name", "Name")]));
/// let err = validator.decode::<serde_json::Value>(serde_json::json!({"nmae": "x"})).unwrap_err();
/// assert_eq!(err.field(), "/nmae");
/// assert_eq!(err.message(), "unknown field `nmae`; expected one of `name`");
/// ```
pub struct InputValidator {
    schema: Value,
    validator: jsonschema::Validator,
}

impl fmt::Debug for InputValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InputValidator")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl InputValidator {
    /// Compiles `schema`.
    ///
    /// # Panics
    /// When `schema` is not a valid draft-07 schema (for example an invalid `pattern`): generated
    /// schemas are built from checked attributes, so this is a bug in the attribute, reported
    /// the first time the action is used.
    pub fn new(schema: Value) -> Self {
        let validator = jsonschema::draft7::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|err| {
                panic!("actionkit: the generated input schema is invalid: {err}")
            });
        InputValidator { schema, validator }
    }

    /// The schema this validator checks against.
    pub fn schema(&self) -> &Value {
        &self.schema
    }

    /// Normalises, validates and deserialises `value`.
    ///
    /// # Errors
    /// The first problem found, with the JSON pointer of the offending field.
    pub fn decode<T: DeserializeOwned>(&self, mut value: Value) -> Result<T, InputError> {
        strip_optional_nulls(&self.schema, &mut value);
        if let Some(err) = self.validator.iter_errors(&value).next() {
            return Err(self.describe(&err));
        }
        // The schema admits a few values the Rust type does not, all of them integers: `3.0`
        // (an integer to JSON Schema) and, for 64-bit types, numbers beyond the type's range.
        serde_path_to_error::deserialize(value)
            .map_err(|err| InputError::new(pointer(err.path()), err.inner().to_string()))
    }

    fn describe(&self, err: &jsonschema::ValidationError<'_>) -> InputError {
        let at = err.instance_path().as_str().to_owned();
        let found = describe_value(err.instance());
        let (field, message) = match err.kind() {
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                (child(&at, name), format!("missing required field `{name}`"))
            }
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let name = unexpected.first().map(String::as_str).unwrap_or_default();
                let expected = self.property_names(&at);
                (
                    child(&at, name),
                    format!("unknown field `{name}`; expected one of {expected}"),
                )
            }
            ValidationErrorKind::Type { .. } => {
                let expected = self.type_at(&at);
                (at, format!("expected {expected}, found {found}"))
            }
            ValidationErrorKind::Enum { options } => (
                at,
                format!("expected one of {}, found {found}", list(options)),
            ),
            ValidationErrorKind::MinLength { limit } => {
                (at, format!("must be at least {limit} characters long"))
            }
            ValidationErrorKind::MaxLength { limit } => {
                (at, format!("must be at most {limit} characters long"))
            }
            ValidationErrorKind::Pattern { pattern } => {
                (at, format!("must match the pattern `{pattern}`"))
            }
            ValidationErrorKind::Format { format } => {
                (at, format!("must be a valid `{format}`, found {found}"))
            }
            ValidationErrorKind::Minimum { limit } => {
                (at, format!("must be at least {limit}, found {found}"))
            }
            ValidationErrorKind::Maximum { limit } => {
                (at, format!("must be at most {limit}, found {found}"))
            }
            ValidationErrorKind::MinItems { limit } => {
                (at, format!("must have at least {limit} items"))
            }
            ValidationErrorKind::MaxItems { limit } => {
                (at, format!("must have at most {limit} items"))
            }
            _ => (at, err.to_string()),
        };
        InputError::new(field, message)
    }

    /// The schema of the object at `pointer` (which only crosses objects and arrays).
    fn schema_at(&self, pointer: &str) -> Option<&Value> {
        let mut schema = &self.schema;
        for segment in pointer.split('/').skip(1) {
            schema = match schema.get("type").and_then(Value::as_str) {
                Some("array") => schema.get("items")?,
                _ => schema.get("properties")?.get(unescape(segment).as_str())?,
            };
        }
        Some(schema)
    }

    fn property_names(&self, pointer: &str) -> String {
        let names = self
            .schema_at(pointer)
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object);
        match names {
            Some(names) if !names.is_empty() => names
                .keys()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", "),
            _ => "no fields".to_owned(),
        }
    }

    fn type_at(&self, pointer: &str) -> String {
        match self
            .schema_at(pointer)
            .and_then(|s| s.get("type"))
            .and_then(Value::as_str)
        {
            Some(ty @ ("array" | "integer" | "object")) => format!("an {ty}"),
            Some(ty) => format!("a {ty}"),
            None => "another type".to_owned(),
        }
    }
}

/// Serialises an input for the wire: like `serde_json::to_value`, but without the `null`s that
/// `Option::None` produces on the input's properties, which the platforms' schemas (and so
/// [`InputValidator`]) do not admit as values; absent and `null` mean the same to actionkit.
/// A `null` inside a free-form object is a value, and is kept.
///
/// ```
/// use serde_json::{Map, Value, json};
///
/// #[derive(actionkit::InputType, serde::Serialize)]
/// struct Input { name: String, nickname: Option<String>, extra: Map<String, Value> }
///
/// let extra = Map::from_iter([("note".to_owned(), Value::Null)]);
/// let value = actionkit_core::schema::to_input(&Input { name: "a".into(), nickname: None, extra });
/// assert_eq!(value, json!({"name": "a", "extra": {"note": null}}));
/// ```
///
/// # Panics
/// When `T`'s `Serialize` implementation fails, which derived inputs never do.
pub fn to_input<T: InputType + Serialize>(input: &T) -> Value {
    let mut value =
        serde_json::to_value(input).expect("actionkit: an input type failed to serialise");
    // Only the `null`s of optional properties: inside a free-form object `null` is a value.
    strip_optional_nulls(&Value::Object(T::schema()), &mut value);
    value
}

/// Decodes `value` with a one-off [`InputValidator`] for `schema`; see [`Action::decode`](crate::Action::decode)
/// for the cached path.
///
/// ```
/// use actionkit_core::schema::{FieldSpec, decode, input_schema};
/// let schema = input_schema(&[FieldSpec::new::<u8>("retries", "Retries")]);
/// let err = decode::<serde_json::Value>(&schema, serde_json::json!({"retries": 300})).unwrap_err();
/// assert_eq!(err.to_string(), "`/retries`: must be at most 255, found the number 300");
/// ```
///
/// # Errors
/// The first problem found, with the JSON pointer of the offending field.
pub fn decode<T: DeserializeOwned>(schema: &Value, value: Value) -> Result<T, InputError> {
    InputValidator::new(schema.clone()).decode(value)
}

fn strip_optional_nulls(schema: &Value, value: &mut Value) {
    let (Some(properties), Value::Object(map)) =
        (schema.get("properties").and_then(Value::as_object), value)
    else {
        return;
    };
    let required = |name: &str| {
        schema
            .get("required")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|n| n == name))
    };
    map.retain(|name, v| !(v.is_null() && properties.contains_key(name) && !required(name)));
    for (name, v) in map.iter_mut() {
        if let Some(property) = properties.get(name) {
            strip_optional_nulls(property, v);
        }
    }
}

/// The JSON pointer of a serde error's path.
fn pointer(path: &serde_path_to_error::Path) -> String {
    path.iter()
        .fold(String::new(), |pointer, segment| match segment {
            Segment::Seq { index } => child(&pointer, &index.to_string()),
            Segment::Map { key } => child(&pointer, key),
            Segment::Enum { .. } | Segment::Unknown => pointer,
        })
}

fn child(parent: &str, name: &str) -> String {
    format!("{parent}/{}", name.replace('~', "~0").replace('/', "~1"))
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

fn list(options: &Value) -> String {
    let items: Vec<String> = match options {
        Value::Array(items) => items
            .iter()
            .map(|v| {
                format!(
                    "`{}`",
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                )
            })
            .collect(),
        other => vec![other.to_string()],
    };
    items.join(", ")
}

fn describe_value(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        // String values are never echoed: they may hold secrets.
        Value::String(_) => "a string".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    //! Regression tests for inputs found by the `input_decode` fuzz target (`fuzz/`).

    use serde::{Deserialize, Serialize};
    use serde_json::{Map, Value, json};

    use super::{InputValidator, to_input};
    use crate::schema::{FieldSpec, InputType, input_schema, object_schema};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Input {
        offsets: Vec<i64>,
        retries: u8,
        nickname: Option<String>,
        #[serde(default)]
        extra: Map<String, Value>,
    }

    fn fields() -> [FieldSpec; 4] {
        [
            FieldSpec::new::<Vec<i64>>("offsets", "Offsets"),
            FieldSpec::new::<u8>("retries", "Retries"),
            FieldSpec::new::<Option<String>>("nickname", "Nickname"),
            FieldSpec::new::<Option<Map<String, Value>>>("extra", "Extra"),
        ]
    }

    impl InputType for Input {
        fn schema() -> Map<String, Value> {
            object_schema(&fields())
        }
    }

    fn validator() -> InputValidator {
        InputValidator::new(input_schema(&fields()))
    }

    /// `330382099.0` is an integer to JSON Schema but not to serde: the refusal names the field.
    #[test]
    fn integral_float_is_refused_at_its_field() {
        let input = json!({"offsets": [-1, 330382099.0], "retries": 7});
        let err = validator().decode::<Input>(input).unwrap_err();
        assert_eq!(err.field(), "/offsets/1");
        assert_eq!(
            err.message(),
            "invalid type: floating point `330382099.0`, expected i64"
        );

        let err = validator()
            .decode::<Input>(json!({"offsets": [], "retries": 3.0}))
            .unwrap_err();
        assert_eq!(err.field(), "/retries");
    }

    /// The schema of an `i64` states no bounds, so 2^63 passes validation and fails serde.
    #[test]
    fn out_of_range_wide_integer_is_refused_at_its_field() {
        let input = json!({"offsets": [9_223_372_036_854_775_808_u64], "retries": 0});
        let err = validator().decode::<Input>(input).unwrap_err();
        assert_eq!(err.field(), "/offsets/0");
        assert_eq!(
            err.to_string(),
            "`/offsets/0`: invalid value: integer `9223372036854775808`, expected i64"
        );
    }

    /// A `null` inside a free-form object is a value: it survives decoding, so `to_input` keeps
    /// it, and the round trip gives back the same input.
    #[test]
    fn to_input_keeps_nulls_inside_free_form_objects() {
        let input = json!({"offsets": [], "retries": 1, "nickname": null, "extra": {"a": null, "b": {"c": null}}});
        let decoded: Input = validator().decode(input).unwrap();
        assert_eq!(decoded.extra["a"], Value::Null);
        let serialised = to_input(&decoded);
        assert_eq!(
            serialised,
            json!({"offsets": [], "retries": 1, "extra": {"a": null, "b": {"c": null}}})
        );
        assert_eq!(validator().decode::<Input>(serialised).unwrap(), decoded);
    }
}
