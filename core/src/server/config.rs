//! [`ServerConfig`]: what a served app needs besides its actions — the one owner of every
//! server setting, platforms included.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::platform::{self, Platform};
use crate::store::{MemoryStore, Store};

/// The default request body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// How to serve: address, route prefix, limits, budget, the idempotency store and the
/// platforms with their keys.
///
/// [`ServerConfig::new`] starts with every registered platform unconfigured (each refuses every
/// request with `401`, naming the setting to add); [`ServerConfig::platform`] configures one.
/// `Debug` never shows secrets.
///
/// ```
/// use actionkit_core::platform::stripe::Stripe;
/// use actionkit_core::server::ServerConfig;
/// let config = ServerConfig::new().platform(Stripe::new(["whsec_test"]).unwrap());
/// assert!(!format!("{config:?}").contains("whsec_test"));
/// assert_eq!(config.platform_names(), ["stripe", "epilot"]);
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
    /// The idempotency store, which also queues deferred work.
    pub store: Arc<dyn Store>,
    platforms: Vec<Arc<dyn Platform>>,
}

impl ServerConfig {
    /// Defaults: `127.0.0.1:8080`, no prefix, 1 MiB bodies, 20 s budget, an in-memory store,
    /// and every registered platform unconfigured.
    pub fn new() -> Self {
        ServerConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            prefix: String::new(),
            body_limit: DEFAULT_BODY_LIMIT,
            deadline: crate::runtime::DEFAULT_DEADLINE,
            store: Arc::new(MemoryStore::new()),
            platforms: platform::defaults(),
        }
    }

    /// Serves `platform`, replacing the one of the same name.
    pub fn platform(mut self, platform: impl Platform) -> Self {
        self.set_platform(Arc::new(platform));
        self
    }

    /// Serves each of `platforms`, replacing those of the same names.
    pub fn platforms(mut self, platforms: impl IntoIterator<Item = Arc<dyn Platform>>) -> Self {
        for platform in platforms {
            self.set_platform(platform);
        }
        self
    }

    fn set_platform(&mut self, platform: Arc<dyn Platform>) {
        match self
            .platforms
            .iter_mut()
            .find(|p| p.name() == platform.name())
        {
            Some(slot) => *slot = platform,
            None => self.platforms.push(platform),
        }
    }

    /// The names of the platforms served, in order.
    pub fn platform_names(&self) -> Vec<&'static str> {
        self.platforms.iter().map(|p| p.name()).collect()
    }

    pub(crate) fn configured_platforms(&self) -> &[Arc<dyn Platform>] {
        &self.platforms
    }

    /// Sets the idempotency store.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = store;
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

    /// Sets the route prefix (`/actions` serves `/actions/<platform>/...`).
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
            .field("platforms", &self.platforms)
            .finish_non_exhaustive()
    }
}
