//! Stores: the record of which request ids ran and what they answered ([`IdempotencyStore`]),
//! and the durable queue of deferred work with callbacks ([`CallbackQueue`]).
//!
//! Every request carries an id that stays the same across retries. Before running a handler the
//! runtime [claims](IdempotencyStore::claim) the id; the store answers with one of the four
//! [`Claim`]s:
//!
//! | answer | meaning | the runtime then |
//! | --- | --- | --- |
//! | [`Claim::Acquired`] | nobody ran this id (or the last owner's lease expired) | runs the handler, then [`complete`](IdempotencyStore::complete)s or [`release`](IdempotencyStore::release)s |
//! | [`Claim::Replay`] | it completed before with the same input | answers the recorded response, runs nothing |
//! | [`Claim::InProgress`] | someone else is running it right now | answers a transient failure, runs nothing |
//! | [`Claim::Conflict`] | the id was used with a different input | answers `409 idempotency_conflict`, runs nothing |
//!
//! Three stores implement both traits (together: [`Store`]): [`MemoryStore`] (tests),
//! [`RedbStore`] (an embedded durable file, the default for a single server) and
//! [`PostgresStore`] (several servers sharing one database). [`open`] builds one from the
//! `ACTIONKIT_STORE` setting. The queue's rules are in [`CallbackQueue`]; the idempotency rules
//! follow.
//!
//! Rules every store keeps (checked by the shared conformance suite, `store::conformance`, behind
//! the `conformance` feature for stores written outside this crate):
//! - a claim carries a lease; when it expires (the owner crashed) the id is claimable again, the
//!   new claim gets a new token, and a late [`complete`](IdempotencyStore::complete) or
//!   [`release`](IdempotencyStore::release) from the old token fails with
//!   [`StoreError::LeaseLost`] and changes nothing;
//! - a completed record is replayed until its retention (default [`DEFAULT_RETENTION`], 7 days,
//!   counted from [`Recorded::recorded_at`]) has passed; after that the id counts as absent;
//! - an expired lease or a released claim leaves nothing behind: the id counts as absent, so a
//!   new claim with any input acquires it;
//! - [`Claim::Conflict`] is decided before [`Claim::InProgress`] and [`Claim::Replay`].
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use actionkit_core::store::{Claim, IdempotencyStore, InputHash, MemoryStore, Recorded};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let store = MemoryStore::new();
//! let input = InputHash([7; 32]);
//! let Claim::Acquired(lease) = store.claim("evt_1", &input, Duration::from_secs(30)).await? else {
//!     unreachable!("a fresh id is acquired")
//! };
//! let outcome = Recorded { status: 200, body: b"{}".to_vec().into(), recorded_at: SystemTime::now() };
//! store.complete(&lease, &outcome).await?;
//! assert_eq!(
//!     store.claim("evt_1", &input, Duration::from_secs(30)).await?,
//!     Claim::Replay(outcome)
//! );
//! # Ok::<(), actionkit_core::store::StoreError>(())
//! # }).unwrap();
//! ```

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

#[cfg(feature = "conformance")]
pub mod conformance;
mod job;
mod memory;
mod open;
#[cfg(feature = "postgres")]
mod postgres;
mod queue;
mod record;
#[cfg(feature = "redb")]
mod redb;

pub use self::memory::MemoryStore;
pub use self::open::{open, open_with_retention};
#[cfg(feature = "postgres")]
pub use self::postgres::{DEFAULT_TABLE, PostgresStore, PostgresStoreBuilder};
pub use self::queue::{CallbackQueue, JobLease, PendingJob, Store};
#[cfg(feature = "redb")]
pub use self::redb::{RedbStats, RedbStore, RedbStoreBuilder};

/// How long a completed record is replayed when a store is not told otherwise: 7 days.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(actionkit_core::store::DEFAULT_RETENTION, Duration::from_secs(7 * 24 * 60 * 60));
/// ```
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The SHA-256 of a request's canonical input, computed by the caller.
///
/// Two requests with the same id but different hashes are a [`Claim::Conflict`].
///
/// ```
/// use actionkit_core::store::InputHash;
/// let hash = InputHash([0xab; 32]);
/// assert_eq!(hash.to_string().len(), 64);
/// assert!(hash.to_string().starts_with("abab"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InputHash(pub [u8; 32]);

impl fmt::Display for InputHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for InputHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InputHash({self})")
    }
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
}

