//! Stripe's Secret Store, read by execute handlers: [`StripeSecrets`] (the extractor) over a
//! [`SecretStore`] (the configured client with its cache).
//!
//! The request, as in Stripe's API reference ("Find a Secret", `GET /v1/apps/secrets/find`) and
//! stripe-node's `Apps.Secrets.find`: `name`, `scope[type]=account` and `expand[]=payload` (the
//! `payload` field of an `apps.secret` is *expandable*: without it the answer carries no value),
//! authenticated with the app's secret key as a bearer token, acting for the installing account
//! with the `Stripe-Account` header (Stripe's way to call the API for another account). A missing
//! secret is Stripe's `404` with `error.code` `resource_missing`.
//!
//! Form-state providers cannot reach the Secret Store yet: they do not see a [`Context`], so they
//! do not know the account (issue 16).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use tokio::sync::watch;
use tokio::time::Instant;

use super::DEFAULT_API_BASE;
use super::StripeContext;
use crate::context::{Context, Secret};
use crate::error::ActionError;
use crate::handler::FromContext;

/// How long a secret read from the store is reused for the same account and name.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);

/// The calling account's secrets in Stripe's Secret Store, as an execute handler argument.
///
/// [`get`](StripeSecrets::get) reads an `account`-scoped secret of the account the call runs for
/// ([`StripeContext::account`]). Reads are cached per account and name for a minute, and
/// concurrent reads of the same secret make one request to Stripe. The server needs the app's
/// secret key (`STRIPE_API_KEY`, or [`Stripe::secret_store`](super::Stripe::secret_store));
/// without it, or on a call from another platform, [`is_configured`](StripeSecrets::is_configured)
/// is `false` and `get` fails permanently, naming what is missing.
///
/// Form-state providers cannot read secrets yet (they see no [`Context`]).
///
/// ```
/// use actionkit::prelude::*;
/// use actionkit::platform::stripe::StripeSecrets;
/// # #[derive(Action, serde::Serialize, serde::Deserialize)]
/// # #[action(id = "send_email", execute = send)]
/// # struct SendEmail { to: String }
/// async fn send(secrets: StripeSecrets, input: SendEmail) -> Result<(), ActionError> {
///     // Missing: a permanent 4xx telling the user to complete the app's settings; Stripe
///     // down, rate limiting or too slow: a transient 5xx, retried.
///     let api_key = secrets.get("email_api_key").await?;
///     // Use `api_key.expose()` in the outgoing request; never log it.
///     # let _ = (api_key, input);
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct StripeSecrets {
    ctx: Context,
}

impl<S> FromContext<S> for StripeSecrets {
    fn from_context(ctx: &Context, _: &S) -> Self {
        StripeSecrets { ctx: ctx.clone() }
    }
}

/// For form-state providers, which take the `Context` itself: `StripeSecrets::from(&ctx)`.
///
/// ```
/// use std::time::Duration;
/// use actionkit_core::Context;
/// use actionkit_core::platform::stripe::StripeSecrets;
/// let ctx = Context::new("req_1", "test", Duration::from_secs(1));
/// let secrets = StripeSecrets::from(&ctx);
/// assert!(!secrets.is_configured() && secrets.account().is_none());
/// ```
impl From<&Context> for StripeSecrets {
    fn from(ctx: &Context) -> Self {
        StripeSecrets { ctx: ctx.clone() }
    }
}

impl fmt::Debug for StripeSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeSecrets")
            .field("account", &self.account())
            .field("configured", &self.is_configured())
            .finish()
    }
}

impl StripeSecrets {
    /// Whether this call can read the Secret Store: a Stripe call on a server with
    /// `STRIPE_API_KEY`. (The account is checked by [`get`](StripeSecrets::get).)
    pub fn is_configured(&self) -> bool {
        self.ctx.extension::<SecretStore>().is_some()
    }

    /// The account whose secrets are read (`stripe_context` of the call's context).
    pub fn account(&self) -> Option<&str> {
        self.ctx
            .extension::<StripeContext>()
            .and_then(StripeContext::account)
    }

    /// The `account`-scoped secret `name` of the calling account, within the call's remaining
    /// time.
    ///
    /// # Errors
    /// Permanent (4xx): the secret is not set (the message asks the user to complete the app's
    /// settings), the call names no account, the server has no `STRIPE_API_KEY`, the call is not
    /// Stripe's, or Stripe refuses the key. Transient (5xx, retried): Stripe's API is down,
    /// rate limiting, or does not answer in time.
    pub async fn get(&self, name: &str) -> Result<Secret, ActionError> {
        if self.ctx.extension::<StripeContext>().is_none() {
            return Err(ActionError::permanent(format!(
                "the Stripe Secret Store serves Stripe calls only; this call comes from {}",
                self.ctx.platform()
            )));
        }
        let Some(store) = self.ctx.extension::<SecretStore>() else {
            return Err(ActionError::permanent(
                "this server cannot read the Stripe Secret Store: STRIPE_API_KEY is not set",
            ));
        };
        let Some(account) = self.account() else {
            return Err(ActionError::permanent(
                "the call's context names no Stripe account (`stripe_context`), so its secrets cannot be read",
            ));
        };
        store.get(account, name, self.ctx.remaining()).await
    }
}

