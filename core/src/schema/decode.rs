//! Turning untrusted JSON into a typed input: normalise, validate against the input schema,
//! then deserialise with serde, so that every rejection names the offending field.

use std::fmt;

use jsonschema::error::ValidationErrorKind;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_path_to_error::Segment;

use super::InputType;
use super::fast::{FastChecker, Verdict};
use crate::runtime::input_hash;
use crate::store::InputHash;

/// Why an input value was refused, and where: the HTTP layer answers it as `400 invalid_input`.
///
/// ```
/// use actionkit_core::schema::InputError;
/// let err = InputError::new("/audience_id", "missing required field `audience_id`");
/// assert_eq!(err.field(), "/audience_id");
/// assert_eq!(err.to_string(), "`/audience_id`: missing required field `audience_id`");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}: {message}", Location(.field))]
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

/// Where an [`InputError`] is, as its message names it: the pointer in backticks, or `input`
/// for the input as a whole.
struct Location<'a>(&'a str);

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("input")
        } else {
            write!(f, "`{}`", self.0)
        }
    }
}

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
///
/// [`decode_json`](Self::decode_json) does the same from JSON text, with a fast path that
/// skips building a [`Value`] for valid input.
pub struct InputValidator {
    schema: Value,
    validator: jsonschema::Validator,
    /// The fast path of `decode_json`; `None` when the schema has keywords it does not model.
    fast: Option<FastChecker>,
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
        let fast = FastChecker::new(&schema);
        InputValidator {
            schema,
            validator,
            fast,
        }
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
        deserialize(value)
    }

    /// Decodes the JSON `text` of an input, and computes its [`input_hash`]: exactly what
    /// parsing `text` into a [`Value`], then [`input_hash`] and [`decode`](Self::decode) give,
    /// the same value and hash, or the same error, for every text.
    ///
    /// # The fast path
    /// One pass over the text (no [`Value`] built) checks it against the schema and computes
    /// the canonical hash. That check answers "certainly valid" or "unsure", never "invalid":
    /// it says valid only when normalising and validating the value could not fail (so floats
    /// for integers, repeated keys, unknown keys, `null` on required properties and every
    /// keyword violation are "unsure"). A certainly valid text is then deserialised straight
    /// from the text; everything else, including a deserialisation failure (an `i64` out of
    /// range), goes the slow path above, which produces every error. So the fast path changes
    /// how long decoding takes, never its answer.
    ///
    /// ```
    /// use actionkit_core::runtime::input_hash;
    /// use actionkit_core::schema::{FieldSpec, InputValidator, input_schema};
    /// let validator = InputValidator::new(input_schema(&[
    ///     FieldSpec::new::<String>("name", "Name"),
    ///     FieldSpec::new::<Option<u8>>("retries", "Retries"),
    /// ]));
    /// let text = r#"{"retries": 3, "name": "Ada"}"#;
    /// let (input, hash) = validator.decode_json::<serde_json::Value>(text).unwrap();
    /// assert_eq!(input, serde_json::json!({"retries": 3, "name": "Ada"}));
    /// assert_eq!(hash, input_hash(&input));
    ///
    /// let err = validator.decode_json::<serde_json::Value>(r#"{"name": "Ada", "retries": 300}"#);
    /// assert_eq!(err.unwrap_err().to_string(), "`/retries`: must be at most 255, found the number 300");
    /// let err = validator.decode_json::<serde_json::Value>("{").unwrap_err();
    /// assert_eq!(err.field(), "");
    /// assert!(err.message().starts_with("the input is not JSON: "));
    /// ```
    ///
    /// # Errors
    /// The first problem found, with the JSON pointer of the offending field; field `""` when
    /// `text` is not JSON.
    pub fn decode_json<T: DeserializeOwned>(
        &self,
        text: &str,
    ) -> Result<(T, InputHash), InputError> {
        self.decode_json_as(text, false)
    }

    /// [`decode_json`](Self::decode_json) for a type that is known to deserialise `null` on an
    /// optional property exactly as its absence (see `InputType::NULL_IS_ABSENT`): then input
    /// with such `null`s is also deserialised straight from the text.
    ///
    /// # Errors
    /// As [`decode_json`](Self::decode_json).
    #[doc(hidden)]
    pub fn decode_json_as<T: DeserializeOwned>(
        &self,
        text: &str,
        null_is_absent: bool,
    ) -> Result<(T, InputHash), InputError> {
        if let Some(Verdict::Valid {
            hash,
            dropped_nulls,
        }) = self.fast.as_ref().map(|fast| fast.check(text))
        {
            if !dropped_nulls || null_is_absent {
                if let Ok(input) = serde_json::from_str::<T>(text) {
                    return Ok((input, hash));
                }
            } else if let Ok(mut value) = serde_json::from_str::<Value>(text) {
                // The slow path deserialises the value without the `null`s of optional
                // properties, and a type may tell `null` from absent (`Value` itself does):
                // deserialise that value. Validation is known to pass.
                strip_optional_nulls(&self.schema, &mut value);
                debug_assert!(self.validator.is_valid(&value), "fast path: {text}");
                return deserialize(value).map(|input| (input, hash));
            }
        }
        self.decode_json_slow(text)
    }

    /// The slow path of [`decode_json`](Self::decode_json).
    fn decode_json_slow<T: DeserializeOwned>(
        &self,
        text: &str,
    ) -> Result<(T, InputHash), InputError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| InputError::new("", format!("the input is not JSON: {e}")))?;
        let hash = input_hash(&value);
        Ok((self.decode(value)?, hash))
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

