//! [`CallbackQueue`]: durable deferred work with a callback, for epilot's `wait_for_callback`.
//!
//! The runtime answers the webhook at once, [enqueues](CallbackQueue::enqueue) the work under the
//! webhook's id, and a background worker loops:
//!
//! 1. [`claim_due`](CallbackQueue::claim_due) leases one due job (atomically: two workers, or two
//!    replicas on one PostgreSQL table, never hold the same job at once);
//! 2. if [`PendingJob::outcome`] is `None`, runs the handler and
//!    [`record_outcome`](CallbackQueue::record_outcome)s it, so that a crash from here on only
//!    repeats the callback, never the handler;
//! 3. POSTs the callback, then [`finish`](CallbackQueue::finish)es the job, or hands it back with
//!    [`retry_later`](CallbackQueue::retry_later) and a backoff delay (or `finish(…, false)` once
//!    the retry budget is spent).
//!
//! A worker that crashes leaves its lease to expire; the job is then due again and another worker
//! (in this process after a restart, or on another replica) claims it with a new token. Calls with
//! the crashed worker's token fail with [`StoreError::LeaseLost`] once the job was re-claimed, and
//! change nothing.
//!
//! A job's life, as every store keeps it (checked by the conformance suite's `queue_*` cases):
//!
//! | state | claimable | leaves it by |
//! | --- | --- | --- |
//! | waiting (`not_before` in the future) | once `not_before` passes | [`claim_due`](CallbackQueue::claim_due) |
//! | leased (until [`JobLease::expires_at`]) | once the lease expires | [`retry_later`](CallbackQueue::retry_later) (→ waiting), [`finish`](CallbackQueue::finish) (→ finished), expiry (→ claimable) |
//! | finished | never | [`purge_expired`](super::IdempotencyStore::purge_expired) after the store's retention |
//!
//! ```
//! use std::time::Duration;
//! use actionkit_core::store::{CallbackQueue, MemoryStore};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let store = MemoryStore::new();
//! assert!(store.enqueue("epilot:send_email:msg_1", br#"{"action":"send_email"}"#).await?);
//! assert!(!store.enqueue("epilot:send_email:msg_1", b"redelivered").await?, "deduplicated");
//!
//! let (job, lease) = store.claim_due(Duration::from_secs(60)).await?.expect("one job is due");
//! assert_eq!(job.payload, br#"{"action":"send_email"}"#);
//! if job.outcome.is_none() {
//!     store.record_outcome(&lease, br#"{"status":200}"#).await?; // the handler ran
//! }
//! // the callback failed: try again in a second
//! store.retry_later(&lease, Duration::from_secs(1)).await?;
//! assert!(store.claim_due(Duration::from_secs(60)).await?.is_none(), "not due yet");
//! assert_eq!(store.pending().await?, 1);
//! # Ok::<(), actionkit_core::store::StoreError>(())
//! # }).unwrap();
//! ```

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{IdempotencyStore, StoreError};

/// One deferred piece of work and its callback, as [`CallbackQueue::claim_due`] hands it out.
///
/// Stores may round `created_at` to whole microseconds (PostgreSQL does).
///
/// ```
/// use std::time::SystemTime;
/// use actionkit_core::store::PendingJob;
/// let job = PendingJob {
///     key: "epilot:send_email:msg_1".into(),
///     payload: b"{}".to_vec(),
///     outcome: None,
///     attempts: 0,
///     created_at: SystemTime::now(),
/// };
/// assert!(job.outcome.is_none(), "the handler has not run yet");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingJob {
    /// The job's unique key, e.g. `"epilot:send_email:<webhook-id>"`.
    pub key: String,
    /// What to run, opaque to the store (the runtime's JSON: action, input, context, resume
    /// token, callback URL).
    pub payload: Vec<u8>,
    /// The handler's outcome (opaque bytes), once [`CallbackQueue::record_outcome`] stored it:
    /// then only the callback is left to do.
    pub outcome: Option<Vec<u8>>,
    /// How many times the job was handed back with [`CallbackQueue::retry_later`] (callback
    /// attempts so far). A lease that expired (a crashed worker) does not count.
    pub attempts: u32,
    /// When the job was enqueued.
    pub created_at: SystemTime,
}

