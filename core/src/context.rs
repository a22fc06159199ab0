//! [`Context`]: what a handler knows about the call it is serving.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

use crate::extensions::Extensions;
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
    // One allocation per call: everything a handler can ask for, shared by its clones.
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    request_id: Arc<str>,
    platform: &'static str,
    deadline: Instant,
    cancel: Cancel,
    extensions: Extensions,
}

/// The cancellation signal, made only when a handler waits on it: most calls never do, and a
/// [`CancellationToken`] is an allocation of its own.
#[derive(Default)]
struct Cancel {
    fired: AtomicBool,
    token: OnceLock<CancellationToken>,
}

impl Clone for Cancel {
    // Used only by `with_extension` on a shared context: the copy shares the original's token
    // (made now if it was not yet), so cancelling either cancels both.
    fn clone(&self) -> Self {
        let token = self.token().clone();
        Cancel {
            fired: AtomicBool::new(self.fired.load(Ordering::SeqCst)),
            token: OnceLock::from(token),
        }
    }
}

impl Cancel {
    fn token(&self) -> &CancellationToken {
        let token = self.token.get_or_init(CancellationToken::new);
        // Pairs with the fence in `fire`: either it sees this token, or this sees its flag.
        fence(Ordering::SeqCst);
        if self.fired.load(Ordering::SeqCst) {
            token.cancel();
        }
        token
    }

    fn fire(&self) {
        self.fired.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if let Some(token) = self.token.get() {
            token.cancel();
        }
    }

    fn is_fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst) || self.token.get().is_some_and(|t| t.is_cancelled())
    }
}

impl Context {
    /// A context for request `request_id` from `platform`, due `budget` from now.
    pub fn new(request_id: impl Into<Arc<str>>, platform: &'static str, budget: Duration) -> Self {
        Self::with_extensions(request_id.into(), platform, budget, Extensions::new())
    }

    pub(crate) fn with_extensions(
        request_id: Arc<str>,
        platform: &'static str,
        budget: Duration,
        extensions: Extensions,
    ) -> Self {
        Context {
            inner: Arc::new(Inner {
                request_id,
                platform,
                deadline: Instant::now() + budget,
                cancel: Cancel::default(),
                extensions,
            }),
        }
    }

    /// Adds a typed extra (set by platform adapters before the handler runs).
    pub fn with_extension<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        Arc::make_mut(&mut self.inner).extensions.insert(value);
        self
    }

    /// The idempotency key the platform sent: the same across retries of one call.
    pub fn request_id(&self) -> &str {
        &self.inner.request_id
    }

    /// Which platform is calling (`"stripe"`, `"epilot"`, or a test's name).
    pub fn platform(&self) -> &'static str {
        self.inner.platform
    }

    /// When the runtime gives up on the handler.
    pub fn deadline(&self) -> Instant {
        self.inner.deadline
    }

    /// Time left before the deadline (zero once passed).
    pub fn remaining(&self) -> Duration {
        self.inner
            .deadline
            .saturating_duration_since(Instant::now())
    }

    /// Whether the runtime has given up on this call (deadline passed or server shutting down).
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancel.is_fired()
    }

    /// Completes when the call is cancelled; `select!` on it to stop work early.
    pub async fn cancelled(&self) {
        self.inner.cancel.token().cancelled().await;
    }

    /// A typed extra set by the platform adapter, e.g. epilot's event details.
    pub fn extension<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.inner.extensions.get::<T>()
    }

    /// Cancels the call: [`cancelled`](Context::cancelled) completes for every clone.
    pub(crate) fn cancel(&self) {
        self.inner.cancel.fire();
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("request_id", &self.inner.request_id)
            .field("platform", &self.inner.platform)
            .field("remaining", &self.remaining())
            .field("extensions", &self.inner.extensions.len())
            .finish()
    }
}
