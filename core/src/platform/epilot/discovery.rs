//! epilot's signing key, discovered: with no key pinned, the key is fetched from epilot's
//! well-known URL and cached, as epilot's own App SDK does.
//!
//! The fetch runs in the platform's background [`Worker`](crate::platform::Worker) (never at
//! start-up, never on a request's task), so a server starts without network access:
//!
//! - at once when the worker starts, then every [`KeyRefresh::every`] while it succeeds, and
//!   with a backoff (1 s doubling, at most [`KeyRefresh::min_interval`]) while it fails; a key
//!   once known is kept through failed fetches;
//! - when a request asks for it: a call that arrives before any key is known (answered `503`,
//!   which epilot retries), or whose signature matches no cached key (epilot may have rotated
//!   it: answered `503` while the key is fetched again and while fetching it fails, `401` once
//!   a freshly fetched key does not match either). Requests ask at most once per
//!   [`KeyRefresh::min_interval`].
//!
//! The answer must be `2xx` JSON `{"public_key": "<PEM SPKI>", "algorithm": "ed25519",
//! "issuer": "epilot"}` of at most 64 KiB; the key must be an Ed25519 public key (PEM or
//! `whpk_`): an HMAC secret is refused, so the URL can never make the server trust a shared
//! secret. Failures are logged (once per distinct problem), so is the first key and every
//! change of key.

use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;
use tokio::sync::Notify;

use super::PLATFORM;
use crate::runtime::{Failure, FailureKind};
use crate::signature::SignatureError;
use crate::signature::standard_webhooks::{SignatureVersion, StandardWebhooksVerifier, WebhookKey};

/// epilot's production key URL, the default of `EPILOT_PUBLIC_KEY_URL`. Non-production stages
/// serve theirs at `https://cdn.app.<stage>.sls.epilot.io/v1/.well-known/public-key`.
///
/// ```
/// use actionkit_core::platform::epilot::{DEFAULT_PUBLIC_KEY_URL, Epilot};
/// assert!(Epilot::discover(DEFAULT_PUBLIC_KEY_URL).is_ok());
/// ```
pub const DEFAULT_PUBLIC_KEY_URL: &str = "https://cdn.app.sls.epilot.io/v1/.well-known/public-key";

/// The largest key answer read.
const MAX_ANSWER: usize = 64 * 1024;

/// The first wait after a failed fetch (doubling up to [`KeyRefresh::min_interval`]).
const FIRST_RETRY: Duration = Duration::from_secs(1);

/// How a discovered key is kept fresh; see [`Epilot::key_refresh`](super::Epilot::key_refresh).
///
/// ```
/// use std::time::Duration;
/// use actionkit_core::platform::epilot::KeyRefresh;
/// let refresh = KeyRefresh { every: Duration::from_secs(600), ..KeyRefresh::default() };
/// assert_eq!(refresh.min_interval, Duration::from_secs(30));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyRefresh {
    /// How often the key is fetched again while fetches succeed (default 1 h).
    pub every: Duration,
    /// The least time between two fetches asked for by requests (a call before any key is
    /// known, a signature that matches no cached key), and the longest wait between attempts
    /// while fetching fails (default 30 s).
    pub min_interval: Duration,
    /// How long one fetch may take, connecting included (default 5 s).
    pub timeout: Duration,
}

impl Default for KeyRefresh {
    fn default() -> Self {
        KeyRefresh {
            every: Duration::from_secs(3600),
            min_interval: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
        }
    }
}

/// A key URL [`Epilot::discover`](super::Epilot::discover) cannot use: not a URL, or not
/// `https` (plain `http` is accepted for loopback addresses only, for tests).
///
/// ```
/// use actionkit_core::platform::epilot::Epilot;
/// let err = Epilot::discover("http://example.com/key").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "`http://example.com/key` cannot serve epilot's public key: it must be an `https` URL \
///      (`http` only on a loopback address)",
/// );
/// assert!(Epilot::discover("http://127.0.0.1:9000/key").is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{url}` cannot serve epilot's public key: {problem}")]
pub struct InvalidKeyUrl {
    url: String,
    problem: &'static str,
}

/// Where and how the key is discovered: the part of [`Epilot`](super::Epilot)'s configuration
/// that [`KeyCache`] is built from at bind time. Validating it fetches nothing.
#[derive(Clone)]
pub(super) struct Discovery {
    url: reqwest::Url,
    pub(super) refresh: KeyRefresh,
}

