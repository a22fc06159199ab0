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

/// The default time a client has to send a whole request head: 10 s. Platforms send a head of a
/// few hundred bytes at once; a client slower than this is holding a connection, not using it.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// The default time a client has to send a whole request body: 30 s, enough for the 1 MiB body
/// limit at ~35 KB/s.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// The default time a kept-alive connection may wait for its next request: 60 s, longer than the
/// common client pools' own idle timeouts (so the client, not the server, usually closes first).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The default most connections served at once: 1 024, within the common 1 024 open-file limit
/// together with the store's files; more wait in the listen backlog until one closes.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

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
    /// The form-state budget (`ACTIONKIT_FORM_STATE_BUDGET_MS`, default
    /// [`DEFAULT_FORM_STATE_BUDGET`](crate::runtime::DEFAULT_FORM_STATE_BUDGET), 400 ms): a
    /// look-up not done by then is its field's timeout error, the other fields answer normally.
    pub form_state_budget: Duration,
    /// The idempotency store, which also queues deferred work.
    pub store: Arc<dyn Store>,
    /// How long a client may take to send a request head, from the connection's opening or
    /// from the first byte after an idle wait (`ACTIONKIT_HEADER_TIMEOUT_MS`).
    pub header_timeout: Duration,
    /// How long a client may take to send a request body (`ACTIONKIT_BODY_TIMEOUT_MS`); past it
    /// the request is answered `408` and the connection closed.
    pub body_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request
    /// (`ACTIONKIT_IDLE_TIMEOUT_MS`).
    pub idle_timeout: Duration,
    /// The most connections served at once (`ACTIONKIT_MAX_CONNECTIONS`); more wait in the
    /// listen backlog until one closes.
    pub max_connections: usize,
    /// Whether the [`preview`](super::preview) pages are served (`ACTIONKIT_PREVIEW`, off by
    /// default); see [`ServerConfig::preview`].
    #[cfg(feature = "preview")]
    pub preview: bool,
    platforms: Vec<Arc<dyn Platform>>,
}

impl ServerConfig {
    /// Defaults: `127.0.0.1:8080`, no prefix, 1 MiB bodies, 20 s budget, 400 ms form-state
    /// budget, an in-memory store,
    /// the slow-client limits [`DEFAULT_HEADER_TIMEOUT`], [`DEFAULT_BODY_TIMEOUT`],
    /// [`DEFAULT_IDLE_TIMEOUT`] and [`DEFAULT_MAX_CONNECTIONS`], and every registered platform
    /// unconfigured.
    pub fn new() -> Self {
        ServerConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            prefix: String::new(),
            body_limit: DEFAULT_BODY_LIMIT,
            deadline: crate::runtime::DEFAULT_DEADLINE,
            form_state_budget: crate::runtime::DEFAULT_FORM_STATE_BUDGET,
            store: Arc::new(MemoryStore::new()),
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            #[cfg(feature = "preview")]
            preview: false,
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

    /// Sets the form-state budget (see [`ServerConfig::form_state_budget`](Self#structfield.form_state_budget)).
    pub fn form_state_budget(mut self, budget: Duration) -> Self {
        self.form_state_budget = budget;
        self
    }

    /// Sets the body limit.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Sets how long a client may take to send a request head.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// Sets how long a client may take to send a request body.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// Sets how long a kept-alive connection may wait for its next request.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets the most connections served at once (at least 1).
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.max(1);
        self
    }

    /// Serves the [`preview`](super::preview) pages under `/preview/` (off by default): each
    /// action's form in the browser, driven by its real form state, with a "Run" button. Their
    /// calls skip signature checks, so [`App::serve_on`](super::App::serve_on) refuses to start
    /// with the preview on anywhere but a loopback address; a router nested into your own app
    /// with [`App::into_router`](super::App::into_router) must be kept on one too.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use actionkit_core::server::{App, ServerConfig};
    /// let config = ServerConfig::new().preview(true);
    /// let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    /// let refused = App::new(()).serve_on(listener, &config, async {}).await.unwrap_err();
    /// assert!(refused.to_string().contains("loopback"), "{refused}");
    /// # });
    /// ```
    #[cfg(feature = "preview")]
    pub fn preview(mut self, on: bool) -> Self {
        self.preview = on;
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
        let mut debug = f.debug_struct("ServerConfig");
        debug
            .field("addr", &self.addr)
            .field("prefix", &self.prefix)
            .field("body_limit", &self.body_limit)
            .field("deadline", &self.deadline)
            .field("header_timeout", &self.header_timeout)
            .field("body_timeout", &self.body_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_connections", &self.max_connections);
        #[cfg(feature = "preview")]
        debug.field("preview", &self.preview);
        debug
            .field("platforms", &self.platforms)
            .finish_non_exhaustive()
    }
}
