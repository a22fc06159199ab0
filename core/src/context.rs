//! [`Context`]: what a handler knows about the call it is serving.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A secret value (a bearer token, a signing secret) that never shows in `Debug` or `Display`.
///
/// ```
/// use actionkit_core::Secret;
/// let token = Secret::new("eyJhbGciOi");
/// assert_eq!(format!("{token:?}"), "Secret(***)");
/// assert_eq!(token.expose(), "eyJhbGciOi");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Arc::from(value.into()))
    }

    /// The secret itself: use it, never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The request a handler serves: its id, the platform, the deadline and a cancellation signal,
/// plus typed platform extras (for example epilot's token) set by the platform adapter.
///
/// Cheap to clone. `Debug` shows the id, platform and remaining time, never the extras' values.
///
/// ```
/// use std::time::Duration;
/// use actionkit_core::Context;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let ctx = Context::new("req_1", "stripe", Duration::from_secs(20));
/// assert_eq!(ctx.request_id(), "req_1");
/// assert!(ctx.remaining() <= Duration::from_secs(20));
/// assert!(!ctx.is_cancelled());
/// # });
/// ```
#[derive(Clone)]
pub struct Context {
    request_id: Arc<str>,
    platform: &'static str,
    deadline: Instant,
    cancel: CancellationToken,
    extensions: Arc<http::Extensions>,
}

impl Context {
    /// A context for request `request_id` from `platform`, due `budget` from now.
    pub fn new(request_id: impl Into<String>, platform: &'static str, budget: Duration) -> Self {
        Context {
            request_id: Arc::from(request_id.into()),
            platform,
            deadline: Instant::now() + budget,
            cancel: CancellationToken::new(),
            extensions: Arc::new(http::Extensions::new()),
        }
    }

    /// Adds a typed extra (set by platform adapters before the handler runs).
    pub fn with_extension<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        Arc::make_mut(&mut self.extensions).insert(value);
        self
    }

    /// The idempotency key the platform sent: the same across retries of one call.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// Which platform is calling (`"stripe"`, `"epilot"`, or a test's name).
    pub fn platform(&self) -> &'static str {
        self.platform
    }

    /// When the runtime gives up on the handler.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Time left before the deadline (zero once passed).
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Whether the runtime has given up on this call (deadline passed or server shutting down).
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Completes when the call is cancelled; `select!` on it to stop work early.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await;
    }

    /// A typed extra set by the platform adapter, e.g. epilot's event details.
    pub fn extension<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.extensions.get::<T>()
    }

    pub(crate) fn set_extensions(&mut self, extensions: http::Extensions) {
        self.extensions = Arc::new(extensions);
    }

    pub(crate) fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("request_id", &self.request_id)
            .field("platform", &self.platform)
            .field("remaining", &self.remaining())
            .field("extensions", &self.extensions.len())
            .finish()
    }
}