impl fmt::Debug for Discovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Discovery")
            .field("url", &self.url.as_str())
            .field("refresh", &self.refresh)
            .finish()
    }
}

impl Discovery {
    pub(super) fn new(url: &str) -> Result<Self, InvalidKeyUrl> {
        let invalid = |problem| InvalidKeyUrl {
            url: url.to_owned(),
            problem,
        };
        let parsed = reqwest::Url::parse(url.trim()).map_err(|_| invalid("it is not a URL"))?;
        let loopback = parsed.host_str().is_some_and(|host| {
            host.eq_ignore_ascii_case("localhost")
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
        match parsed.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => {
                return Err(invalid(
                    "it must be an `https` URL (`http` only on a loopback address)",
                ));
            }
        }
        Ok(Discovery {
            url: parsed,
            refresh: KeyRefresh::default(),
        })
    }
}

/// The body of epilot's key URL.
#[derive(Deserialize)]
struct KeyAnswer {
    public_key: String,
    #[serde(default)]
    algorithm: Option<String>,
    #[serde(default)]
    issuer: Option<String>,
}

/// The discovered key of one bound server, shared by its adapter (which reads it for every
/// request) and its background worker (which fetches it).
pub(super) struct KeyCache {
    discovery: Discovery,
    verifier: RwLock<Option<Arc<StandardWebhooksVerifier>>>,
    /// When the latest fetch started.
    last_fetch: Mutex<Option<Instant>>,
    /// A request asked for a fetch that has not finished yet.
    wanted: AtomicBool,
    /// The latest fetch failed: the key may have been rotated and is not known yet.
    failing: AtomicBool,
    wake: Notify,
}

impl fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyCache")
            .field("url", &self.discovery.url.as_str())
            .field("known", &self.current().is_some())
            .finish_non_exhaustive()
    }
}

impl KeyCache {
    pub(super) fn new(discovery: Discovery) -> Self {
        KeyCache {
            discovery,
            verifier: RwLock::new(None),
            last_fetch: Mutex::new(None),
            wanted: AtomicBool::new(false),
            failing: AtomicBool::new(false),
            wake: Notify::new(),
        }
    }

