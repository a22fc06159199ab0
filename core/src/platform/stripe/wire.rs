//! Stripe's remote-function wire format. Parts that Stripe has not published are **assumed**
//! (see the project's `spec/stripe.md`) and kept in this one module, so they can be corrected
//! without touching users' code:
//!
//! - `execute` request: `{"id": "<request id>", "custom_input": {...}, "context": {...}?}`;
//!   only the snake_case form is accepted, and unknown keys are refused;
//! - `get_form_state` request: `{"id"?: "...", "values": {...}, "changed_field": null | "<name>"}`;
//! - `execute` success: `200 {"output": <handler output or null>}`;
//! - every non-2xx answer: `{"error": {"type": "...", "message": "...", "field"?: "<JSON pointer>"}}`.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::runtime::{Failure, FailureKind, Outcome};

/// Stripe's `context` of an execute call (execution metadata), passed to handlers untouched
/// through [`Context::extension`](crate::Context::extension). It is kept as the JSON text
/// received and parsed only when a handler reads it.
///
/// ```
/// # use actionkit_core::platform::stripe::StripeContext;
/// let ctx = StripeContext::from_value(&serde_json::json!({"workflow_run": "wr_1"}));
/// assert_eq!(ctx.to_value()["workflow_run"], "wr_1");
/// assert_eq!(ctx.json(), r#"{"workflow_run":"wr_1"}"#);
/// assert_eq!(StripeContext::default().to_value(), serde_json::Value::Null);
/// ```
#[derive(Clone, Debug, Default)]
pub struct StripeContext(Option<Box<RawValue>>);

impl StripeContext {
    /// The context `value` (as the platform would send it).
    pub fn from_value(value: &Value) -> Self {
        match value {
            Value::Null => StripeContext(None),
            value => StripeContext(serde_json::value::to_raw_value(value).ok()),
        }
    }

    pub(crate) fn from_raw(raw: Option<Box<RawValue>>) -> Self {
        StripeContext(raw)
    }

    /// The context as received (`null` when the call had none).
    pub fn json(&self) -> &str {
        self.0.as_deref().map_or("null", RawValue::get)
    }

    /// The context parsed.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.json()).unwrap_or(Value::Null)
    }
}

impl PartialEq for StripeContext {
    fn eq(&self, other: &Self) -> bool {
        self.to_value() == other.to_value()
    }
}

/// A decoded `execute` body.
#[derive(Debug, PartialEq)]
pub struct ExecuteBody {
    /// The idempotency key.
    pub id: String,
    /// The configured values: the action's untrusted input.
    pub custom_input: Value,
    /// Execution metadata.
    pub context: Value,
}

const EXECUTE_KEYS: &[&str] = &["id", "custom_input", "context"];

/// A well-formed `execute` body, read in one pass with the input left as JSON text.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExecuteBody {
    /// The idempotency key.
    pub id: String,
    /// The configured values, as received.
    pub custom_input: Box<RawValue>,
    /// Execution metadata, as received (`None` when absent or `null`).
    #[serde(default)]
    pub context: Option<Box<RawValue>>,
}

/// The fast path of [`decode_execute`]: the body read straight into its parts, the input kept
/// as text for [`Action::decode_json`](crate::Action::decode_json). `None` for anything
/// [`decode_execute`] would refuse (or might word differently), so refusals always come from it.
///
/// ```
/// use actionkit_core::platform::stripe::wire::decode_execute_raw;
/// let body = decode_execute_raw(br#"{"id": "req_1", "custom_input": {"a": 1}}"#).unwrap();
/// assert_eq!((body.id.as_str(), body.custom_input.get()), ("req_1", r#"{"a": 1}"#));
/// assert!(decode_execute_raw(br#"{"id": "", "custom_input": {}}"#).is_none());
/// // Found by the `stripe_decode` fuzz target: a lone surrogate that `RawValue` lets through.
/// let lone = br#"{"id":"req_1","custom_input":{"first_name":"A\ud800da2"}}"#;
/// assert!(decode_execute_raw(lone).is_none());
/// assert!(actionkit_core::platform::stripe::wire::decode_execute(lone).is_err());
/// ```
pub fn decode_execute_raw(body: &[u8]) -> Option<RawExecuteBody> {
    let body: RawExecuteBody = serde_json::from_slice(body).ok()?;
    let is_object = body.custom_input.get().starts_with('{');
    // `RawValue` skips over strings without decoding their escapes (a lone surrogate such as
    // `"\ud800x"` passes), where a full parse refuses them: read the input strictly once.
    let strict = serde_json::from_str::<Strict>(body.custom_input.get()).is_ok()
        && body
            .context
            .as_deref()
            .is_none_or(|context| serde_json::from_str::<Strict>(context.get()).is_ok());
    (!body.id.is_empty() && is_object && strict).then_some(body)
}