/// Ownership of one job, granted by [`CallbackQueue::claim_due`] until
/// [`JobLease::expires_at`].
///
/// Each claim gets a fresh random token; only the holder of the current token can record an
/// outcome, retry or finish the job.
///
/// ```
/// use std::time::Duration;
/// use actionkit_core::store::{CallbackQueue, MemoryStore};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// store.enqueue("job_1", b"").await?;
/// let (_, lease) = store.claim_due(Duration::from_secs(30)).await?.unwrap();
/// assert_eq!(lease.key(), "job_1");
/// # Ok::<(), actionkit_core::store::StoreError>(())
/// # }).unwrap();
/// ```
pub type JobLease = super::Lease;

/// A durable queue of deferred jobs, each run once and then called back until delivered.
///
/// In the durable stores ([`RedbStore`](super::RedbStore),
/// [`PostgresStore`](super::PostgresStore)) every change is on disk once its call returns `Ok`.
/// Object safe: `Arc<S>` and `Box<S>` of a queue are queues too, and [`Store`] joins it with
/// [`IdempotencyStore`] for [`open`](super::open).
///
/// Rules every store keeps:
/// - [`claim_due`](Self::claim_due) hands out a job only when it is not finished, not leased by a
///   live owner and its `not_before` has passed, the one due longest first, and never the same
///   job to two callers at once;
/// - a lease whose time ran out still works until the job is claimed again; from then on its calls
///   fail with [`StoreError::LeaseLost`] and change nothing;
/// - finished jobs are never claimed again and are removed by
///   [`purge_expired`](IdempotencyStore::purge_expired) once the store's retention (counted from
///   the finish) has passed; until then their key stays taken.
///
/// ```
/// use std::sync::Arc;
/// use actionkit_core::store::{CallbackQueue, MemoryStore};
/// let queue: Arc<dyn CallbackQueue> = Arc::new(MemoryStore::new());
/// # let _ = queue;
/// ```
#[async_trait]
pub trait CallbackQueue: Send + Sync + 'static {
    /// Adds a job due at once, unless one with this key exists, finished or not (a
    /// redelivery): returns whether it was added. An existing job is left exactly as it is.
    ///
    /// ```
    /// # use actionkit_core::store::{CallbackQueue, MemoryStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let store = MemoryStore::new();
    /// assert!(store.enqueue("job_1", b"payload").await?);
    /// assert!(!store.enqueue("job_1", b"payload").await?);
    /// # Ok::<(), actionkit_core::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    async fn enqueue(&self, key: &str, payload: &[u8]) -> Result<bool, StoreError>;

    /// Atomically claims one due job — not finished, not leased by a live owner, `not_before`
    /// passed; the one due longest first — leasing it for `lease` with a new token. `None` when
    /// nothing is due.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use actionkit_core::store::{CallbackQueue, MemoryStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let store = MemoryStore::new();
    /// assert!(store.claim_due(Duration::from_secs(30)).await?.is_none());
    /// store.enqueue("job_1", b"payload").await?;
    /// let (job, lease) = store.claim_due(Duration::from_secs(30)).await?.unwrap();
    /// assert_eq!((job.key.as_str(), lease.key()), ("job_1", "job_1"));
    /// assert!(store.claim_due(Duration::from_secs(30)).await?.is_none(), "leased");
    /// # Ok::<(), actionkit_core::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    async fn claim_due(
        &self,
        lease: Duration,
    ) -> Result<Option<(PendingJob, JobLease)>, StoreError>;

    /// Records the handler's outcome (durably), keeping the lease: a restart then only retries
    /// the callback. The first outcome recorded for a job is kept; recording again is `Ok` and
    /// changes nothing.
    ///
    /// Fails with [`StoreError::LeaseLost`] (changing nothing) if the lease no longer owns the
    /// job (re-claimed, retried, or finished).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use actionkit_core::store::{CallbackQueue, MemoryStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let store = MemoryStore::new();
    /// # store.enqueue("job_1", b"payload").await?;
    /// let (_, lease) = store.claim_due(Duration::from_secs(30)).await?.unwrap();
    /// store.record_outcome(&lease, b"done").await?;
    /// # Ok::<(), actionkit_core::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    async fn record_outcome(&self, lease: &JobLease, outcome: &[u8]) -> Result<(), StoreError>;

    /// Gives the job back for another attempt no earlier than `delay` from now, and increments
    /// [`PendingJob::attempts`]. The lease ends: later calls with it fail with
    /// [`StoreError::LeaseLost`].
    ///
    /// Fails with [`StoreError::LeaseLost`] (changing nothing) if the lease no longer owns the
    /// job.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use actionkit_core::store::{CallbackQueue, MemoryStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let store = MemoryStore::new();
    /// # store.enqueue("job_1", b"payload").await?;
    /// let (_, lease) = store.claim_due(Duration::from_secs(30)).await?.unwrap();
    /// store.retry_later(&lease, Duration::ZERO).await?;
    /// let (job, _) = store.claim_due(Duration::from_secs(30)).await?.unwrap();
    /// assert_eq!(job.attempts, 1);
    /// # Ok::<(), actionkit_core::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    async fn retry_later(&self, lease: &JobLease, delay: Duration) -> Result<(), StoreError>;

    /// Marks the job finished — `delivered` is `false` when the retry budget ran out — so it is
    /// never claimed again. Finishing again with the same lease is `Ok` and keeps the first
    /// answer.
    ///
    /// Fails with [`StoreError::LeaseLost`] (changing nothing) if the lease no longer owns the
    /// job.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use actionkit_core::store::{CallbackQueue, MemoryStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// # let store = MemoryStore::new();
    /// # store.enqueue("job_1", b"payload").await?;
    /// let (_, lease) = store.claim_due(Duration::from_secs(30)).await?.unwrap();
    /// store.finish(&lease, true).await?;
    /// assert_eq!(store.pending().await?, 0);
    /// # Ok::<(), actionkit_core::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    async fn finish(&self, lease: &JobLease, delivered: bool) -> Result<(), StoreError>;

    /// Counts the jobs not finished, leased or not, due or not (for tests and health checks).
    ///
    /// ```
    /// # use actionkit_core::store::{CallbackQueue, MemoryStore};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let store = MemoryStore::new();
    /// store.enqueue("job_1", b"payload").await?;
    /// assert_eq!(store.pending().await?, 1);
    /// # Ok::<(), actionkit_core::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    async fn pending(&self) -> Result<u64, StoreError>;
}