    fn current(&self) -> Option<Arc<StandardWebhooksVerifier>> {
        self.verifier
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Verifies against the cached key: `503` before any key is known, while a key that may
    /// have been rotated is fetched again, or while fetching it fails (the platform retries
    /// until the rotated key is known); `401` once a fresh key does not match either.
    pub(super) fn verify(
        &self,
        id: &str,
        timestamp: &str,
        signature: &str,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(), Failure> {
        let Some(verifier) = self.current() else {
            self.ask_for_fetch();
            return Err(Failure::new(
                FailureKind::Transient,
                "epilot's signing key is not known yet (it is fetched from \
                 EPILOT_PUBLIC_KEY_URL); retry later",
            ));
        };
        match verifier.verify(id, timestamp, signature, body, now) {
            Ok(_) => Ok(()),
            Err(err @ SignatureError::NoMatch { .. }) if self.ask_for_fetch() => Err(Failure::new(
                FailureKind::Transient,
                format!("{err}; epilot's signing key is being fetched again, retry later"),
            )),
            Err(err @ SignatureError::NoMatch { .. }) if self.failing.load(Ordering::Acquire) => {
                Err(Failure::new(
                    FailureKind::Transient,
                    format!(
                        "{err}; epilot's signing key could not be fetched again from \
                         EPILOT_PUBLIC_KEY_URL, retry later"
                    ),
                ))
            }
            Err(err) => Err(Failure::new(FailureKind::Signature, err.to_string())),
        }
    }

    /// Asks the worker for a fetch, at most once per `min_interval`: whether one is now on its
    /// way (asked for by this call or an earlier one).
    fn ask_for_fetch(&self) -> bool {
        if self.wanted.load(Ordering::Acquire) {
            return true;
        }
        let last = self
            .last_fetch
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if last.is_some_and(|at| at.elapsed() < self.discovery.refresh.min_interval) {
            return false;
        }
        if !self.wanted.swap(true, Ordering::AcqRel) {
            self.wake.notify_one();
        }
        true
    }

    /// Fetches the key until `stop` completes: at once, then on schedule and when asked.
    pub(super) async fn run(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let refresh = self.discovery.refresh;
        let client = reqwest::Client::builder()
            .timeout(refresh.timeout)
            .connect_timeout(refresh.timeout)
            .build()
            .expect("a TLS backend is built in");
        let url = self.discovery.url.as_str();
        let (mut known, mut last_problem, mut failures) = (None::<String>, None::<String>, 0u32);
        loop {
            *self
                .last_fetch
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Instant::now());
            let fetched = tokio::select! {
                () = &mut stop => return,
                fetched = fetch(&client, &self.discovery.url) => fetched,
            };
            let wait = match fetched {
                Ok((answer, key)) => {
                    let verifier = StandardWebhooksVerifier::new([key]).expect("one key");
                    *self
                        .verifier
                        .write()
                        .unwrap_or_else(|poisoned| poisoned.into_inner()) =
                        Some(Arc::new(verifier));
                    if known.as_deref() != Some(answer.public_key.as_str()) {
                        tracing::info!(
                            platform = PLATFORM,
                            url,
                            issuer = answer.issuer.as_deref().unwrap_or("-"),
                            algorithm = answer.algorithm.as_deref().unwrap_or("-"),
                            "{}",
                            if known.is_some() {
                                "epilot's signing key changed"
                            } else {
                                "epilot's signing key fetched"
                            }
                        );
                        known = Some(answer.public_key);
                    }
                    (last_problem, failures) = (None, 0);
                    self.failing.store(false, Ordering::Release);
                    refresh.every
                }
                Err(problem) => {
                    if last_problem.as_deref() != Some(problem.as_str()) {
                        tracing::warn!(
                            platform = PLATFORM,
                            url,
                            error = %problem,
                            key_known = known.is_some(),
                            "could not fetch epilot's signing key; retrying"
                        );
                        last_problem = Some(problem);
                    }
                    failures = failures.saturating_add(1);
                    self.failing.store(true, Ordering::Release);
                    FIRST_RETRY
                        .saturating_mul(2u32.saturating_pow(failures.min(20) - 1))
                        .min(refresh.min_interval)
                }
            };
            self.wanted.store(false, Ordering::Release);
            // never a busy loop, whatever the settings
            let next = tokio::time::sleep(wait.max(Duration::from_millis(10)));
            tokio::pin!(next);
            loop {
                tokio::select! {
                    () = &mut stop => return,
                    () = &mut next => break,
                    // A wake-up left from before the fetch that just ended asks for nothing.
                    () = self.wake.notified() => if self.wanted.load(Ordering::Acquire) { break },
                }
            }
        }
    }
}

/// One fetch: the answer and its key, or a short description of what went wrong.
async fn fetch(
    client: &reqwest::Client,
    url: &reqwest::Url,
) -> Result<(KeyAnswer, WebhookKey), String> {
    let unreachable = |err: reqwest::Error| {
        if err.is_timeout() {
            "the request timed out".to_owned()
        } else if err.is_connect() {
            "could not connect".to_owned()
        } else {
            err.without_url().to_string()
        }
    };
    let mut response = client
        .get(url.clone())
        .header(http::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(unreachable)?;
    if !response.status().is_success() {
        return Err(format!("it answered HTTP {}", response.status().as_u16()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err("the answer is larger than 64 KiB".to_owned());
        }
        body.extend_from_slice(&chunk);
    }
    let answer: KeyAnswer = serde_json::from_slice(&body)
        .map_err(|e| format!("the answer is not JSON `{{\"public_key\": \"<PEM>\", …}}`: {e}"))?;
    let key = WebhookKey::parse(&answer.public_key)
        .map_err(|e| format!("its `public_key` is unusable: {e}"))?;
    if key.version() != SignatureVersion::V1a {
        return Err("its `public_key` is not an Ed25519 public key".to_owned());
    }
    Ok((answer, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_urls_are_accepted() {
        for ok in [
            DEFAULT_PUBLIC_KEY_URL,
            "https://cdn.app.dev.sls.epilot.io/v1/.well-known/public-key",
            "http://127.0.0.1:1/key",
            "http://localhost:8080/key",
            "http://[::1]:80/key",
        ] {
            assert!(Discovery::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "cdn.app.sls.epilot.io/key",
            "http://cdn.app.sls.epilot.io/key",
            "ftp://127.0.0.1/key",
            "",
        ] {
            assert!(Discovery::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn requests_ask_for_a_fetch_at_most_once_per_min_interval() {
        let cache = KeyCache::new(Discovery::new("http://127.0.0.1:1/key").unwrap());
        assert!(cache.ask_for_fetch(), "nothing fetched yet");
        assert!(cache.ask_for_fetch(), "still on its way");
        // the worker fetched just now
        *cache.last_fetch.lock().unwrap() = Some(Instant::now());
        cache.wanted.store(false, Ordering::Release);
        assert!(!cache.ask_for_fetch(), "rate-limited");
        *cache.last_fetch.lock().unwrap() = Some(Instant::now() - Duration::from_secs(31));
        assert!(cache.ask_for_fetch());
    }

    #[test]
    fn a_mismatch_stays_retryable_while_the_refetch_fails() {
        use crate::signature::standard_webhooks::WebhookSigningKey;
        let cache = KeyCache::new(Discovery::new("http://127.0.0.1:1/key").unwrap());
        let (old, new) = (
            WebhookSigningKey::ed25519_from_seed([1; 32]),
            WebhookSigningKey::ed25519_from_seed([2; 32]),
        );
        *cache.verifier.write().unwrap() = Some(Arc::new(
            StandardWebhooksVerifier::new([old.verifying_key()]).unwrap(),
        ));
        // The worker has just fetched (so requests may not ask again) and the fetch failed.
        *cache.last_fetch.lock().unwrap() = Some(Instant::now());
        cache.failing.store(true, Ordering::Release);
        let now = SystemTime::now();
        let at = now.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let signature = new.sign("msg_1", at, b"{}");
        let refused = cache
            .verify("msg_1", &at.to_string(), &signature, b"{}", now)
            .unwrap_err();
        assert_eq!(refused.kind, FailureKind::Transient, "{}", refused.message);
        assert!(refused.message.contains("could not be fetched again"));
        // Once a fetch succeeds, a key that still does not match is refused for good.
        cache.failing.store(false, Ordering::Release);
        let refused = cache
            .verify("msg_1", &at.to_string(), &signature, b"{}", now)
            .unwrap_err();
        assert_eq!(refused.kind, FailureKind::Signature);
    }

    /// A key URL on loopback answering `status` and `body`.
    async fn serving(status: u16, body: &'static str) -> reqwest::Url {
        let app = axum::Router::new().route(
            "/key",
            axum::routing::get(move || async move {
                (axum::http::StatusCode::from_u16(status).unwrap(), body)
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        reqwest::Url::parse(&format!("http://{addr}/key")).unwrap()
    }

    #[tokio::test]
    async fn fetch_failures_say_what_is_wrong_without_quoting_the_answer() {
        let client = reqwest::Client::new();
        for (status, body, expected) in [
            (503, "down", "it answered HTTP 503"),
            (
                200,
                "<html>",
                "the answer is not JSON `{\"public_key\": \"<PEM>\", …}`: expected value at line 1 column 1",
            ),
            (
                200,
                r#"{"key": "x"}"#,
                "the answer is not JSON `{\"public_key\": \"<PEM>\", …}`: missing field `public_key` at line 1 column 12",
            ),
            (
                200,
                r#"{"public_key": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}"#,
                "its `public_key` is not an Ed25519 public key",
            ),
        ] {
            let url = serving(status, body).await;
            let problem = fetch(&client, &url).await.err().expect("refused");
            assert_eq!(problem, expected);
        }
        let url = serving(200, r#"{"public_key": "garbage"}"#).await;
        let problem = fetch(&client, &url).await.err().expect("refused");
        assert!(
            problem.starts_with("its `public_key` is unusable: invalid signing key"),
            "{problem}"
        );
        let pem = r#"{"public_key": "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g=\n-----END PUBLIC KEY-----\n", "algorithm": "ed25519", "issuer": "epilot"}"#;
        let url = serving(200, pem).await;
        let (answer, key) = fetch(&client, &url).await.expect("epilot's shape");
        assert_eq!(key.version(), SignatureVersion::V1a);
        assert_eq!(answer.issuer.as_deref(), Some("epilot"));
    }

    #[test]
    fn a_call_before_any_key_is_transient() {
        let cache = KeyCache::new(Discovery::new("http://127.0.0.1:1/key").unwrap());
        let err = cache
            .verify("msg_1", "1", "v1a,AAAA", b"{}", SystemTime::now())
            .unwrap_err();
        assert_eq!((err.status, err.kind), (503, FailureKind::Transient));
        assert!(
            err.message.contains("EPILOT_PUBLIC_KEY_URL"),
            "{}",
            err.message
        );
    }
}
