//! Stripe's remote-function wire format. Parts that Stripe has not published are **assumed**
//! (see the project's `spec/stripe.md`) and kept in this one module, so they can be corrected
//! without touching users' code:
//!
//! - `execute` request: `{"id": "<request id>", "custom_input": {...}, "context": {...}?}`
//!   ([`StripeContext`](super::StripeContext) reads `context`);
//! - `get_form_state` request: `{"id"?: "...", "values": {...}, "changed_field": null | "<name>",
//!   "context"?: {...}}`;
//! - both envelopes are **tolerant**: a top-level key this module does not know is accepted and
//!   ignored, and logged once per process by name (never its value), so a developer learns what
//!   the platform really sends; only the known camelCase slips of a script SDK (`customInput`,
//!   `changedField`) get a `400` saying the format is snake_case. The action's input itself stays
//!   strictly validated;
//! - `execute` success: `200 {"output": <handler output or null>}`;
//! - every non-2xx answer: `{"error": {"type": "...", "message": "...", "field"?: "<JSON pointer>"}}`.

use std::sync::Mutex;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::runtime::{Failure, FailureKind, Outcome};

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

/// Top-level keys that are a known mistake (a script SDK's camelCase), with the right spelling.
const MISSPELLED: &[(&str, &str)] = &[
    ("customInput", "custom_input"),
    ("changedField", "changed_field"),
];

const EXECUTE_KEYS: &[&str] = &["id", "custom_input", "context"];
const FORM_STATE_KEYS: &[&str] = &["id", "values", "changed_field", "context"];

/// Logs, once per process, a top-level key of a Stripe request this module does not know: its
/// name only (the request is signed, so it comes from Stripe; the set is capped all the same).
fn note_unknown_key(endpoint: &'static str, key: &str) {
    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
    const AT_MOST: usize = 64;
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if seen.len() < AT_MOST && !seen.iter().any(|k| k == key) {
        seen.push(key.to_owned());
        tracing::info!(
            platform = "stripe",
            endpoint,
            key,
            "the request body has a top-level key actionkit does not know; it is ignored (logged once)"
        );
    }
}

/// The `400` for a misspelled top-level key, if `key` is one.
fn misspelled(key: &str, format: &str) -> Option<Failure> {
    MISSPELLED.iter().find(|(wrong, _)| *wrong == key).map(|(wrong, right)| {
        invalid(format!(
            "unknown key `{wrong}` in the request body: the remote-function format is snake_case ({format}); write `{right}`"
        ))
    })
}

/// A well-formed `execute` body, read in one pass with the input left as JSON text. Unknown
/// top-level keys are skipped (their values still read strictly, so what this accepts
/// [`decode_execute`] accepts too).
#[derive(Debug)]
pub struct RawExecuteBody {
    /// The idempotency key.
    pub id: String,
    /// The configured values, as received.
    pub custom_input: Box<RawValue>,
    /// Execution metadata, as received (`None` when absent or `null`).
    pub context: Option<Box<RawValue>>,
}

impl<'de> Deserialize<'de> for RawExecuteBody {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EnvelopeVisitor)
    }
}

/// A top-level key of an `execute` body.
enum ExecuteKey {
    Id,
    CustomInput,
    Context,
    /// A known misspelling: left to [`decode_execute`]'s wording.
    Misspelled,
    Unknown,
}

impl<'de> Deserialize<'de> for ExecuteKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Key;
        impl serde::de::Visitor<'_> for Key {
            type Value = ExecuteKey;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<ExecuteKey, E> {
                Ok(match key {
                    "id" => ExecuteKey::Id,
                    "custom_input" => ExecuteKey::CustomInput,
                    "context" => ExecuteKey::Context,
                    _ if MISSPELLED.iter().any(|(wrong, _)| *wrong == key) => {
                        ExecuteKey::Misspelled
                    }
                    _ => {
                        note_unknown_key("execute", key);
                        ExecuteKey::Unknown
                    }
                })
            }
        }
        deserializer.deserialize_identifier(Key)
    }
}

struct EnvelopeVisitor;

impl<'de> serde::de::Visitor<'de> for EnvelopeVisitor {
    type Value = RawExecuteBody;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an execute body")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error as _;
        let (mut id, mut custom_input, mut context) = (None, None, None);
        while let Some(key) = map.next_key::<ExecuteKey>()? {
            match key {
                ExecuteKey::Id if id.is_none() => id = Some(map.next_value::<String>()?),
                ExecuteKey::CustomInput if custom_input.is_none() => {
                    custom_input = Some(map.next_value::<Box<RawValue>>()?);
                }
                ExecuteKey::Context if context.is_none() => {
                    context = Some(map.next_value::<Option<Box<RawValue>>>()?);
                }
                ExecuteKey::Id | ExecuteKey::CustomInput | ExecuteKey::Context => {
                    return Err(A::Error::custom("a repeated key"));
                }
                ExecuteKey::Misspelled => return Err(A::Error::custom("a misspelled key")),
                ExecuteKey::Unknown => {
                    map.next_value::<Strict>()?;
                }
            }
        }
        Ok(RawExecuteBody {
            id: id.ok_or_else(|| A::Error::missing_field("id"))?,
            custom_input: custom_input.ok_or_else(|| A::Error::missing_field("custom_input"))?,
            context: context.flatten(),
        })
    }
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
/// // Unknown top-level keys are skipped; a known camelCase slip is left to `decode_execute`'s 400.
/// assert!(decode_execute_raw(br#"{"id": "r", "custom_input": {}, "livemode": false}"#).is_some());
/// assert!(decode_execute_raw(br#"{"id": "r", "customInput": {}}"#).is_none());
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
    for key in object.keys() {
        if let Some(failure) = misspelled(key, "`id`, `custom_input` and `context`") {
            return Err(failure);
        }
        if !EXECUTE_KEYS.contains(&key.as_str()) {
            note_unknown_key("execute", key);
        }
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
    decode_form_state_with_context(body).map(|(request, _)| request)
}

/// [`decode_form_state`] and the call's `context` (`null` when absent).
///
/// # Errors
/// As [`decode_form_state`].
pub fn decode_form_state_with_context(
    body: &[u8],
) -> Result<(crate::form_state::FormStateRequest, Value), Failure> {
    let mut object = object(body)?;
    for key in object.keys() {
        if let Some(failure) = misspelled(key, "`values`, `changed_field`, `id` and `context`") {
            return Err(failure);
        }
        if !FORM_STATE_KEYS.contains(&key.as_str()) {
            note_unknown_key("get_form_state", key);
        }
    }
    // Tolerance stops short of guessing: a body with neither key of a form-state call (an execute
    // body, another platform's event) is sent to the wrong endpoint.
    if !object.contains_key("values") && !object.contains_key("changed_field") {
        return Err(invalid(
            "the request body is not a get_form_state call: it has neither `values` nor `changed_field`",
        ));
    }
    // `context` is the execution context (the calling account), as for execute; unknown keys
    // are dropped.
    let context = object.remove("context").unwrap_or(Value::Null);
    object.retain(|key, _| matches!(key.as_str(), "id" | "values" | "changed_field"));
    let request = serde_json::from_value(Value::Object(object))
        .map_err(|e| invalid(format!("the form-state request body is not valid: {e}")))?;
    Ok((request, context))
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
