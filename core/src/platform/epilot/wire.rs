//! epilot's `external_integration` wire format. Documented parts follow epilot's docs; the
//! response conventions are **assumed** from epilot's own apps and kept in this one module:
//!
//! - success: `200 {}`; skipped: `200 {"skip_reason": "…"}`;
//! - failure (4xx permanent, 5xx transient, and every error the runtime itself answers):
//!   `{"error_output": {"error_reason": "…", "error_info": {"details": [{"explanation": "…", "field"?: "/pointer"}]}}}`.
//!
//! The resume POST of `wait_for_callback` is documented: exactly `{"resume_token": "…"}`
//! ([`resume_body`]).
//!
//! Decoding is lenient with the envelope (unknown fields are ignored; `entity` and
//! `trigger_event` may be objects or strings; the field is spelled `exection_action_id`, and
//! `execution_action_id` is accepted too), strict with `custom_action_config`, which is the
//! action's input and is validated against its schema.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};

use crate::context::Secret;
use crate::runtime::{Failure, FailureKind, Outcome};

/// The request body epilot POSTs when a flow reaches the action.
#[derive(Clone, Debug, Deserialize)]
pub struct Envelope {
    /// Always `external_integration`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When the event was created (ISO 8601).
    #[serde(default)]
    pub timestamp: Option<String>,
    /// The event.
    pub data: Data,
}

/// `data` of the envelope.
#[derive(Clone, Debug, Deserialize)]
pub struct Data {
    /// The organisation the flow runs in.
    #[serde(deserialize_with = "string_or_number")]
    pub org_id: String,
    /// The entity the flow runs on.
    #[serde(default, deserialize_with = "object_or_string")]
    pub entity: Value,
    /// The component's settings and the per-flow configuration.
    pub action_config: ActionConfig,
    /// The component's configuration.
    #[serde(default)]
    pub app_config: Value,
    /// The app's install-time options.
    #[serde(default)]
    pub app_options: Value,
    /// The flow execution.
    #[serde(default)]
    pub execution_id: Option<String>,
    /// `in_progress`, `paused`…
    #[serde(default)]
    pub execution_status: Option<String>,
    /// The action within the execution (spelled `exection_action_id` by epilot).
    #[serde(default, alias = "execution_action_id")]
    pub exection_action_id: Option<String>,
    /// The event that triggered the flow.
    #[serde(default, deserialize_with = "object_or_string")]
    pub trigger_event: Value,
    /// With `wait_for_callback`: the token to resume the execution with.
    #[serde(default)]
    pub resume_token: Option<String>,
    /// With `wait_for_callback`: where to POST `{"resume_token": …}`.
    #[serde(default)]
    pub callback_post_url: Option<String>,
}

/// `data.action_config`.
#[derive(Clone, Debug, Deserialize)]
pub struct ActionConfig {
    /// The app.
    #[serde(default)]
    pub app_id: Option<String>,
    /// The component.
    #[serde(default)]
    pub component_id: Option<String>,
    /// The action's name in the flow.
    #[serde(default)]
    pub name: Option<String>,
    /// What the user saved for this flow step: the action's input.
    #[serde(default)]
    pub custom_action_config: Option<Value>,
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected a string or a number, found {other}"
        ))),
    }
}

/// Older payloads send `entity` and `trigger_event` as JSON text; newer ones as objects.
fn object_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(text) => serde_json::from_str::<Value>(&text)
            .ok()
            .filter(Value::is_object)
            .unwrap_or(Value::String(text)),
        other => other,
    })
}

/// What a handler can read of the epilot event through
/// [`Context::extension::<EpilotEvent>()`](crate::Context::extension). `Debug` redacts the token.
///
/// ```
/// use actionkit_core::Secret;
/// use actionkit_core::platform::epilot::EpilotEvent;
/// let event = EpilotEvent { org_id: "123".into(), token: Some(Secret::new("ey.secret")), ..EpilotEvent::default() };
/// assert!(!format!("{event:?}").contains("ey.secret"));
/// ```
#[derive(Clone, Default)]
pub struct EpilotEvent {
    /// The organisation.
    pub org_id: String,
    /// The entity the flow runs on.
    pub entity: Value,
    /// The flow execution.
    pub execution_id: Option<String>,
    /// The action within the execution.
    pub execution_action_id: Option<String>,
    /// The event that triggered the flow.
    pub trigger_event: Value,
    /// The app's install-time options (see [`EpilotEvent::app_options`]).
    pub app_options_raw: Value,
    /// The component's configuration.
    pub app_config: Value,
    /// `x-epilot-token`: a short-lived bearer token for epilot's APIs.
    pub token: Option<Secret>,
}

