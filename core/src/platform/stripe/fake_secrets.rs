//! A fake of Stripe's Secret Store on loopback, for simulations of handlers that read secrets.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::signature::stripe::generate_secret;

/// A fake of Stripe's Secret Store on 127.0.0.1, for tests of handlers that read secrets
/// ([`StripeSecrets`](super::StripeSecrets)); give it to a [`StripeSimulation`](super::StripeSimulation). It answers
/// `GET /v1/apps/secrets/find` as Stripe does: the secret (with its `payload` only when asked
/// with `expand[]=payload`), `404 resource_missing` for a secret it does not have, and what it
/// is told for the others. It checks the API key and needs the `Stripe-Account` header.
///
/// Clones share one server, which stops when the last clone is dropped.
///
/// ```
/// use std::time::Duration;
/// use actionkit::platform::stripe::FakeSecretStore;
/// let store = FakeSecretStore::new()
///     .secret("acct_1", "email_api_key", "key_of_acct_1") // found
///     .failing("acct_2", "email_api_key", 500)            // Stripe's API down
///     .failing("acct_3", "email_api_key", 429)            // rate limited
///     .slow("acct_4", "email_api_key", Duration::from_secs(30)); // past any short deadline
/// // Any other account or name: missing (404 `resource_missing`).
/// assert!(store.url().starts_with("http://127.0.0.1:"));
/// assert_eq!(store.calls(), 0);
/// ```
#[derive(Clone)]
pub struct FakeSecretStore {
    inner: Arc<FakeInner>,
}

struct FakeInner {
    api_key: String,
    addr: SocketAddr,
    state: Arc<Mutex<FakeState>>,
    // Dropped with the last clone: the server thread stops.
    _stop: tokio::sync::oneshot::Sender<()>,
}

#[derive(Default)]
struct FakeState {
    found: HashMap<(String, String), String>,
    failing: HashMap<(String, String), u16>,
    slow: HashMap<(String, String), Duration>,
    calls: u64,
}

impl Default for FakeSecretStore {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for FakeSecretStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeSecretStore")
            .field("addr", &self.inner.addr)
            .finish_non_exhaustive()
    }
}

impl FakeSecretStore {
    /// The API key it expects.
    pub(super) fn api_key(&self) -> &str {
        &self.inner.api_key
    }

    /// An empty store (every secret missing), served on a loopback port by a thread of its own.
    ///
    /// # Panics
    /// When no loopback port can be bound, or the system has no randomness.
    pub fn new() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking socket");
        let addr = listener.local_addr().expect("a local address");
        let api_key = format!(
            "sk_test_simulated_{}",
            generate_secret().expect("the system has randomness")
        );
        let state = Arc::new(Mutex::new(FakeState::default()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = (api_key.clone(), state.clone());
        std::thread::Builder::new()
            .name("fake-secret-store".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the fake Secret Store");
                runtime.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
                    let (api_key, state) = served;
                    let router = axum::Router::new().route(
                        "/v1/apps/secrets/find",
                        axum::routing::get(move |request: Request<Body>| {
                            find(api_key.clone(), state.clone(), request)
                        }),
                    );
                    tokio::select! {
                        _ = axum::serve(listener, router) => {}
                        _ = stopped => {}
                    }
                });
            })
            .expect("a thread for the fake Secret Store");
        FakeSecretStore {
            inner: Arc::new(FakeInner {
                api_key,
                addr,
                state,
                _stop: stop,
            }),
        }
    }

    /// Stores `value` as `account`'s secret `name`.
    #[must_use]
    pub fn secret(self, account: &str, name: &str, value: &str) -> Self {
        self.edit(|s| {
            s.found.insert(key(account, name), value.to_owned());
        })
    }

    /// Answers look-ups of `account`'s secret `name` with `status` and a Stripe error body
    /// (`500`: Stripe's API is down; `429`: rate limited; `401`: a refused key).
    #[must_use]
    pub fn failing(self, account: &str, name: &str, status: u16) -> Self {
        self.edit(|s| {
            s.failing.insert(key(account, name), status);
        })
    }

    /// Answers look-ups of `account`'s secret `name` only after `delay`.
    #[must_use]
    pub fn slow(self, account: &str, name: &str, delay: Duration) -> Self {
        self.edit(|s| {
            s.slow.insert(key(account, name), delay);
        })
    }

    /// Removes `account`'s secret `name` and whatever it was told about it.
    pub fn remove(&self, account: &str, name: &str) {
        let key = key(account, name);
        let mut state = self.state();
        state.found.remove(&key);
        state.failing.remove(&key);
        state.slow.remove(&key);
    }

    /// How many look-ups it has received.
    pub fn calls(&self) -> u64 {
        self.state().calls
    }

    /// Its base URL (`STRIPE_API_BASE` for a server that should read from it).
    pub fn url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    fn edit(self, change: impl FnOnce(&mut FakeState)) -> Self {
        change(&mut self.state());
        self
    }

    fn state(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn key(account: &str, name: &str) -> (String, String) {
    (account.to_owned(), name.to_owned())
}

/// `GET /v1/apps/secrets/find`, as Stripe answers it.
async fn find(api_key: String, state: Arc<Mutex<FakeState>>, request: Request<Body>) -> Response {
    let (headers, uri) = (request.headers(), request.uri());
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer != Some(api_key.as_str()) {
        return stripe_error(
            401,
            "invalid_request_error",
            None,
            "Invalid API Key provided",
        );
    }
    let Some(account) = header(headers, "stripe-account") else {
        return stripe_error(
            400,
            "invalid_request_error",
            None,
            "the fake Secret Store reads secrets for an account: send the `Stripe-Account` header",
        );
    };
    let query = query(uri);
    let name = query.get("name").cloned().unwrap_or_default();
    if query.get("scope[type]").map(String::as_str) != Some("account") {
        return stripe_error(
            400,
            "invalid_request_error",
            Some("parameter_missing"),
            "scope[type] must be `account`",
        );
    }
    let expanded = query
        .iter()
        .any(|(k, v)| k.starts_with("expand[") && v == "payload");
    let key = key(&account, &name);
    let (found, failing, slow) = {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        state.calls += 1;
        (
            state.found.get(&key).cloned(),
            state.failing.get(&key).copied(),
            state.slow.get(&key).copied(),
        )
    };
    if let Some(delay) = slow {
        tokio::time::sleep(delay).await;
    }
    if let Some(status) = failing {
        let kind = if status == 429 {
            "rate_limit_error"
        } else {
            "api_error"
        };
        return stripe_error(status, kind, None, "the fake Secret Store was told to fail");
    }
    let Some(payload) = found else {
        return stripe_error(
            404,
            "invalid_request_error",
            Some("resource_missing"),
            &format!("No such secret: '{name}'"),
        );
    };
    let mut secret = json!({
        "id": format!("appsecret_{}", name.len()),
        "object": "apps.secret",
        "created": 1_700_000_000,
        "expires_at": null,
        "livemode": false,
        "name": name,
        "scope": {"type": "account"},
    });
    if expanded {
        secret["payload"] = Value::String(payload);
    }
    json_response(StatusCode::OK, &secret)
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn query(uri: &Uri) -> HashMap<String, String> {
    let url = format!("http://fake{uri}");
    reqwest::Url::parse(&url)
        .map(|url| url.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

fn stripe_error(status: u16, kind: &str, code: Option<&str>, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({"error": {"type": kind, "code": code, "message": message}});
    json_response(status, &body)
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let headers = [(axum::http::header::CONTENT_TYPE, "application/json")];
    (status, headers, body.to_string()).into_response()
}