/// A response the handler produced, recorded by [`IdempotencyStore::complete`] and replayed to
/// retries.
///
/// Stores may round `recorded_at` to whole microseconds (PostgreSQL does).
///
/// ```
/// use std::time::SystemTime;
/// use actionkit_core::store::Recorded;
/// let outcome = Recorded { status: 422, body: br#"{"error":"bad input"}"#.to_vec().into(), recorded_at: SystemTime::now() };
/// assert_eq!(outcome.status, 422);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The HTTP status that was answered.
    pub status: u16,
    /// The response body that was answered (shared, not copied, by the answer and replays).
    pub body: bytes::Bytes,
    /// When the outcome was recorded; retention is counted from here.
    pub recorded_at: SystemTime,
}

/// Ownership of an id, granted by [`Claim::Acquired`] until [`Lease::expires_at`].
///
/// Each claim gets a fresh random token; only the holder of the current token can
/// [`complete`](IdempotencyStore::complete) or [`release`](IdempotencyStore::release) the id.
///
/// ```
/// use std::time::Duration;
/// use actionkit_core::store::{Claim, IdempotencyStore, InputHash, MemoryStore};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let Claim::Acquired(lease) = store.claim("evt_1", &InputHash([1; 32]), Duration::from_secs(30)).await? else {
///     unreachable!()
/// };
/// assert_eq!(lease.key(), "evt_1");
/// # Ok::<(), actionkit_core::store::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Lease {
    key: Arc<str>,
    token: [u8; 16],
    expires_at: SystemTime,
}

impl Lease {
    /// Builds a lease; for implementations of [`IdempotencyStore`] outside this crate.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use actionkit_core::store::Lease;
    /// let lease = Lease::new("evt_1", [9; 16], SystemTime::now() + Duration::from_secs(30));
    /// assert_eq!(lease.token(), &[9; 16]);
    /// ```
    pub fn new(key: impl Into<Arc<str>>, token: [u8; 16], expires_at: SystemTime) -> Self {
        Self {
            key: key.into(),
            token,
            expires_at,
        }
    }

    /// The id this lease owns.
    ///
    /// ```
    /// # use std::time::SystemTime;
    /// # use actionkit_core::store::Lease;
    /// assert_eq!(Lease::new("evt_1", [0; 16], SystemTime::now()).key(), "evt_1");
    /// ```
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The id this lease owns, shared: a store can keep it as its own key without a copy.
    ///
    /// ```
    /// # use std::time::SystemTime;
    /// # use actionkit_core::store::Lease;
    /// let lease = Lease::new("evt_1", [0; 16], SystemTime::now());
    /// assert_eq!(&**lease.shared_key(), "evt_1");
    /// ```
    pub fn shared_key(&self) -> &Arc<str> {
        &self.key
    }

    /// The random token of this claim, different for every [`Claim::Acquired`].
    ///
    /// ```
    /// # use std::time::SystemTime;
    /// # use actionkit_core::store::Lease;
    /// assert_eq!(Lease::new("evt_1", [3; 16], SystemTime::now()).token(), &[3; 16]);
    /// ```
    pub fn token(&self) -> &[u8; 16] {
        &self.token
    }

    /// When the lease ends; after it, another claim may take the id over.
    ///
    /// ```
    /// # use std::time::SystemTime;
    /// # use actionkit_core::store::Lease;
    /// let at = SystemTime::UNIX_EPOCH;
    /// assert_eq!(Lease::new("evt_1", [0; 16], at).expires_at(), at);
    /// ```
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Hex<'a>(&'a [u8]);
        impl fmt::Debug for Hex<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(f, self.0)
            }
        }
        f.debug_struct("Lease")
            .field("key", &self.key)
            .field("token", &Hex(&self.token))
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// What [`IdempotencyStore::claim`] found.
///
/// ```
/// use std::time::Duration;
/// use actionkit_core::store::{Claim, IdempotencyStore, InputHash, MemoryStore};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let lease = Duration::from_secs(30);
/// assert!(matches!(store.claim("evt_1", &InputHash([1; 32]), lease).await?, Claim::Acquired(_)));
/// assert!(matches!(store.claim("evt_1", &InputHash([1; 32]), lease).await?, Claim::InProgress { .. }));
/// assert_eq!(store.claim("evt_1", &InputHash([2; 32]), lease).await?, Claim::Conflict);
/// # Ok::<(), actionkit_core::store::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The caller now owns the id until the lease expires: run the handler, then complete or
    /// release.
    Acquired(Lease),
    /// The id completed before with the same input hash: answer this, run nothing.
    Replay(Recorded),
    /// Someone else holds an unexpired lease on the id (same input hash): answer a transient
    /// failure; the lease ends within `retry_after`.
    InProgress {
        /// Time left on the other owner's lease.
        retry_after: Duration,
    },
    /// The id was claimed or completed with a different input hash: answer
    /// `409 idempotency_conflict`, run nothing.
    Conflict,
}

