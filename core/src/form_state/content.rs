//! What providers return: dropdown [`Options`] of [`Choice`]s, a sub-[`Schema`], or a
//! [`FieldError`] shown on that field alone.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One dropdown entry: the stored `value` and the shown `label`.
///
/// ```
/// let choice = actionkit_core::form_state::Choice::new("aud_1", "Customers");
/// assert_eq!(serde_json::to_value(&choice).unwrap(), serde_json::json!({"value": "aud_1", "label": "Customers"}));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Choice {
    /// What is saved when the entry is picked.
    pub value: String,
    /// What the dropdown shows.
    pub label: String,
}

impl Choice {
    /// An entry with this value and label.
    pub fn new(value: impl Into<String>, label: impl Into<String>) -> Self {
        Choice {
            value: value.into(),
            label: label.into(),
        }
    }
}

/// The entries of a dropdown, in order.
///
/// ```
/// use actionkit_core::form_state::{Choice, Options};
/// let options: Options = [("a", "A"), ("b", "B")].into_iter().map(|(v, l)| Choice::new(v, l)).collect();
/// assert!(options.contains("b"));
/// assert_eq!(options.len(), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Options(pub Vec<Choice>);

impl Options {
    /// Whether some entry has this value.
    pub fn contains(&self, value: &str) -> bool {
        self.0.iter().any(|c| c.value == value)
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries.
    pub fn iter(&self) -> std::slice::Iter<'_, Choice> {
        self.0.iter()
    }
}

impl FromIterator<Choice> for Options {
    fn from_iter<I: IntoIterator<Item = Choice>>(iter: I) -> Self {
        Options(iter.into_iter().collect())
    }
}

impl From<Vec<Choice>> for Options {
    fn from(choices: Vec<Choice>) -> Self {
        Options(choices)
    }
}

/// A JSON Schema object computed at configuration time (for a `dynamic_schema` field).
///
/// ```
/// use actionkit_core::form_state::Schema;
/// let schema = Schema::object([("first_name", "string")]);
/// assert_eq!(schema.as_value()["properties"]["first_name"]["type"], "string");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Schema(pub Map<String, Value>);

impl Schema {
    /// An object schema with one property per `(name, type)`, each titled by its name.
    pub fn object<'a>(properties: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let properties: Map<String, Value> = properties
            .into_iter()
            .map(|(name, ty)| {
                (
                    name.to_owned(),
                    serde_json::json!({"type": ty, "title": name}),
                )
            })
            .collect();
        let mut schema = Map::new();
        schema.insert("type".into(), "object".into());
        schema.insert("properties".into(), Value::Object(properties));
        Schema(schema)
    }

    /// The schema as JSON.
    pub fn as_value(&self) -> Value {
        Value::Object(self.0.clone())
    }
}

impl From<Map<String, Value>> for Schema {
    fn from(map: Map<String, Value>) -> Self {
        Schema(map)
    }
}

/// A look-up failure, shown as the `error` of its field only; the form request still succeeds.
///
/// Any error converts into it with `?` (its `Display` text becomes the message), since a failing
/// look-up has no retry class to choose: it is shown, and the user tries again.
///
/// ```
/// use actionkit_core::form_state::FieldError;
/// fn parse(s: &str) -> Result<u32, FieldError> { Ok(s.parse::<u32>()?) }
/// assert_eq!(parse("x").unwrap_err().message(), "invalid digit found in string");
/// assert_eq!(FieldError::new("segments are unavailable").message(), "segments are unavailable");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct FieldError(String);

impl FieldError {
    /// An error with this message (shown to the person configuring the action).
    pub fn new(message: impl Into<String>) -> Self {
        FieldError(message.into())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl<E: std::error::Error> From<E> for FieldError {
    fn from(err: E) -> Self {
        FieldError(err.to_string())
    }
}

impl fmt::Debug for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FieldError({:?})", self.0)
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
