//! [`ServerConfig`]: what a served app needs besides its actions.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::platform::epilot::callback::RetryPolicy;
use crate::store::{MemoryStore, Store};

/// The default request body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// How to serve: address, route prefix, limits, budget, signing keys and the idempotency store.
///
/// `Debug` never shows secrets.
///
/// ```
/// use actionkit_core::server::ServerConfig;
/// let config = ServerConfig::new().stripe_secrets(["whsec_test"]).epilot_keys(["whsec_other"]);
/// assert!(!format!("{config:?}").contains("whsec_test"));
/// assert!(!format!("{config:?}").contains("whsec_other"));
/// ```
#[derive(Clone)]
pub struct ServerConfig {
    /// Listen address (`ACTIONKIT_ADDR`).
    pub addr: SocketAddr,
    /// Route prefix, e.g. `/actions` (empty by default).
    pub prefix: String,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// The execute budget (`ACTIONKIT_DEADLINE_MS`).
    pub deadline: Duration,
    /// Stripe signing secrets (`STRIPE_SIGNING_SECRET`); several at once during rotation.
    pub stripe_secrets: Vec<String>,
    /// Standard Webhooks keys for the epilot route: epilot's Ed25519 public key
    /// (`EPILOT_PUBLIC_KEY`, PEM or `whpk_…`) and `whsec_…` secrets (`WEBHOOK_SECRET`).
    pub epilot_keys: Vec<String>,
    /// The idempotency store, which also queues epilot `wait_for_callback` work.
    pub store: Arc<dyn Store>,
    /// How epilot callbacks are retried.
    pub callback_retry: RetryPolicy,
}

impl ServerConfig {
    /// Defaults: `127.0.0.1:8080`, no prefix, 1 MiB bodies, 20 s budget, no secrets (Stripe
    /// routes refuse everything until one is set), an in-memory store.
    pub fn new() -> Self {
        ServerConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            prefix: String::new(),
            body_limit: DEFAULT_BODY_LIMIT,
            deadline: crate::runtime::DEFAULT_DEADLINE,
            stripe_secrets: Vec::new(),
            epilot_keys: Vec::new(),
            store: Arc::new(MemoryStore::new()),
            callback_retry: RetryPolicy::default(),
        }
    }

    /// Sets the Stripe signing secrets.
    pub fn stripe_secrets<S: Into<String>>(mut self, secrets: impl IntoIterator<Item = S>) -> Self {
        self.stripe_secrets = secrets.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the keys trusted on the epilot route (PEM, `whpk_…` or `whsec_…`).
    pub fn epilot_keys<S: Into<String>>(mut self, keys: impl IntoIterator<Item = S>) -> Self {
        self.epilot_keys = keys.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the idempotency store.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = store;
        self
    }

    /// Sets how epilot callbacks are retried.
    pub fn callback_retry(mut self, policy: RetryPolicy) -> Self {
        self.callback_retry = policy;
        self
    }

    /// Sets the listen address.
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Sets the execute budget.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Sets the body limit.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Sets the route prefix (`/actions` serves `/actions/stripe/...`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("addr", &self.addr)
            .field("prefix", &self.prefix)
            .field("body_limit", &self.body_limit)
            .field("deadline", &self.deadline)
            .field(
                "stripe_secrets",
                &format_args!("[{} redacted]", self.stripe_secrets.len()),
            )
            .finish_non_exhaustive()
    }
}