/// Why a store call failed.
///
/// ```
/// use actionkit_core::store::StoreError;
/// let err = StoreError::unavailable("reading a record", "disk on fire");
/// assert!(err.is_unavailable());
/// assert_eq!(err.to_string(), "idempotency store unavailable: reading a record: disk on fire");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The lease's token no longer owns its id or job (the lease expired and it was claimed
    /// again, purged, released, retried, or already completed or finished): nothing was changed.
    #[error("store lease lost: the id or job is no longer owned by this claim")]
    LeaseLost,
    /// I/O or database trouble; the runtime answers with a transient failure (5xx).
    #[error("idempotency store unavailable: {context}: {source}")]
    Unavailable {
        /// What the store was doing.
        context: &'static str,
        /// The underlying error.
        source: Box<dyn StdError + Send + Sync + 'static>,
    },
    /// A store could not be built from its settings (unknown `ACTIONKIT_STORE`, bad table
    /// name…). Only returned by constructors and [`open`], never by the trait's methods.
    #[error("invalid idempotency store setting: {0}")]
    InvalidConfig(String),
}

impl StoreError {
    /// Builds [`StoreError::Unavailable`].
    ///
    /// ```
    /// use actionkit_core::store::StoreError;
    /// let io = std::io::Error::other("broken pipe");
    /// assert!(StoreError::unavailable("writing", io).is_unavailable());
    /// ```
    pub fn unavailable(
        context: &'static str,
        source: impl Into<Box<dyn StdError + Send + Sync + 'static>>,
    ) -> Self {
        Self::Unavailable {
            context,
            source: source.into(),
        }
    }

    /// Whether this is [`StoreError::LeaseLost`].
    ///
    /// ```
    /// use actionkit_core::store::StoreError;
    /// assert!(StoreError::LeaseLost.is_lease_lost());
    /// ```
    pub fn is_lease_lost(&self) -> bool {
        matches!(self, Self::LeaseLost)
    }