/// Deserialises a normalised, validated value. The schema admits a few values the Rust type
/// does not, all of them integers: `3.0` (an integer to JSON Schema) and, for 64-bit types,
/// numbers beyond the type's range.
fn deserialize<T: DeserializeOwned>(value: Value) -> Result<T, InputError> {
    serde_path_to_error::deserialize(value)
        .map_err(|err| InputError::new(pointer(err.path()), err.inner().to_string()))
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

#[cfg(test)]
mod fast_path_tests {
    //! `decode_json` against its definition: parse into a `Value`, `input_hash`, `decode`.

    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use serde::Deserialize;
    use serde::de::DeserializeOwned;
    use serde_json::{Map, Value, json};

    use super::{InputError, InputValidator, strip_optional_nulls};
    use crate::runtime::hash_tests::{json_text, key_text, number_text, string_text};
    use crate::runtime::input_hash;
    use crate::schema::fast::Verdict;
    use crate::schema::{ArrayItem, FieldSpec, InputType, Keyword, input_schema, object_schema};
    use crate::store::InputHash;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Frequency {
        Daily,
        Weekly,
    }

    impl InputType for Frequency {
        fn schema() -> Map<String, Value> {
            let Value::Object(map) = json!({"type": "string", "enum": ["daily", "weekly"]}) else {
                unreachable!()
            };
            map
        }
    }
    impl ArrayItem for Frequency {}

    #[derive(Debug, PartialEq, Deserialize)]
    struct Address {
        street: String,
        zip: Option<u32>,
        kinds: Vec<Frequency>,
    }

    impl InputType for Address {
        fn schema() -> Map<String, Value> {
            object_schema(&[
                FieldSpec::new::<String>("street", "Street"),
                FieldSpec::new::<Option<u32>>("zip", "Zip"),
                FieldSpec::new::<Vec<Frequency>>("kinds", "Kinds"),
            ])
        }
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Rich {
        name: String,
        code: Option<String>,
        retries: u8,
        level: Option<i16>,
        big: Option<i64>,
        ids: Vec<u16>,
        freq: Frequency,
        freqs: Option<Vec<Frequency>>,
        home: Address,
        work: Option<Address>,
        extra: Option<Map<String, Value>>,
        flag: Option<bool>,
    }

    fn validator() -> InputValidator {
        let fields = [
            FieldSpec {
                keywords: &[Keyword::MinLength(2), Keyword::MaxLength(5)],
                ..FieldSpec::new::<String>("name", "Name")
            },
            FieldSpec {
                keywords: &[Keyword::Pattern("^[a-z]+-[0-9]$")],
                ..FieldSpec::new::<Option<String>>("code", "Code")
            },
            FieldSpec::new::<u8>("retries", "Retries"),
            FieldSpec {
                keywords: &[Keyword::Minimum(-3), Keyword::Maximum(7)],
                ..FieldSpec::new::<Option<i16>>("level", "Level")
            },
            FieldSpec::new::<Option<i64>>("big", "Big"),
            FieldSpec {
                keywords: &[Keyword::MinItems(1), Keyword::MaxItems(3)],
                ..FieldSpec::new::<Vec<u16>>("ids", "Ids")
            },
            FieldSpec::new::<Frequency>("freq", "Frequency"),
            FieldSpec::new::<Option<Vec<Frequency>>>("freqs", "Frequencies"),
            FieldSpec::new::<Address>("home", "Home"),
            FieldSpec::new::<Option<Address>>("work", "Work"),
            FieldSpec::new::<Option<Map<String, Value>>>("extra", "Extra"),
            FieldSpec::new::<Option<bool>>("flag", "Flag"),
        ];
        let validator = InputValidator::new(input_schema(&fields));
        assert!(validator.fast.is_some(), "the schema is modelled");
        validator
    }

    fn texts(list: &[&'static str]) -> BoxedStrategy<String> {
        prop::sample::select(list.to_vec())
            .prop_map(str::to_owned)
            .boxed()
    }

    /// Values of the wrong type for most fields.
    fn wrong() -> BoxedStrategy<String> {
        texts(&["null", "true", "1", "1.5", "\"x\"", "[]", "{}"])
    }

    /// Mostly `valid`, sometimes `invalid` (which may still be valid by chance).
    fn mix(valid: BoxedStrategy<String>, invalid: BoxedStrategy<String>) -> BoxedStrategy<String> {
        prop_oneof![14 => valid, 1 => invalid].boxed()
    }

    fn integer(low: i64, high: i64) -> BoxedStrategy<String> {
        mix(
            (low..=high).prop_map(|n| n.to_string()).boxed(),
            prop_oneof![
                (low - 2..=high + 2).prop_map(|n| n.to_string()),
                texts(&["3.0", "1e1", "-0", "\"3\"", "255.0", "1e400"]),
                number_text(),
                wrong(),
            ]
            .boxed(),
        )
    }

    fn frequency() -> BoxedStrategy<String> {
        mix(
            texts(&["\"daily\"", "\"weekly\"", "\"d\\u0061ily\""]),
            texts(&["\"Daily\"", "\"\"", "1", "null"]),
        )
    }

    fn array(item: BoxedStrategy<String>, min: usize, max: usize) -> BoxedStrategy<String> {
        let items = |range: std::ops::RangeInclusive<usize>| {
            prop::collection::vec(item.clone(), range)
                .prop_map(|items| format!("[{}]", items.join(", ")))
        };
        mix(
            items(min..=max).boxed(),
            prop_oneof![items(0..=max + 1), wrong()].boxed(),
        )
    }

    /// An object's text: each member present or not, sometimes an unknown or repeated member,
    /// in any order.
    fn object(members: Vec<(&'static str, BoxedStrategy<String>)>) -> BoxedStrategy<String> {
        let members: Vec<_> = members
            .into_iter()
            .map(|(name, value)| {
                prop::option::weighted(0.97, value.prop_map(move |v| (format!("{name:?}"), v)))
            })
            .collect();
        let unknown = prop::option::weighted(0.03, (key_text(), json_text()));
        let repeat = prop::option::weighted(0.03, any::<prop::sample::Index>());
        (members, unknown, repeat, any::<bool>())
            .prop_flat_map(|(members, unknown, repeat, spaced)| {
                let mut members: Vec<_> = members.into_iter().flatten().collect();
                members.extend(unknown);
                if let Some(i) = repeat.filter(|_| !members.is_empty()) {
                    let member = i.get(&members).clone();
                    members.push(member);
                }
                (Just(members).prop_shuffle(), Just(spaced))
            })
            .prop_map(|(members, spaced)| {
                let sep = if spaced { ", " } else { "," };
                let members: Vec<_> = members.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("{{{}}}", members.join(sep))
            })
            .boxed()
    }

    /// An optional property's value: sometimes `null`.
    fn or_null(value: BoxedStrategy<String>) -> BoxedStrategy<String> {
        prop_oneof![8 => value, 1 => Just("null".to_owned())].boxed()
    }

    fn address() -> BoxedStrategy<String> {
        mix(
            object(vec![
                (
                    "street",
                    mix(string_text(), Just("null".to_owned()).boxed()),
                ),
                ("zip", or_null(integer(0, 99_999))),
                ("kinds", array(frequency(), 0, 2)),
            ]),
            wrong(),
        )
    }

    fn free_form() -> BoxedStrategy<String> {
        let members = |key: BoxedStrategy<String>| {
            prop::collection::vec((key, json_text()), 0..4).prop_map(|members| {
                let members: Vec<_> = members.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("{{{}}}", members.join(","))
            })
        };
        // Distinct keys mostly (repeated keys are likely from `key_text`'s small alphabet).
        mix(
            members("[a-z]{8}".prop_map(|k| format!("{k:?}")).boxed()).boxed(),
            prop_oneof![members(key_text()), wrong()].boxed(),
        )
    }

    fn input_text() -> BoxedStrategy<String> {
        object(vec![
            (
                "name",
                mix(
                    "[a-zé😀]{2,5}"
                        .prop_map(|s| serde_json::to_string(&s).unwrap())
                        .boxed(),
                    prop_oneof![
                        "[a-zé😀]{0,7}".prop_map(|s| serde_json::to_string(&s).unwrap()),
                        wrong(),
                    ]
                    .boxed(),
                ),
            ),
            (
                "code",
                or_null(mix(
                    "[a-z]{1,2}-[0-9]".prop_map(|s| format!("{s:?}")).boxed(),
                    prop_oneof!["[a-z0-9-]{0,4}".prop_map(|s| format!("{s:?}")), wrong()].boxed(),
                )),
            ),
            ("retries", integer(0, 255)),
            ("level", or_null(integer(-3, 7))),
            (
                "big",
                or_null(mix(
                    any::<i64>().prop_map(|n| n.to_string()).boxed(),
                    prop_oneof![
                        number_text(),
                        texts(&[
                            "9223372036854775807",
                            "9223372036854775808",
                            "-9223372036854775809"
                        ]),
                    ]
                    .boxed(),
                )),
            ),
            ("ids", array(integer(0, 65_535), 1, 3)),
            ("freq", frequency()),
            ("freqs", or_null(array(frequency(), 0, 3))),
            ("home", address()),
            ("work", or_null(address())),
            ("extra", or_null(free_form())),
            (
                "flag",
                or_null(mix(texts(&["true", "false"]), texts(&["1", "\"true\""]))),
            ),
        ])
    }

    /// What `decode_json` is defined to return.
    fn reference<T: DeserializeOwned>(
        validator: &InputValidator,
        text: &str,
    ) -> Result<(T, InputHash), InputError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| InputError::new("", format!("the input is not JSON: {e}")))?;
        let hash = input_hash(&value);
        Ok((validator.decode(value)?, hash))
    }

    fn verdict(validator: &InputValidator, text: &str) -> Verdict {
        validator.fast.as_ref().unwrap().check(text)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn decode_json_equals_the_slow_path(text in input_text()) {
            let validator = validator();
            prop_assert_eq!(validator.decode_json::<Rich>(&text), reference::<Rich>(&validator, &text));
            // `Rich` has no serde defaults: `null` and absence deserialise alike, so the text
            // path may skip stripping them, with the same answer.
            prop_assert_eq!(validator.decode_json_as::<Rich>(&text, true), reference::<Rich>(&validator, &text));
            prop_assert_eq!(validator.decode_json::<Value>(&text), reference::<Value>(&validator, &text));
            if let Verdict::Valid { hash, .. } = verdict(&validator, &text) {
                let mut value: Value = serde_json::from_str(&text).unwrap();
                prop_assert_eq!(hash, input_hash(&value));
                strip_optional_nulls(&validator.schema, &mut value);
                prop_assert!(validator.validator.is_valid(&value), "checker said valid: {}", text);
            }
        }
    }

    /// The generator exercises both answers of the checker, and both outcomes of the fast path.
    #[test]
    fn generated_inputs_cover_both_paths() {
        let validator = validator();
        let mut runner = TestRunner::deterministic();
        let strategy = input_text();
        let (mut valid, mut decoded, mut ok) = (0, 0, 0);
        let cases = 1000;
        for _ in 0..cases {
            let text = strategy.new_tree(&mut runner).unwrap().current();
            if matches!(verdict(&validator, &text), Verdict::Valid { .. }) {
                valid += 1;
                decoded += usize::from(serde_json::from_str::<Rich>(&text).is_ok());
            }
            ok += usize::from(validator.decode_json::<Rich>(&text).is_ok());
        }
        assert!(valid >= cases / 20, "{valid} valid of {cases}");
        assert!(valid <= cases / 2, "{valid} valid of {cases}");
        assert!(
            decoded > 0 && decoded < valid,
            "{decoded} decoded of {valid} valid"
        );
        assert!(ok >= valid / 2, "{ok} decoded of {cases}");
    }

    #[test]
    fn decode_json_examples() {
        let validator = validator();
        let base = r#""name": "ada", "retries": 3, "ids": [1], "freq": "daily", "home": {"street": "x", "kinds": []}"#;
        // Fast path.
        let (rich, hash) = validator
            .decode_json::<Rich>(&format!("{{{base}}}"))
            .unwrap();
        assert_eq!(rich.name, "ada");
        assert_eq!(
            hash,
            input_hash(&serde_json::from_str(&format!("{{{base}}}")).unwrap())
        );
        // Optional nulls, dropped (the `Value` has them stripped, as `decode` strips them).
        let text = format!(r#"{{{base}, "work": null, "extra": {{"a": null}}}}"#);
        let (value, _) = validator.decode_json::<Value>(&text).unwrap();
        assert_eq!(value.get("work"), None);
        assert_eq!(value["extra"], json!({"a": null}));
        // Schema-valid, serde-invalid: the slow path's error.
        let text = format!(r#"{{{base}, "big": 9223372036854775808}}"#);
        let err = validator.decode_json::<Rich>(&text).unwrap_err();
        assert_eq!(err.field(), "/big");
        // Integral float: the slow path's error.
        let text = format!(r#"{{{base}, "level": 3.0}}"#);
        assert_eq!(
            validator.decode_json::<Rich>(&text).unwrap_err().field(),
            "/level"
        );
        // Not JSON.
        let err = validator.decode_json::<Rich>("{\"name\": ").unwrap_err();
        assert_eq!(err.field(), "");
        assert!(
            err.message().starts_with("the input is not JSON: "),
            "{err}"
        );
        assert_eq!(verdict(&validator, "{\"name\": "), Verdict::Unsure);
    }
}
