//! [`Outcome`]: the platform-neutral answer to one call, which platform adapters render in their
//! own wire format, and which the idempotency store records and replays.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ActionError, ErrorClass};
use crate::schema::InputError;

/// What the runtime answers for one call.
///
/// ```
/// use actionkit_core::runtime::{FailureKind, Outcome};
/// let outcome = Outcome::from(actionkit_core::ActionError::permanent("no such template").at("/template_id"));
/// let Outcome::Failure(failure) = &outcome else { unreachable!() };
/// assert_eq!((failure.status, failure.kind), (422, FailureKind::Permanent));
/// assert_eq!(failure.field.as_deref(), Some("/template_id"));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// The handler succeeded with this output (`null` for none).
    Success {
        /// The handler's serialised output.
        output: Output,
    },
    /// The call failed; see [`Failure`].
    Failure(Failure),
}

/// A handler's output, serialised once to JSON text when the handler returns: platforms copy
/// the text into their bodies as it is, and it is recorded and replayed as part of those bytes.
///
/// ```
/// use actionkit_core::runtime::Output;
/// let output = Output::new(&serde_json::json!({"sent": 1})).unwrap();
/// assert_eq!(output.get(), r#"{"sent":1}"#);
/// assert_eq!(output.to_value()["sent"], 1);
/// assert_eq!(Output::null().get(), "null");
/// assert_eq!(Output::from(serde_json::json!({"sent": 1})), output);
/// ```
#[derive(Clone)]
pub struct Output(
    // Always JSON text, as serde_json wrote it.
    String,
);

impl Output {
    /// `value` serialised.
    ///
    /// # Errors
    /// When `value`'s `Serialize` fails (a map with non-string keys, a failing impl).
    pub fn new<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        serde_json::to_string(value).map(Output)
    }

    /// `null`: no output.
    pub fn null() -> Self {
        Output("null".to_owned())
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        &self.0
    }

    /// The output as a [`Value`].
    pub fn to_value(&self) -> Value {
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }
}

impl From<Value> for Output {
    fn from(value: Value) -> Self {
        Output::new(&value).expect("a JSON value serialises")
    }
}

impl PartialEq for Output {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get() || self.to_value() == other.to_value()
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl Serialize for Output {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // As the JSON it is, not as a string of JSON (borrowed: nothing is copied).
        match serde_json::from_str::<&serde_json::value::RawValue>(&self.0) {
            Ok(raw) => raw.serialize(serializer),
            Err(err) => Err(serde::ser::Error::custom(err)),
        }
    }
}

impl<'de> Deserialize<'de> for Output {
    // Through a `Value`: an `Outcome` is internally tagged, and serde hands the fields of such
    // enums over buffered, which raw JSON text cannot be read from.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Output::new(&value).map_err(serde::de::Error::custom)
    }
}

/// A failed call: its status, its error type (the `type` in error bodies), a message and, where
/// known, the offending field.
///
/// The status follows from the kind ([`FailureKind::status`]), except for the handler's two
/// classes: a [`Permanent`](FailureKind::Permanent) or [`Transient`](FailureKind::Transient)
/// failure made from an [`ActionError`] keeps the status the handler chose.
///
/// ```
/// use actionkit_core::runtime::{Failure, FailureKind};
/// let failure = Failure::new(FailureKind::IdempotencyConflict, "id reused");
/// assert_eq!(failure.status, 409);
/// let failure = Failure::from(actionkit_core::ActionError::transient("upstream down").with_status(502));
/// assert_eq!((failure.status, failure.kind), (502, FailureKind::Transient));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The HTTP status to answer.
    pub status: u16,
    /// The error type.
    pub kind: FailureKind,
    /// Human-readable; never holds secrets.
    pub message: String,
    /// JSON pointer into the input, when one field is at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Seconds the platform should wait before retrying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// The error types of `server.md`'s status table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// 401: the signature is missing, malformed, wrong or stale.
    Signature,
    /// 400: the body is not valid input.
    InvalidInput,
    /// 4xx: the handler failed permanently.
    Permanent,
    /// 5xx: the handler failed transiently, or a store was unavailable.
    Transient,
    /// 500: the handler panicked.
    Internal,
    /// 504: the handler passed its deadline.
    Timeout,
    /// 503: the same request id is running right now.
    InProgress,
    /// 409: the request id was used with a different input.
    IdempotencyConflict,
    /// 413: the body is too large.
    TooLarge,
    /// 408: the request body did not arrive within the server's body timeout.
    SlowBody,
    /// 404: no such action or route.
    NotFound,
}

