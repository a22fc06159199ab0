//! [`StripeContext`]: the execution metadata Stripe sends with a call, typed.
//!
//! **Assumed** wire (Stripe has not published the remote-function body; see the project's
//! `spec/stripe.md`): `context: {"type": "remote_function", "id": "…", "livemode": false,
//! "stripe_context": "acct_…", "clock_time": "…"}`, the snake_case form of the SDK context
//! Stripe's own extension tests build (`{type, id, livemode, stripeContext, clockTime}`), so both
//! spellings are read. Every field may be absent or of another type (it is then `None`), unknown
//! fields are kept, and a context that is not an object reads as all `None`.

use std::fmt;
use std::sync::OnceLock;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

/// Stripe's execution context of a call, reachable from a handler with
/// `ctx.extension::<StripeContext>()`: the account the call runs for (the key to that account's
/// secrets), live or test mode, the kind of invocation, its id and the clock time. The whole
/// context as received stays available ([`json`](StripeContext::json)) for fields not typed here.
///
/// ```
/// use actionkit_core::platform::stripe::StripeContext;
/// let ctx = StripeContext::from_value(&serde_json::json!({
///     "type": "remote_function", "id": "inv_1", "livemode": false,
///     "stripe_context": "acct_1", "clock_time": "2026-11-30T12:00:00Z", "workflow_run": "wr_1",
/// }));
/// assert_eq!(ctx.account(), Some("acct_1"));
/// assert_eq!(ctx.livemode(), Some(false));
/// assert_eq!(ctx.kind(), Some("remote_function"));
/// assert_eq!(ctx.invocation_id(), Some("inv_1"));
/// assert_eq!(ctx.clock_time(), Some("2026-11-30T12:00:00Z"));
/// assert_eq!(ctx.to_value()["workflow_run"], "wr_1");
/// // Absent, mistyped or camelCase: tolerated.
/// let ctx = StripeContext::from_value(&serde_json::json!({"stripeContext": "acct_2", "livemode": "yes"}));
/// assert_eq!((ctx.account(), ctx.livemode()), (Some("acct_2"), None));
/// assert_eq!(StripeContext::default().account(), None);
/// ```
#[derive(Clone, Default)]
pub struct StripeContext {
    // Read from `raw` on first use: most calls never look.
    typed: OnceLock<Typed>,
    raw: Option<Box<RawValue>>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default)]
struct Typed {
    #[serde(rename = "stripe_context", alias = "stripeContext")]
    account: Lenient<String>,
    livemode: Lenient<bool>,
    #[serde(rename = "type")]
    kind: Lenient<String>,
    #[serde(rename = "id")]
    invocation_id: Lenient<String>,
    #[serde(rename = "clock_time", alias = "clockTime")]
    clock_time: Lenient<String>,
}

impl StripeContext {
    /// The context `value`, as the platform would send it.
    pub fn from_value(value: &Value) -> Self {
        match value {
            Value::Null => StripeContext::default(),
            value => Self::from_raw(serde_json::value::to_raw_value(value).ok()),
        }
    }

    /// The context from its JSON text as received (`None`: the call had none).
    pub(crate) fn from_raw(raw: Option<Box<RawValue>>) -> Self {
        StripeContext {
            typed: OnceLock::new(),
            raw,
        }
    }

    fn typed(&self) -> &Typed {
        self.typed.get_or_init(|| {
            self.raw
                .as_deref()
                // Only an object: serde would read an array into the fields by position.
                .filter(|raw| raw.get().starts_with('{'))
                .and_then(|raw| serde_json::from_str::<Typed>(raw.get()).ok())
                .unwrap_or_default()
        })
    }

    /// The account the call runs for (`stripe_context`, `acct_…`).
    pub fn account(&self) -> Option<&str> {
        self.typed().account.0.as_deref()
    }

    /// Whether the call is in live mode (`false`: test mode).
    pub fn livemode(&self) -> Option<bool> {
        self.typed().livemode.0
    }

    /// The kind of invocation (`type`, e.g. `remote_function`).
    pub fn kind(&self) -> Option<&str> {
        self.typed().kind.0.as_deref()
    }

    /// The invocation's id (`id`).
    pub fn invocation_id(&self) -> Option<&str> {
        self.typed().invocation_id.0.as_deref()
    }

    /// The clock time of the call as sent (`clock_time`; a number is kept as its digits).
    pub fn clock_time(&self) -> Option<&str> {
        self.typed().clock_time.0.as_deref()
    }

    /// The whole context as received (`null` when the call had none).
    pub fn json(&self) -> &str {
        self.raw.as_deref().map_or("null", RawValue::get)
    }

    /// The whole context, parsed.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.json()).unwrap_or(Value::Null)
    }

    /// Who the call runs for, for the log line: the account and the mode (neither is secret).
    pub(crate) fn caller(&self) -> Option<String> {
        let account = self.account()?;
        Some(match self.livemode() {
            Some(true) => format!("{account} (live mode)"),
            Some(false) => format!("{account} (test mode)"),
            None => account.to_owned(),
        })
    }
}

impl PartialEq for StripeContext {
    fn eq(&self, other: &Self) -> bool {
        self.typed() == other.typed() && self.to_value() == other.to_value()
    }
}

impl fmt::Debug for StripeContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeContext")
            .field("account", &self.account())
            .field("livemode", &self.livemode())
            .field("kind", &self.kind())
            .field("invocation_id", &self.invocation_id())
            .field("clock_time", &self.clock_time())
            .finish_non_exhaustive()
    }
}

/// A field read when it has the expected type and `None` otherwise, whatever else it holds.
#[derive(Clone, Debug, PartialEq)]
struct Lenient<T>(Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Lenient(None)
    }
}

/// What a [`Lenient`] field accepts.
trait LenientValue: Sized {
    fn from_str(_: &str) -> Option<Self> {
        None
    }
    fn from_bool(_: bool) -> Option<Self> {
        None
    }
    fn from_number(_: &dyn fmt::Display) -> Option<Self> {
        None
    }
}

impl LenientValue for String {
    fn from_str(v: &str) -> Option<Self> {
        Some(v.to_owned())
    }
    fn from_number(v: &dyn fmt::Display) -> Option<Self> {
        Some(v.to_string())
    }
}

impl LenientValue for bool {
    fn from_bool(v: bool) -> Option<Self> {
        Some(v)
    }
}

impl<'de, T: LenientValue> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Read<T>(std::marker::PhantomData<T>);

        impl<'de, T: LenientValue> Visitor<'de> for Read<T> {
            type Value = Lenient<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Lenient(T::from_str(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Lenient(T::from_bool(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Lenient(T::from_number(&v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Lenient(T::from_number(&v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Lenient(T::from_number(&v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
        }

        deserializer.deserialize_any(Read(std::marker::PhantomData))
    }
}