/// A client of Stripe's Secret Store with the app's secret key, caching what it reads per
/// account and name for a short time, with one request in flight per secret. Cheap to clone
/// (shared). Handlers use it through [`StripeSecrets`]; configure it with
/// [`Stripe::secret_store`](super::Stripe::secret_store).
///
/// ```
/// use actionkit_core::platform::stripe::SecretStore;
/// let store = SecretStore::new("sk_test_123", "http://127.0.0.1:12111").unwrap();
/// assert!(!format!("{store:?}").contains("sk_test_123"));
/// assert!(SecretStore::new("", "https://api.stripe.com").is_err());
/// assert!(SecretStore::new("sk_test_123", "api.stripe.com").is_err());
/// ```
#[derive(Clone)]
pub struct SecretStore {
    inner: Arc<Inner>,
}

struct Inner {
    api_key: Secret,
    /// `{base}/v1/apps/secrets/find`.
    find_url: String,
    ttl: Duration,
    client: reqwest::Client,
    slots: Mutex<HashMap<(String, String), Slot>>,
}

/// How many cached secrets make a new look-up sweep out the expired ones.
const PRUNE_AT: usize = 1024;

/// One cached secret, or the look-up in flight that everyone asking waits for.
enum Slot {
    Ready { secret: Secret, until: Instant },
    Pending(watch::Receiver<Option<Found>>),
}

type Found = Result<(Secret, Instant), Lookup>;

/// Why a look-up failed, shared by everyone who waited for it (then turned into their
/// [`ActionError`]).
#[derive(Clone, Debug)]
enum Lookup {
    Missing,
    Refused(u16),
    NotFound,
    NoPayload,
    Unavailable(Option<u16>),
    RateLimited(Option<Duration>),
    Timeout,
}

/// A [`SecretStore`] that cannot be configured as given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SecretStoreError(String);

impl fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretStore")
            .field("api_key", &self.inner.api_key)
            .field("find_url", &self.inner.find_url)
            .field("ttl", &self.inner.ttl)
            .finish_non_exhaustive()
    }
}