impl FailureKind {
    /// The `type` string in error bodies.
    ///
    /// ```
    /// assert_eq!(actionkit_core::runtime::FailureKind::IdempotencyConflict.as_str(), "idempotency_conflict");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Signature => "signature",
            FailureKind::InvalidInput => "invalid_input",
            FailureKind::Permanent => "permanent",
            FailureKind::Transient => "transient",
            FailureKind::Internal => "internal",
            FailureKind::Timeout => "timeout",
            FailureKind::InProgress => "in_progress",
            FailureKind::IdempotencyConflict => "idempotency_conflict",
            FailureKind::TooLarge => "too_large",
            FailureKind::SlowBody => "request_timeout",
            FailureKind::NotFound => "not_found",
        }
    }

    /// The HTTP status a failure of this kind answers. For the handler's classes this is the
    /// default (`422` permanent, `503` transient); a failure made from an [`ActionError`] keeps
    /// the handler's own status.
    ///
    /// ```
    /// use actionkit_core::runtime::FailureKind;
    /// assert_eq!(FailureKind::Signature.status(), 401);
    /// assert_eq!(FailureKind::Timeout.status(), 504);
    /// ```
    pub fn status(self) -> u16 {
        match self {
            FailureKind::Signature => 401,
            FailureKind::InvalidInput => 400,
            FailureKind::Permanent => 422,
            FailureKind::Transient => 503,
            FailureKind::Internal => 500,
            FailureKind::Timeout => 504,
            FailureKind::InProgress => 503,
            FailureKind::IdempotencyConflict => 409,
            FailureKind::TooLarge => 413,
            FailureKind::SlowBody => 408,
            FailureKind::NotFound => 404,
        }
    }

    /// Whether a platform should retry (a 5xx).
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            FailureKind::Transient
                | FailureKind::Internal
                | FailureKind::Timeout
                | FailureKind::InProgress
        )
    }
}

impl Failure {
    /// A failure of `kind`, answered with [`kind.status()`](FailureKind::status), with no field
    /// and no retry hint.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Failure {
            status: kind.status(),
            kind,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    /// Sets the offending field.
    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Sets the retry hint, rounded up to whole seconds (at least one).
    pub fn retry_after(mut self, after: Duration) -> Self {
        let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
        self.retry_after = Some(secs.max(1));
        self
    }
}

impl Outcome {
    /// The HTTP status this outcome is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Outcome::Success { .. } => 200,
            Outcome::Failure(f) => f.status,
        }
    }

    /// The failure, if any.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Outcome::Success { .. } => None,
            Outcome::Failure(f) => Some(f),
        }
    }

    /// A short label for logs: `success` or the failure kind.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Success { .. } => "success",
            Outcome::Failure(f) => f.kind.as_str(),
        }
    }
}

impl From<Failure> for Outcome {
    fn from(failure: Failure) -> Self {
        Outcome::Failure(failure)
    }
}

impl From<ActionError> for Failure {
    /// The handler's failure: its class gives the kind, and it keeps the handler's status.
    fn from(err: ActionError) -> Self {
        let kind = match err.class() {
            ErrorClass::Permanent => FailureKind::Permanent,
            ErrorClass::Transient => FailureKind::Transient,
        };
        Failure {
            status: err.status(),
            kind,
            message: err.message().to_owned(),
            field: err.field_path().map(str::to_owned),
            retry_after: err.retry_after_secs(),
        }
    }
}

impl From<ActionError> for Outcome {
    fn from(err: ActionError) -> Self {
        Outcome::Failure(Failure::from(err))
    }
}

impl From<InputError> for Failure {
    fn from(err: InputError) -> Self {
        let failure = Failure::new(FailureKind::InvalidInput, err.message());
        if err.field().is_empty() {
            failure
        } else {
            failure.at(err.field())
        }
    }
}

impl From<InputError> for Outcome {
    fn from(err: InputError) -> Self {
        Outcome::Failure(Failure::from(err))
    }
}