/// Any JSON, every string decoded (so every escape checked), nothing kept.
struct Strict;

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Strict)
    }
}

impl<'de> serde::de::Visitor<'de> for Strict {
    type Value = Strict;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_str<E>(self, _: &str) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_unit<E>(self) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
        while seq.next_element::<Strict>()?.is_some() {}
        Ok(Strict)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
        while map.next_entry::<Strict, Strict>()?.is_some() {}
        Ok(Strict)
    }
}

/// Decodes an `execute` body.
///
/// # Errors
/// A `400 invalid_input` failure naming what is wrong with the envelope.
///
/// ```
/// use actionkit_core::platform::stripe::wire::decode_execute;
/// let body = decode_execute(br#"{"id": "req_1", "custom_input": {"a": 1}}"#).unwrap();
/// assert_eq!(body.id, "req_1");
/// let err = decode_execute(br#"{"id": "req_1", "customInput": {}}"#).unwrap_err();
/// assert!(err.message.contains("snake_case"));
/// ```
pub fn decode_execute(body: &[u8]) -> Result<ExecuteBody, Failure> {
    let mut object = object(body)?;
    if let Some(key) = object.keys().find(|k| !EXECUTE_KEYS.contains(&k.as_str())) {
        return Err(invalid(format!(
            "unknown key `{key}` in the request body; the remote-function format is snake_case with `id`, `custom_input` and `context`"
        )));
    }
    let id = match object.remove("id") {
        Some(Value::String(id)) if !id.is_empty() => id,
        Some(_) => {
            return Err(invalid(
                "`id` in the request body must be a non-empty string",
            ));
        }
        None => {
            return Err(invalid(
                "missing `id` in the request body: it is the idempotency key",
            ));
        }
    };
    let custom_input = match object.remove("custom_input") {
        Some(input @ Value::Object(_)) => input,
        Some(_) => {
            return Err(invalid(
                "`custom_input` in the request body must be an object",
            ));
        }
        None => return Err(invalid("missing `custom_input` in the request body")),
    };
    let context = object.remove("context").unwrap_or(Value::Null);
    Ok(ExecuteBody {
        id,
        custom_input,
        context,
    })
}

/// Decodes a `get_form_state` body.
///
/// # Errors
/// A `400 invalid_input` failure naming what is wrong.
pub fn decode_form_state(body: &[u8]) -> Result<crate::form_state::FormStateRequest, Failure> {
    let object = object(body)?;
    serde_json::from_value(Value::Object(object))
        .map_err(|e| invalid(format!("the form-state request body is not valid: {e}")))
}

fn object(body: &[u8]) -> Result<Map<String, Value>, Failure> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(invalid("the request body must be a JSON object")),
        Err(e) => Err(invalid(format!("the request body is not JSON: {e}"))),
    }
}

fn invalid(message: impl Into<String>) -> Failure {
    Failure::new(FailureKind::InvalidInput, message)
}

/// The response body for an outcome.
///
/// ```
/// use actionkit_core::platform::stripe::wire::outcome_body;
/// use actionkit_core::runtime::{Failure, FailureKind, Outcome};
/// assert_eq!(outcome_body(&Outcome::Success { output: serde_json::json!(1).into() }), serde_json::json!({"output": 1}));
/// let failure = Failure::new(FailureKind::IdempotencyConflict, "id reused");
/// assert_eq!(outcome_body(&Outcome::Failure(failure))["error"]["type"], "idempotency_conflict");
/// ```
pub fn outcome_body(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Success { output } => json!({"output": output.to_value()}),
        Outcome::Failure(failure) => error_body(failure),
    }
}

/// The response body for an outcome, as bytes: the output is serialised once, straight into
/// the body.
pub fn render(outcome: &Outcome) -> Vec<u8> {
    match outcome {
        Outcome::Success { output } => {
            const OPEN: &[u8] = b"{\"output\":";
            let text = output.get().as_bytes();
            let mut body = Vec::with_capacity(OPEN.len() + text.len() + 1);
            body.extend_from_slice(OPEN);
            body.extend_from_slice(text);
            body.push(b'}');
            body
        }
        Outcome::Failure(failure) => {
            serde_json::to_vec(&error_body(failure)).expect("JSON values serialise")
        }
    }
}

/// The error body: `{"error": {"type", "message", "field"?}}`.
pub fn error_body(failure: &Failure) -> Value {
    let mut error = Map::new();
    error.insert("type".into(), failure.kind.as_str().into());
    error.insert("message".into(), failure.message.clone().into());
    if let Some(field) = &failure.field {
        error.insert("field".into(), field.clone().into());
    }
    json!({"error": error})
}