macro_rules! forward_queue {
    ($($ptr:ident),*) => {$(
        #[async_trait]
        impl<Q: CallbackQueue + ?Sized> CallbackQueue for $ptr<Q> {
            async fn enqueue(&self, key: &str, payload: &[u8]) -> Result<bool, StoreError> {
                (**self).enqueue(key, payload).await
            }
            async fn claim_due(&self, lease: Duration) -> Result<Option<(PendingJob, JobLease)>, StoreError> {
                (**self).claim_due(lease).await
            }
            async fn record_outcome(&self, lease: &JobLease, outcome: &[u8]) -> Result<(), StoreError> {
                (**self).record_outcome(lease, outcome).await
            }
            async fn retry_later(&self, lease: &JobLease, delay: Duration) -> Result<(), StoreError> {
                (**self).retry_later(lease, delay).await
            }
            async fn finish(&self, lease: &JobLease, delivered: bool) -> Result<(), StoreError> {
                (**self).finish(lease, delivered).await
            }
            async fn pending(&self) -> Result<u64, StoreError> {
                (**self).pending().await
            }
        }
    )*};
}

forward_queue!(Arc, Box);

/// Everything a server needs from its store: idempotency records and the callback queue.
/// Implemented for every type that is both; [`open`](super::open) returns an `Arc<dyn Store>`,
/// which also coerces to `Arc<dyn IdempotencyStore>` or `Arc<dyn CallbackQueue>`.
///
/// ```
/// use std::sync::Arc;
/// use actionkit_core::store::{CallbackQueue, IdempotencyStore, MemoryStore, Store};
/// let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
/// let records: Arc<dyn IdempotencyStore> = store.clone();
/// let queue: Arc<dyn CallbackQueue> = store;
/// # let _ = (records, queue);
/// ```
pub trait Store: IdempotencyStore + CallbackQueue {}

#[diagnostic::do_not_recommend]
impl<S: IdempotencyStore + CallbackQueue + ?Sized> Store for S {}