impl EpilotEvent {
    /// The install-time options as your own type.
    ///
    /// # Errors
    /// When they do not fit `T`.
    pub fn app_options<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        let raw = if self.app_options_raw.is_null() {
            Value::Object(Map::new())
        } else {
            self.app_options_raw.clone()
        };
        serde_json::from_value(raw)
    }
}

impl fmt::Debug for EpilotEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EpilotEvent")
            .field("org_id", &self.org_id)
            .field("execution_id", &self.execution_id)
            .field("execution_action_id", &self.execution_action_id)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// A decoded call: the event for the context, the raw input, and the callback if any.
#[derive(Debug)]
pub struct Decoded {
    /// For [`Context::extension`](crate::Context::extension).
    pub event: EpilotEvent,
    /// `custom_action_config`, to be validated as the action's input.
    pub input: Value,
    /// `(resume_token, callback_post_url)` when the component waits for a callback.
    pub callback: Option<(Secret, String)>,
}

/// Decodes the body.
///
/// # Errors
/// A `400 invalid_input` failure saying what is wrong with the envelope.
pub fn decode(body: &[u8], token: Option<Secret>) -> Result<Decoded, Failure> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| {
        Failure::new(
            FailureKind::InvalidInput,
            format!("the request body is not an epilot event: {e}"),
        )
    })?;
    if envelope.kind != "external_integration" {
        return Err(Failure::new(
            FailureKind::InvalidInput,
            format!(
                "unsupported event type `{}`; expected `external_integration`",
                envelope.kind
            ),
        ));
    }
    let data = envelope.data;
    let input = data
        .action_config
        .custom_action_config
        .unwrap_or_else(|| Value::Object(Map::new()));
    let callback = match (data.resume_token, data.callback_post_url) {
        (Some(token), Some(url)) if !token.is_empty() && !url.is_empty() => {
            Some((Secret::new(token), url))
        }
        _ => None,
    };
    let event = EpilotEvent {
        org_id: data.org_id,
        entity: data.entity,
        execution_id: data.execution_id,
        execution_action_id: data.exection_action_id,
        trigger_event: data.trigger_event,
        app_options_raw: data.app_options,
        app_config: data.app_config,
        token,
    };
    Ok(Decoded {
        event,
        input,
        callback,
    })
}

/// The response body for an outcome, in epilot's conventions.
///
/// ```
/// use actionkit_core::platform::epilot::wire::outcome_body;
/// use actionkit_core::runtime::Outcome;
/// assert_eq!(outcome_body(&Outcome::Success { output: serde_json::json!({"sent": 1}).into() }), serde_json::json!({}));
/// let skipped = Outcome::Success { output: serde_json::json!({"skip_reason": "nobody to notify"}).into() };
/// assert_eq!(outcome_body(&skipped), serde_json::json!({"skip_reason": "nobody to notify"}));
/// ```
pub fn outcome_body(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Success { output } => match output.to_value().get("skip_reason") {
            Some(Value::String(reason)) => json!({"skip_reason": reason}),
            _ => json!({}),
        },
        Outcome::Failure(failure) => error_body(failure),
    }
}

/// The `error_output` body.
pub fn error_body(failure: &Failure) -> Value {
    error_output(
        failure.kind.as_str(),
        &failure.message,
        failure.field.as_deref(),
    )
}

/// The `error_output` body of an error with type `kind` (also for answers no action gives, such
/// as an unknown route or method under `/epilot`).
///
/// ```
/// use actionkit_core::platform::epilot::wire::error_output;
/// let body = error_output("not_found", "no route", None);
/// assert_eq!(body["error_output"]["error_info"]["details"][0]["error_type"], "not_found");
/// ```
pub fn error_output(kind: &str, message: &str, field: Option<&str>) -> Value {
    let mut detail = Map::new();
    detail.insert("explanation".into(), message.into());
    detail.insert("error_type".into(), kind.into());
    if let Some(field) = field {
        detail.insert("field".into(), field.into());
    }
    json!({
        "error_output": {
            "error_reason": message,
            "error_info": {"details": [detail]}
        }
    })
}

/// The body of a resume POST to a `callback_post_url`: exactly `{"resume_token": "…"}`, as
/// epilot's resume endpoint requires (`additionalProperties: false`; no outputs, no error).
///
/// ```
/// use actionkit_core::platform::epilot::wire::resume_body;
/// assert_eq!(resume_body("rt_\"1"), br#"{"resume_token":"rt_\"1"}"#);
/// ```
pub fn resume_body(resume_token: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({ "resume_token": resume_token })).expect("JSON values serialise")
}
