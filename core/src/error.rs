//! [`ActionError`]: how a handler says it failed, and whether the platform should retry.

use std::fmt;
use std::time::Duration;

/// Whether a failure can succeed on retry.
///
/// ```
/// use actionkit_core::ErrorClass;
/// assert_eq!(ErrorClass::Permanent.default_status(), 422);
/// assert_eq!(ErrorClass::Transient.default_status(), 503);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Bad input or configuration: answered with a 4xx, never retried, recorded and replayed.
    Permanent,
    /// A dependency is down: answered with a 5xx, retried by the platform; the request id is
    /// released so the retry runs again.
    Transient,
}

impl ErrorClass {
    /// The status used when the handler names none: 422 or 503.
    pub fn default_status(self) -> u16 {
        match self {
            ErrorClass::Permanent => 422,
            ErrorClass::Transient => 503,
        }
    }
}

/// A classified handler failure.
///
/// There is deliberately no `From<E: Error>`: a `?` on an arbitrary error must not silently pick
/// a class. Classify with [`ActionError::permanent`] / [`ActionError::transient`], or on a
/// `Result` with [`ResultExt::permanent`] / [`ResultExt::transient`].
///
/// The message is shown to the platform (and so to the workflow's owner): never put secrets in
/// it. The source error, if any, is logged but not sent.
///
/// ```
/// use actionkit_core::{ActionError, ErrorClass};
/// let err = ActionError::permanent("template `welcome` does not exist").at("/template_id");
/// assert_eq!(err.class(), ErrorClass::Permanent);
/// assert_eq!(err.status(), 422);
/// assert_eq!(err.field_path(), Some("/template_id"));
///
/// let err = ActionError::transient("mail service unavailable").retry_after(std::time::Duration::from_secs(30));
/// assert_eq!((err.status(), err.retry_after_secs()), (503, Some(30)));
/// ```
#[derive(thiserror::Error)]
#[error("{} failure: {message}", failure_kind(*.class))]
pub struct ActionError {
    class: ErrorClass,
    status: Option<u16>,
    message: String,
    field: Option<String>,
    retry_after: Option<Duration>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl ActionError {
    fn new(class: ErrorClass, message: impl fmt::Display) -> Self {
        ActionError {
            class,
            status: None,
            message: message.to_string(),
            field: None,
            retry_after: None,
            source: None,
        }
    }

    /// A failure that will not succeed on retry (4xx).
    pub fn permanent(message: impl fmt::Display) -> Self {
        Self::new(ErrorClass::Permanent, message)
    }

    /// A failure that may succeed on retry (5xx).
    pub fn transient(message: impl fmt::Display) -> Self {
        Self::new(ErrorClass::Transient, message)
    }

    /// Names the offending input field by JSON pointer (`/template_id`). Generated field enums
    /// offer a typed form, [`ActionError::field`].
    pub fn at(mut self, pointer: impl Into<String>) -> Self {
        self.field = Some(pointer.into());
        self
    }

    /// Names the offending input field through the generated field enum.
    ///
    /// ```
    /// use actionkit_core::{ActionError, FieldPointer};
    /// struct Template;
    /// impl FieldPointer for Template { fn pointer(&self) -> String { "/template_id".into() } }
    /// assert_eq!(ActionError::permanent("unknown").field(Template).field_path(), Some("/template_id"));
    /// ```
    pub fn field(self, field: impl FieldPointer) -> Self {
        let pointer = field.pointer();
        self.at(pointer)
    }

    /// Uses `status` instead of the class's default. Ignored unless it belongs to the class
    /// (4xx for permanent, 5xx for transient), so a status can never change the retry decision.
    pub fn with_status(mut self, status: u16) -> Self {
        let fits = match self.class {
            ErrorClass::Permanent => (400..500).contains(&status),
            ErrorClass::Transient => (500..600).contains(&status),
        };
        if fits {
            self.status = Some(status);
        }
        self
    }

    /// Asks the platform to wait this long before retrying (transient failures).
    pub fn retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// Keeps the underlying error for logs (not sent to the platform).
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Permanent or transient.
    pub fn class(&self) -> ErrorClass {
        self.class
    }

    /// The HTTP status to answer.
    pub fn status(&self) -> u16 {
        self.status.unwrap_or(self.class.default_status())
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The offending field's JSON pointer, if named.
    pub fn field_path(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// Whole seconds to wait before a retry, if set (rounded up).
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after
            .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
    }
}

impl fmt::Debug for ActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActionError")
            .field("class", &self.class)
            .field("status", &self.status())
            .field("message", &self.message)
            .field("field", &self.field)
            .finish_non_exhaustive()
    }
}

/// The word `ActionError`'s message starts with.
fn failure_kind(class: ErrorClass) -> &'static str {
    match class {
        ErrorClass::Permanent => "permanent",
        ErrorClass::Transient => "transient",
    }
}

/// A field that can be named in an error: implemented by the generated field enums.
pub trait FieldPointer {
    /// The field's JSON pointer relative to the input, e.g. `/template_id`.
    fn pointer(&self) -> String;
}

/// A generated field enum (`SendEmailField`) points at its field by the serde name.
impl<F: crate::form_state::FormField> FieldPointer for F {
    fn pointer(&self) -> String {
        crate::schema::pointer(self.name())
    }
}

/// Classifies the error of a `Result` explicitly, so `?` can be used on it.
///
/// ```
/// use actionkit_core::{ActionError, ResultExt};
/// fn lookup(id: &str) -> Result<u32, std::num::ParseIntError> { id.parse() }
/// fn handler(id: &str) -> Result<u32, ActionError> {
///     let n = lookup(id).permanent()?;
///     Ok(n)
/// }
/// assert_eq!(handler("x").unwrap_err().status(), 422);
/// ```
pub trait ResultExt<T> {
    /// Any error becomes a permanent failure (4xx) with its `Display` text as the message.
    fn permanent(self) -> Result<T, ActionError>;
    /// Any error becomes a transient failure (5xx) with its `Display` text as the message.
    fn transient(self) -> Result<T, ActionError>;
}

impl<T, E> ResultExt<T> for Result<T, E>
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn permanent(self) -> Result<T, ActionError> {
        self.map_err(|e| ActionError::permanent(&e).with_source(e))
    }

    fn transient(self) -> Result<T, ActionError> {
        self.map_err(|e| ActionError::transient(&e).with_source(e))
    }
}