    /// Whether this is [`StoreError::Unavailable`] (a transient, 5xx-worthy failure).
    ///
    /// ```
    /// use actionkit_core::store::StoreError;
    /// assert!(!StoreError::LeaseLost.is_unavailable());
    /// ```
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

/// The record of which request ids ran and what they answered.
///
/// Object safe: the runtime holds an `Arc<dyn IdempotencyStore>`; `Arc<S>` and `Box<S>` of a
/// store are stores too.
///
/// ```
/// use std::sync::Arc;
/// use actionkit_core::store::{IdempotencyStore, MemoryStore};
/// let store: Arc<dyn IdempotencyStore> = Arc::new(MemoryStore::new());
/// # let _ = store;
/// ```
#[async_trait]
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Claims `key` for a request whose canonical input hashes to `input`, with a lease of
    /// `lease` if acquired. See [`Claim`] for the answers; `Conflict` is decided first.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use actionkit_core::store::{Claim, IdempotencyStore, InputHash, MemoryStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let store = MemoryStore::new();
    /// let claim = store.claim("evt_1", &InputHash([1; 32]), Duration::from_secs(30)).await?;
    /// assert!(matches!(claim, Claim::Acquired(_)));
    /// # Ok::<(), actionkit_core::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    async fn claim(
        &self,
        key: &str,
        input: &InputHash,
        lease: Duration,
    ) -> Result<Claim, StoreError>;

    /// Records the handler's outcome for the lease's id; later claims with the same input replay
    /// it. Durable once this returns `Ok`.
    ///
    /// Fails with [`StoreError::LeaseLost`] (changing nothing) if the token no longer owns the
    /// id. A lease that expired but was not yet taken over still completes. Completing the same
    /// lease again is `Ok` and keeps the first outcome.
    ///
    /// ```
    /// # use std::time::{Duration, SystemTime};
    /// # use actionkit_core::store::{Claim, IdempotencyStore, InputHash, MemoryStore, Recorded};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let store = MemoryStore::new();
    /// let Claim::Acquired(lease) = store.claim("evt_1", &InputHash([1; 32]), Duration::from_secs(30)).await? else { unreachable!() };
    /// store.complete(&lease, &Recorded { status: 200, body: Default::default(), recorded_at: SystemTime::now() }).await?;
    /// # Ok::<(), actionkit_core::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    async fn complete(&self, lease: &Lease, outcome: &Recorded) -> Result<(), StoreError>;

    /// Gives the id up after a transient failure: it is claimable again at once, with any input.
    ///
    /// Fails with [`StoreError::LeaseLost`] (changing nothing) if the token no longer owns a
    /// running claim on the id, including after it completed.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use actionkit_core::store::{Claim, IdempotencyStore, InputHash, MemoryStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let store = MemoryStore::new();
    /// let Claim::Acquired(lease) = store.claim("evt_1", &InputHash([1; 32]), Duration::from_secs(30)).await? else { unreachable!() };
    /// store.release(&lease).await?;
    /// assert!(matches!(store.claim("evt_1", &InputHash([1; 32]), Duration::from_secs(30)).await?, Claim::Acquired(_)));
    /// # Ok::<(), actionkit_core::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    async fn release(&self, lease: &Lease) -> Result<(), StoreError>;

    /// Removes records past their retention and claims whose lease expired, and, in stores that
    /// are also a [`CallbackQueue`], jobs finished longer than the retention ago; returns how
    /// many. Call it now and then (say hourly); stores stay correct without it (but finished
    /// jobs are kept until it runs).
    ///
    /// ```
    /// # use actionkit_core::store::{IdempotencyStore, MemoryStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// assert_eq!(MemoryStore::new().purge_expired().await?, 0);
    /// # Ok::<(), actionkit_core::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    async fn purge_expired(&self) -> Result<u64, StoreError>;

    /// Whether the store answers now: a cheap round trip that changes nothing (`GET /readyz`).
    /// The default answers `Ok` at once, right for a store in memory.
    ///
    /// ```
    /// # use actionkit_core::store::{IdempotencyStore, MemoryStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// MemoryStore::new().ping().await?;
    /// # Ok::<(), actionkit_core::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

macro_rules! forward_store {
    ($($ptr:ident),*) => {$(
        #[async_trait]
        impl<S: IdempotencyStore + ?Sized> IdempotencyStore for $ptr<S> {
            async fn claim(&self, key: &str, input: &InputHash, lease: Duration) -> Result<Claim, StoreError> {
                (**self).claim(key, input, lease).await
            }
            async fn complete(&self, lease: &Lease, outcome: &Recorded) -> Result<(), StoreError> {
                (**self).complete(lease, outcome).await
            }
            async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
                (**self).release(lease).await
            }
            async fn purge_expired(&self) -> Result<u64, StoreError> {
                (**self).purge_expired().await
            }
            async fn ping(&self) -> Result<(), StoreError> {
                (**self).ping().await
            }
        }
    )*};
}

forward_store!(Arc, Box);

/// A fresh lease token: unique within the process (a counter) and, with overwhelming
/// probability, across processes sharing a store (a random 128-bit base drawn once per
/// process). One `getrandom` call per process rather than a syscall per claim; tokens prove
/// ownership of a claim to the store and are never shown to a client.
fn new_token() -> Result<[u8; 16], StoreError> {
    static BASE: std::sync::OnceLock<u128> = std::sync::OnceLock::new();
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let base = match BASE.get() {
        Some(base) => *base,
        None => {
            let mut seed = [0; 16];
            getrandom::fill(&mut seed).map_err(|e| {
                StoreError::unavailable("drawing a random lease token", e.to_string())
            })?;
            *BASE.get_or_init(|| u128::from_le_bytes(seed))
        }
    };
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(base.wrapping_add(u128::from(n)).to_le_bytes())
}

/// `now + lease`, with the lease capped at [`MAX_DURATION`].
fn deadline(now: SystemTime, lease: Duration) -> SystemTime {
    let lease = lease.min(MAX_DURATION);
    // `SystemTime` spans hundreds of billions of years on every supported platform, so this
    // cannot overflow for a real clock; the fallback only avoids a panic path.
    now.checked_add(lease).unwrap_or(now)
}

/// Longest lease or retention the stores honour (100 years); longer ones are capped.
const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);
