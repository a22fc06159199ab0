//! What a platform hands the runtime: an execute [`Call`] (its input as a value or as JSON text,
//! [`Input`]) and a [`FormCall`].

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::Value;
use serde_json::value::RawValue;

#[cfg(doc)]
use crate::context::Context;
use crate::extensions::Extensions;
use crate::form_state::FormStateRequest;

/// One execute call, as a platform adapter hands it to the runtime.
#[derive(Debug)]
pub struct Call {
    /// The action's id.
    pub action: Cow<'static, str>,
    /// The idempotency key (the same across the platform's retries), shared with the handler's
    /// [`Context`] and the server's log line without copies.
    pub request_id: Arc<str>,
    /// The platform's name, part of the idempotency key and of the [`Context`].
    pub platform: &'static str,
    /// The raw, untrusted input.
    pub input: Input,
    /// Typed extras the handler can read with [`Context::extension`].
    pub extensions: Extensions,
}

/// One form-state call, as a platform adapter hands it to the runtime.
///
/// ```
/// use actionkit_core::form_state::FormStateRequest;
/// use actionkit_core::runtime::FormCall;
/// let call = FormCall::new(FormStateRequest::default()).platform("echo").caller("acct_1");
/// assert_eq!(call.caller.as_deref(), Some("acct_1"));
/// ```
#[derive(Debug)]
pub struct FormCall {
    /// The request: values, changed field, request id.
    pub request: FormStateRequest,
    /// The platform's name, part of the [`Context`] a provider may take.
    pub platform: &'static str,
    /// Who the form is being configured for (an account), when the platform says: provider
    /// answers are memoised and shared per caller, never across callers.
    pub caller: Option<Arc<str>>,
    /// Typed extras a provider taking a [`Context`] reads with [`Context::extension`].
    pub extensions: Extensions,
}

impl FormCall {
    /// A call with no platform extras and no caller, from platform `"test"`.
    pub fn new(request: FormStateRequest) -> Self {
        FormCall {
            request,
            platform: "test",
            caller: None,
            extensions: Extensions::new(),
        }
    }

    /// Sets the platform name.
    pub fn platform(mut self, platform: &'static str) -> Self {
        self.platform = platform;
        self
    }

    /// Sets the caller.
    pub fn caller(mut self, caller: impl Into<Arc<str>>) -> Self {
        self.caller = Some(caller.into());
        self
    }
}

/// A call's untrusted input: a JSON value built in-process, or JSON text cut from a request
/// body, which is decoded straight into the action's input type without an intermediate
/// [`Value`].
///
/// ```
/// use actionkit_core::runtime::Input;
/// let from_value = Input::from(serde_json::json!({"name": "Ada"}));
/// let from_text = Input::json(r#"{"name": "Ada"}"#).unwrap();
/// assert_eq!(from_value.to_value(), from_text.to_value());
/// ```
#[derive(Clone, Debug)]
pub enum Input {
    /// A value built in-process.
    Value(Value),
    /// JSON text, as received.
    Json(Box<RawValue>),
}

impl Input {
    /// Input from JSON text.
    ///
    /// # Errors
    /// When `text` is not JSON.
    pub fn json(text: &str) -> Result<Self, serde_json::Error> {
        RawValue::from_string(text.to_owned()).map(Input::Json)
    }

    /// The input as a [`Value`] (parsing it when it is text; `null` if that fails, which text
    /// made by [`Input::json`] never does).
    pub fn to_value(&self) -> Value {
        match self {
            Input::Value(value) => value.clone(),
            Input::Json(raw) => serde_json::from_str(raw.get()).unwrap_or(Value::Null),
        }
    }
}

impl From<Value> for Input {
    fn from(value: Value) -> Self {
        Input::Value(value)
    }
}

impl From<Box<RawValue>> for Input {
    fn from(raw: Box<RawValue>) -> Self {
        Input::Json(raw)
    }
}

impl Call {
    /// A call with no platform extras, from platform `"test"`.
    pub fn new(
        action: impl Into<Cow<'static, str>>,
        request_id: impl Into<Arc<str>>,
        input: impl Into<Input>,
    ) -> Self {
        Call {
            action: action.into(),
            request_id: request_id.into(),
            platform: "test",
            input: input.into(),
            extensions: Extensions::new(),
        }
    }

    /// Sets the platform name.
    pub fn platform(mut self, platform: &'static str) -> Self {
        self.platform = platform;
        self
    }
}