impl SecretStore {
    /// A store reading with the app's secret key `api_key` from Stripe's API at `base`
    /// ([`DEFAULT_API_BASE`], or a loopback fake in tests).
    ///
    /// # Errors
    /// When the key is empty, or `base` is not an `http://` or `https://` URL.
    pub fn new(api_key: impl Into<String>, base: &str) -> Result<Self, SecretStoreError> {
        let api_key = api_key.into();
        let api_key = api_key.trim();
        if api_key.is_empty() {
            return Err(SecretStoreError("STRIPE_API_KEY is empty".into()));
        }
        let base = base.trim().trim_end_matches('/');
        let url = reqwest::Url::parse(base)
            .map_err(|e| SecretStoreError(format!("STRIPE_API_BASE `{base}` is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(SecretStoreError(format!(
                "STRIPE_API_BASE `{base}` must be an http:// or https:// URL, e.g. {DEFAULT_API_BASE}"
            )));
        }
        let client = reqwest::Client::builder()
            .build()
            .map_err(|e| SecretStoreError(format!("the HTTP client cannot start: {e}")))?;
        Ok(SecretStore {
            inner: Arc::new(Inner {
                api_key: Secret::new(api_key),
                find_url: format!("{base}/v1/apps/secrets/find"),
                ttl: DEFAULT_TTL,
                client,
                slots: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Reuses a secret read for this long ([`DEFAULT_TTL`]; zero: read every time, still one
    /// request for concurrent reads). Set it before the store is shared.
    #[must_use]
    pub fn ttl(self, ttl: Duration) -> Self {
        let inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| Inner {
            api_key: shared.api_key.clone(),
            find_url: shared.find_url.clone(),
            ttl: shared.ttl,
            client: shared.client.clone(),
            slots: Mutex::new(HashMap::new()),
        });
        SecretStore {
            inner: Arc::new(Inner { ttl, ..inner }),
        }
    }

    /// The `account`-scoped secret `name` of `account`, waiting at most `within` (a tenth less,
    /// at most 250 ms less, so that a handler given its remaining time answers with this
    /// error before its own deadline passes).
    ///
    /// # Errors
    /// As [`StripeSecrets::get`].
    pub async fn get(
        &self,
        account: &str,
        name: &str,
        within: Duration,
    ) -> Result<Secret, ActionError> {
        // Leave the runtime a moment to answer with this error rather than its own deadline.
        let within = within.saturating_sub((within / 10).min(Duration::from_millis(250)));
        let mut waiting = match self.cached_or_waiting(account, name, within) {
            Ok(secret) => return Ok(secret),
            Err(waiting) => waiting,
        };
        let found = tokio::time::timeout(within, waiting.wait_for(Option::is_some)).await;
        let result = match found {
            Ok(Ok(found)) => found.clone().expect("waited for a value"),
            // The look-up task is gone without an answer (it panicked): try again later.
            Ok(Err(_)) => Err(Lookup::Unavailable(None)),
            Err(_) => Err(Lookup::Timeout),
        };
        result
            .map(|(secret, _)| secret)
            .map_err(|lookup| lookup.into_error(account, name))
    }

    /// The cached secret, or the receiver of the look-up in flight (started now if none is).
    fn cached_or_waiting(
        &self,
        account: &str,
        name: &str,
        within: Duration,
    ) -> Result<Secret, watch::Receiver<Option<Found>>> {
        let key = (account.to_owned(), name.to_owned());
        let mut slots = self.inner.slots.lock().unwrap_or_else(|e| e.into_inner());
        match slots.get(&key) {
            Some(Slot::Ready { secret, until }) if Instant::now() < *until => {
                return Ok(secret.clone());
            }
            // (A look-up whose task died without answering is started again.)
            Some(Slot::Pending(waiting)) if waiting.has_changed().is_ok() => {
                return Err(waiting.clone());
            }
            _ => {}
        }
        // Expired secrets are forgotten once there are many (at most 10 per account on Stripe).
        if slots.len() >= PRUNE_AT {
            let now = Instant::now();
            slots.retain(|_, slot| !matches!(slot, Slot::Ready { until, .. } if *until <= now));
        }
        let (done, waiting) = watch::channel(None);
        slots.insert(key.clone(), Slot::Pending(waiting.clone()));
        drop(slots);
        // The look-up runs on its own task: a caller that gives up does not cancel it for the
        // others waiting.
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let found = match tokio::time::timeout(within, inner.find(&key.0, &key.1)).await {
                Ok(found) => found,
                Err(_) => Err(Lookup::Timeout),
            };
            let mut slots = inner.slots.lock().unwrap_or_else(|e| e.into_inner());
            match &found {
                Ok((secret, until)) => {
                    slots.insert(
                        key,
                        Slot::Ready {
                            secret: secret.clone(),
                            until: *until,
                        },
                    );
                }
                Err(_) => {
                    slots.remove(&key);
                }
            }
            drop(slots);
            let _ = done.send(Some(found));
        });
        Err(waiting)
    }
}

/// The parts of an `apps.secret` read here.
#[derive(Deserialize)]
struct AppsSecret {
    payload: Option<String>,
    expires_at: Option<i64>,
}

#[derive(Deserialize)]
struct StripeError {
    error: StripeErrorBody,
}

#[derive(Deserialize)]
struct StripeErrorBody {
    code: Option<String>,
}

impl Inner {
    async fn find(&self, account: &str, name: &str) -> Found {
        let response = self
            .client
            .get(&self.find_url)
            .query(&[
                ("name", name),
                ("scope[type]", "account"),
                ("expand[]", "payload"),
            ])
            .bearer_auth(self.api_key.expose())
            .header("Stripe-Account", account)
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(e) => {
                tracing::warn!(account, secret = name, error = %e, "Stripe Secret Store unreachable");
                return Err(Lookup::Unavailable(None));
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()?.trim().parse().ok())
            .map(Duration::from_secs);
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => {
                tracing::warn!(account, secret = name, error = %e, "Stripe Secret Store answer cut short");
                return Err(Lookup::Unavailable(Some(status)));
            }
        };
        let lookup = match status {
            200 => {
                return match serde_json::from_slice::<AppsSecret>(&body) {
                    Ok(AppsSecret {
                        payload: Some(payload),
                        expires_at,
                    }) => Ok((Secret::new(payload), self.until(expires_at))),
                    Ok(_) => Err(Lookup::NoPayload),
                    Err(_) => Err(Lookup::Unavailable(Some(status))),
                };
            }
            404 => match serde_json::from_slice::<StripeError>(&body) {
                Ok(e) if e.error.code.as_deref() == Some("resource_missing") => Lookup::Missing,
                _ => Lookup::NotFound,
            },
            429 => Lookup::RateLimited(retry_after),
            400..=499 => Lookup::Refused(status),
            _ => Lookup::Unavailable(Some(status)),
        };
        if !matches!(lookup, Lookup::Missing) {
            tracing::warn!(
                account,
                secret = name,
                status,
                "Stripe Secret Store refused a look-up"
            );
        }
        Err(lookup)
    }

    /// When a secret read now stops being reused: after the TTL, or when it expires if sooner.
    fn until(&self, expires_at: Option<i64>) -> Instant {
        let mut ttl = self.ttl;
        if let Some(expires_at) = expires_at {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let left = u64::try_from(expires_at).unwrap_or(0).saturating_sub(now);
            ttl = ttl.min(Duration::from_secs(left));
        }
        Instant::now() + ttl
    }
}

impl Lookup {
    fn into_error(self, account: &str, name: &str) -> ActionError {
        match self {
            Lookup::Missing => ActionError::permanent(format!(
                "the secret `{name}` is not set for account {account}; complete the app's settings in the Stripe Dashboard"
            )),
            Lookup::NoPayload => ActionError::permanent(format!(
                "Stripe's Secret Store returned `{name}` without its value"
            )),
            Lookup::Refused(status) => ActionError::permanent(format!(
                "Stripe refused to read the secret `{name}` (HTTP {status}); check the server's STRIPE_API_KEY"
            )),
            Lookup::NotFound => ActionError::permanent(
                "Stripe's API has no Secret Store at this address (HTTP 404); check STRIPE_API_BASE",
            ),
            Lookup::Unavailable(Some(status)) => ActionError::transient(format!(
                "Stripe's Secret Store is unavailable (HTTP {status})"
            )),
            Lookup::Unavailable(None) => {
                ActionError::transient("Stripe's Secret Store is unreachable")
            }
            Lookup::RateLimited(after) => {
                let error = ActionError::transient(
                    "Stripe's Secret Store is rate limiting requests (HTTP 429)",
                );
                match after {
                    Some(after) => error.retry_after(after),
                    None => error,
                }
            }
            Lookup::Timeout => ActionError::transient(format!(
                "Stripe's Secret Store did not answer in time for `{name}`"
            ))
            .with_status(504),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorClass;

    #[test]
    fn errors_are_classified_and_name_no_value() {
        let missing = Lookup::Missing.into_error("acct_1", "email_api_key");
        assert_eq!(
            (missing.class(), missing.status()),
            (ErrorClass::Permanent, 422)
        );
        assert!(missing.message().contains("complete the app's settings"));
        for lookup in [
            Lookup::Unavailable(Some(500)),
            Lookup::Unavailable(None),
            Lookup::RateLimited(Some(Duration::from_secs(2))),
            Lookup::Timeout,
        ] {
            assert_eq!(
                lookup.into_error("acct_1", "k").class(),
                ErrorClass::Transient
            );
        }
        assert_eq!(
            Lookup::RateLimited(Some(Duration::from_secs(2)))
                .into_error("a", "k")
                .retry_after_secs(),
            Some(2)
        );
        assert_eq!(
            Lookup::Refused(401).into_error("a", "k").class(),
            ErrorClass::Permanent
        );
    }

    #[tokio::test]
    async fn extractor_names_what_is_missing() {
        let plain = Context::new("req_1", "epilot", Duration::from_secs(1));
        let secrets = StripeSecrets::from_context(&plain, &());
        assert!(!secrets.is_configured());
        let err = secrets.get("k").await.unwrap_err();
        assert!(err.message().contains("epilot"), "{}", err.message());

        let stripe = plain.clone().with_extension(StripeContext::default());
        let err = StripeSecrets::from_context(&stripe, &())
            .get("k")
            .await
            .unwrap_err();
        assert!(
            err.message().contains("STRIPE_API_KEY"),
            "{}",
            err.message()
        );
        assert_eq!(err.class(), ErrorClass::Permanent);

        let store = SecretStore::new("sk_test_never_shown", "http://127.0.0.1:9").unwrap();
        let configured = stripe.with_extension(store);
        let secrets = StripeSecrets::from_context(&configured, &());
        assert!(secrets.is_configured());
        let err = secrets.get("k").await.unwrap_err();
        assert!(
            err.message().contains("stripe_context"),
            "{}",
            err.message()
        );
        assert!(!format!("{secrets:?}{err:?}").contains("sk_test_never_shown"));
    }

    #[test]
    fn ttl_is_capped_by_expiry() {
        let store = SecretStore::new("sk", DEFAULT_API_BASE).unwrap();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let soon = store.inner.until(Some(now as i64 + 5));
        assert!(soon <= Instant::now() + Duration::from_secs(5));
        assert!(store.inner.until(None) > Instant::now() + Duration::from_secs(50));
    }
}
