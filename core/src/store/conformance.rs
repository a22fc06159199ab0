//! The conformance suite every [`IdempotencyStore`] (and, with the `queue_*` cases, every
//! [`CallbackQueue`]) must pass, written once and run against each store by its tests (and usable
//! by stores outside this crate). Behind the `conformance` cargo feature (`actionkit = { …,
//! features = ["conformance"] }` in a store's dev-dependencies), so it does not ship in every
//! build.
//!
//! Each case takes a [`StoreFactory`] — any `Fn(Duration) -> impl Future<Output = impl
//! IdempotencyStore>`, given the retention the case needs — and panics on the first broken rule.
//! The `queue_*` cases also need the store to be a [`CallbackQueue`].
//! Cases use short leases (200 ms) and sleep past them, so a run takes a few seconds. Run them on
//! a multi-threaded Tokio runtime.
//!
//! ```
//! use std::time::Duration;
//! use actionkit_core::store::{MemoryStore, conformance};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let factory = |retention: Duration| async move { MemoryStore::with_retention(retention) };
//! conformance::acquire_then_replay(&factory).await;
//! conformance::conflict_checked_first(&factory).await;
//! # });
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{
    CallbackQueue, Claim, DEFAULT_RETENTION, IdempotencyStore, InputHash, JobLease, Lease,
    PendingJob, Recorded, StoreError,
};

/// The lease the cases use when they wait for it to expire.
pub const SHORT_LEASE: Duration = Duration::from_millis(200);
/// The lease the cases use when it must not expire during the case.
pub const LONG_LEASE: Duration = Duration::from_secs(60);

/// Builds a fresh, empty store with the given retention; implemented for every
/// `Fn(Duration) -> impl Future<Output = impl IdempotencyStore>`.
///
/// ```
/// use std::time::Duration;
/// use actionkit_core::store::{MemoryStore, conformance::StoreFactory};
/// fn check(_: &impl StoreFactory) {}
/// check(&|retention: Duration| async move { MemoryStore::with_retention(retention) });
/// ```
pub trait StoreFactory {
    /// The store built.
    type Store: IdempotencyStore;
    /// Builds an empty store whose completed records live for `retention`.
    fn make(&self, retention: Duration) -> impl Future<Output = Self::Store>;
}

impl<F, Fut, S> StoreFactory for F
where
    F: Fn(Duration) -> Fut,
    Fut: Future<Output = S>,
    S: IdempotencyStore,
{
    type Store = S;
    fn make(&self, retention: Duration) -> impl Future<Output = S> {
        self(retention)
    }
}

/// Runs every case below, one after the other.
///
/// ```
/// use std::time::Duration;
/// use actionkit_core::store::{MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// conformance::run_all(&|retention: Duration| async move { MemoryStore::with_retention(retention) }).await;
/// # });
/// ```
pub async fn run_all(factory: &impl StoreFactory) {
    acquire_then_replay(factory).await;
    in_progress_while_leased(factory).await;
    conflict_checked_first(factory).await;
    release_frees_at_once(factory).await;
    expired_lease_is_claimable(factory).await;
    complete_is_idempotent_per_lease(factory).await;
    retention_expiry(factory).await;
    purge_removes_expired(factory).await;
    keys_are_independent(factory).await;
    concurrent_claims(factory).await;
}

/// A hash for tests: `n` repeated.
///
/// ```
/// assert_eq!(actionkit_core::store::conformance::hash(3).0, [3; 32]);
/// ```
pub fn hash(n: u8) -> InputHash {
    InputHash([n; 32])
}

/// An outcome recorded now (rounded to whole microseconds, as every store keeps at least that).
///
/// ```
/// let outcome = actionkit_core::store::conformance::outcome(201, b"ok");
/// assert_eq!(outcome.status, 201);
/// ```
pub fn outcome(status: u16, body: &[u8]) -> Recorded {
    outcome_at(status, body, SystemTime::now())
}

/// An outcome recorded at `at` (rounded down to whole microseconds).
///
/// ```
/// use std::time::SystemTime;
/// let outcome = actionkit_core::store::conformance::outcome_at(200, b"", SystemTime::UNIX_EPOCH);
/// assert_eq!(outcome.recorded_at, SystemTime::UNIX_EPOCH);
/// ```
pub fn outcome_at(status: u16, body: &[u8], at: SystemTime) -> Recorded {
    let micros = at
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros();
    let recorded_at = UNIX_EPOCH + Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX));
    Recorded {
        status,
        body: bytes::Bytes::copy_from_slice(body),
        recorded_at,
    }
}

/// Claims `key` and expects [`Claim::Acquired`].
///
/// ```
/// use std::time::Duration;
/// use actionkit_core::store::{MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let lease = conformance::acquire(&MemoryStore::new(), "k", 1, Duration::from_secs(1)).await;
/// assert_eq!(lease.key(), "k");
/// # });
/// ```
pub async fn acquire(
    store: &(impl IdempotencyStore + ?Sized),
    key: &str,
    input: u8,
    lease: Duration,
) -> Lease {
    match claim(store, key, input, lease).await {
        Claim::Acquired(lease) => lease,
        other => panic!("claim of `{key}` should be Acquired, got {other:?}"),
    }
}

/// Claims `key` (a store error fails the case).
///
/// ```
/// use std::time::Duration;
/// use actionkit_core::store::{Claim, MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let claim = conformance::claim(&MemoryStore::new(), "k", 1, Duration::from_secs(1)).await;
/// assert!(matches!(claim, Claim::Acquired(_)));
/// # });
/// ```
pub async fn claim(
    store: &(impl IdempotencyStore + ?Sized),
    key: &str,
    input: u8,
    lease: Duration,
) -> Claim {
    store
        .claim(key, &hash(input), lease)
        .await
        .unwrap_or_else(|e| panic!("claim of `{key}` failed: {e}"))
}

/// Acquire, complete, then every later claim with the same input replays the outcome exactly
/// (status, binary body, time); the lease names its key and ends about `lease` from now.
///
/// ```
/// # use std::time::Duration;
/// # use actionkit_core::store::{MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// conformance::acquire_then_replay(&|r: Duration| async move { MemoryStore::with_retention(r) }).await;
/// # });
/// ```
pub async fn acquire_then_replay(factory: &impl StoreFactory) {
    let store = factory.make(DEFAULT_RETENTION).await;
    let before = SystemTime::now();
    let lease = acquire(&store, "evt_replay", 1, LONG_LEASE).await;
    assert_eq!(lease.key(), "evt_replay");
    let slack = Duration::from_secs(5);
    assert!(
        lease.expires_at() > before + LONG_LEASE - slack
            && lease.expires_at() < before + LONG_LEASE + slack,
        "lease should end about {LONG_LEASE:?} from now: {lease:?}"
    );
    let recorded = outcome(u16::MAX, &[0, 1, 2, 255, 0, b'{', b'}']);
    store
        .complete(&lease, &recorded)
        .await
        .expect("complete with the owning lease");
    for _ in 0..2 {
        assert_eq!(
            claim(&store, "evt_replay", 1, LONG_LEASE).await,
            Claim::Replay(recorded.clone())
        );
    }

    let empty = acquire(&store, "evt_empty_body", 1, LONG_LEASE).await;
    let recorded = outcome(204, b"");
    store
        .complete(&empty, &recorded)
        .await
        .expect("complete with an empty body");
    assert_eq!(
        claim(&store, "evt_empty_body", 1, LONG_LEASE).await,
        Claim::Replay(recorded)
    );
}

/// A second claim with the same input while the lease runs is `InProgress`, with `retry_after`
/// no longer than the lease.
///
/// ```
/// # use std::time::Duration;
/// # use actionkit_core::store::{MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// conformance::in_progress_while_leased(&|r: Duration| async move { MemoryStore::with_retention(r) }).await;
/// # });
/// ```
pub async fn in_progress_while_leased(factory: &impl StoreFactory) {
    let store = factory.make(DEFAULT_RETENTION).await;
    let lease = acquire(&store, "evt_busy", 1, LONG_LEASE).await;
    for _ in 0..2 {
        match claim(&store, "evt_busy", 1, Duration::from_secs(1)).await {
            Claim::InProgress { retry_after } => assert!(
                retry_after > Duration::ZERO && retry_after <= LONG_LEASE,
                "retry_after should be the rest of the first lease, got {retry_after:?}"
            ),
            other => panic!("a duplicate during the lease should be InProgress, got {other:?}"),
        }
    }
    // the duplicate did not take the id over
    store
        .complete(&lease, &outcome(200, b"first"))
        .await
        .expect("the first owner still completes");
}

/// A different input is a `Conflict` while the id runs and after it completed, before any
/// `InProgress` or `Replay`; the conflicting claim changes nothing.
///
/// ```
/// # use std::time::Duration;
/// # use actionkit_core::store::{MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// conformance::conflict_checked_first(&|r: Duration| async move { MemoryStore::with_retention(r) }).await;
/// # });
/// ```
pub async fn conflict_checked_first(factory: &impl StoreFactory) {
    let store = factory.make(DEFAULT_RETENTION).await;
    let lease = acquire(&store, "evt_conflict", 1, LONG_LEASE).await;
    assert_eq!(
        claim(&store, "evt_conflict", 2, LONG_LEASE).await,
        Claim::Conflict
    );
    assert!(matches!(
        claim(&store, "evt_conflict", 1, LONG_LEASE).await,
        Claim::InProgress { .. }
    ));
    let recorded = outcome(200, b"done");
    store
        .complete(&lease, &recorded)
        .await
        .expect("complete after a conflicting claim");
    assert_eq!(
        claim(&store, "evt_conflict", 2, LONG_LEASE).await,
        Claim::Conflict
    );
    assert_eq!(
        claim(&store, "evt_conflict", 1, LONG_LEASE).await,
        Claim::Replay(recorded)
    );
}

/// `release` makes the id claimable at once, with any input; releasing again, or after a new
/// claim, is `LeaseLost` and leaves the new owner alone.
///
/// ```
/// # use std::time::Duration;
/// # use actionkit_core::store::{MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// conformance::release_frees_at_once(&|r: Duration| async move { MemoryStore::with_retention(r) }).await;
/// # });
/// ```
pub async fn release_frees_at_once(factory: &impl StoreFactory) {
    let store = factory.make(DEFAULT_RETENTION).await;
    let first = acquire(&store, "evt_release", 1, LONG_LEASE).await;
    store
        .release(&first)
        .await
        .expect("release with the owning lease");
    let second = acquire(&store, "evt_release", 2, LONG_LEASE).await;
    assert_ne!(
        first.token(),
        second.token(),
        "every claim gets a new token"
    );
    let err = store
        .release(&first)
        .await
        .expect_err("a released lease no longer owns the id");
    assert!(err.is_lease_lost(), "expected LeaseLost, got {err}");
    let err = store
        .complete(&first, &outcome(200, b"stale"))
        .await
        .expect_err("stale complete");
    assert!(err.is_lease_lost(), "expected LeaseLost, got {err}");
    assert!(matches!(
        claim(&store, "evt_release", 2, LONG_LEASE).await,
        Claim::InProgress { .. }
    ));
    let recorded = outcome(201, b"second");
    store
        .complete(&second, &recorded)
        .await
        .expect("the new owner completes");
    assert_eq!(
        claim(&store, "evt_release", 2, LONG_LEASE).await,
        Claim::Replay(recorded)
    );
}

/// After a lease expires (a crashed owner) the id is claimable again with a new token; the old
/// token's `complete` and `release` fail with `LeaseLost` and overwrite nothing.
///
/// ```
/// # use std::time::Duration;
/// # use actionkit_core::store::{MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// conformance::expired_lease_is_claimable(&|r: Duration| async move { MemoryStore::with_retention(r) }).await;
/// # });
/// ```
pub async fn expired_lease_is_claimable(factory: &impl StoreFactory) {
    let store = factory.make(DEFAULT_RETENTION).await;
    let crashed = acquire(&store, "evt_crash", 1, SHORT_LEASE).await;
    assert!(matches!(
        claim(&store, "evt_crash", 1, SHORT_LEASE).await,
        Claim::InProgress { .. }
    ));
    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(100)).await;
    let successor = acquire(&store, "evt_crash", 1, LONG_LEASE).await;
    assert_ne!(
        crashed.token(),
        successor.token(),
        "a takeover gets a new token"
    );

    let err = store
        .complete(&crashed, &outcome(500, b"late"))
        .await
        .expect_err("late complete");
    assert!(err.is_lease_lost(), "expected LeaseLost, got {err}");
    let err = store.release(&crashed).await.expect_err("late release");
    assert!(err.is_lease_lost(), "expected LeaseLost, got {err}");
    assert!(
        matches!(
            claim(&store, "evt_crash", 1, LONG_LEASE).await,
            Claim::InProgress { .. }
        ),
        "the late calls left the successor's claim alone"
    );
    let recorded = outcome(200, b"successor");
    store
        .complete(&successor, &recorded)
        .await
        .expect("the successor completes");
    assert_eq!(
        claim(&store, "evt_crash", 1, LONG_LEASE).await,
        Claim::Replay(recorded)
    );

    // an expired claim leaves nothing behind: another input may take it over
    acquire(&store, "evt_crash_other", 1, SHORT_LEASE).await;
    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(100)).await;
    acquire(&store, "evt_crash_other", 2, LONG_LEASE).await;
}

/// Completing the same lease twice is `Ok` and keeps the first outcome; releasing a completed
/// lease is `LeaseLost` and keeps the record.
///
/// ```
/// # use std::time::Duration;
/// # use actionkit_core::store::{MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// conformance::complete_is_idempotent_per_lease(&|r: Duration| async move { MemoryStore::with_retention(r) }).await;
/// # });
/// ```
pub async fn complete_is_idempotent_per_lease(factory: &impl StoreFactory) {
    let store = factory.make(DEFAULT_RETENTION).await;
    let lease = acquire(&store, "evt_twice", 1, LONG_LEASE).await;
    let first = outcome(200, b"first");
    store
        .complete(&lease, &first)
        .await
        .expect("first complete");
    store
        .complete(&lease, &outcome(500, b"second"))
        .await
        .expect("a repeated complete is Ok");
    let err = store
        .release(&lease)
        .await
        .expect_err("release after complete");
    assert!(err.is_lease_lost(), "expected LeaseLost, got {err}");
    assert_eq!(
        claim(&store, "evt_twice", 1, LONG_LEASE).await,
        Claim::Replay(first)
    );
}

/// A record is replayed until its retention (counted from `recorded_at`) passes; then the id is
/// absent, even for a different input.
///
/// ```
/// # use std::time::Duration;
/// # use actionkit_core::store::{MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// conformance::retention_expiry(&|r: Duration| async move { MemoryStore::with_retention(r) }).await;
/// # });
/// ```
pub async fn retention_expiry(factory: &impl StoreFactory) {
    let retention = Duration::from_millis(500);
    let store = factory.make(retention).await;
    let lease = acquire(&store, "evt_retained", 1, LONG_LEASE).await;
    let recorded = outcome(200, b"kept");
    store.complete(&lease, &recorded).await.expect("complete");
    assert_eq!(
        claim(&store, "evt_retained", 1, LONG_LEASE).await,
        Claim::Replay(recorded)
    );
    assert_eq!(
        claim(&store, "evt_retained", 2, LONG_LEASE).await,
        Claim::Conflict
    );
    tokio::time::sleep(retention + Duration::from_millis(100)).await;
    let again = acquire(&store, "evt_retained", 2, LONG_LEASE).await;
    assert_ne!(again.token(), lease.token());

    // retention counts from `recorded_at`, not from the call
    let store = factory.make(DEFAULT_RETENTION).await;
    let lease = acquire(&store, "evt_old", 1, LONG_LEASE).await;
    let eight_days_ago = SystemTime::now() - Duration::from_secs(8 * 24 * 3600);
    store
        .complete(&lease, &outcome_at(200, b"old", eight_days_ago))
        .await
        .expect("complete");
    acquire(&store, "evt_old", 2, LONG_LEASE).await;
}

/// `purge_expired` removes records past retention and claims whose lease expired, counts them,
/// and keeps everything live.
///
/// ```
/// # use std::time::Duration;
/// # use actionkit_core::store::{MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// conformance::purge_removes_expired(&|r: Duration| async move { MemoryStore::with_retention(r) }).await;
/// # });
/// ```
pub async fn purge_removes_expired(factory: &impl StoreFactory) {
    let store = factory.make(DEFAULT_RETENTION).await;
    let old = acquire(&store, "evt_purge_old", 1, LONG_LEASE).await;
    let eight_days_ago = SystemTime::now() - Duration::from_secs(8 * 24 * 3600);
    store
        .complete(&old, &outcome_at(200, b"old", eight_days_ago))
        .await
        .expect("complete old");
    let crashed = acquire(&store, "evt_purge_crashed", 1, SHORT_LEASE).await;
    let fresh = acquire(&store, "evt_purge_fresh", 1, LONG_LEASE).await;
    let fresh_outcome = outcome(200, b"fresh");
    store
        .complete(&fresh, &fresh_outcome)
        .await
        .expect("complete fresh");
    acquire(&store, "evt_purge_running", 1, LONG_LEASE).await;
    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(100)).await;

    assert_eq!(
        store.purge_expired().await.expect("purge"),
        2,
        "the old record and the crashed claim"
    );
    assert_eq!(store.purge_expired().await.expect("purge again"), 0);
    let err = store
        .complete(&crashed, &outcome(200, b"late"))
        .await
        .expect_err("purged claim");
    assert!(err.is_lease_lost(), "expected LeaseLost, got {err}");
    assert_eq!(
        claim(&store, "evt_purge_fresh", 1, LONG_LEASE).await,
        Claim::Replay(fresh_outcome)
    );
    assert!(matches!(
        claim(&store, "evt_purge_running", 1, LONG_LEASE).await,
        Claim::InProgress { .. }
    ));
    acquire(&store, "evt_purge_old", 1, LONG_LEASE).await;
    acquire(&store, "evt_purge_crashed", 1, LONG_LEASE).await;
}

/// Ids are compared exactly: prefixes, case, and non-ASCII ids are different ids.
///
/// ```
/// # use std::time::Duration;
/// # use actionkit_core::store::{MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// conformance::keys_are_independent(&|r: Duration| async move { MemoryStore::with_retention(r) }).await;
/// # });
/// ```
pub async fn keys_are_independent(factory: &impl StoreFactory) {
    let store = factory.make(DEFAULT_RETENTION).await;
    let keys = ["evt", "evt_", "EVT", "evt.1", "évt-ü", &"x".repeat(300)];
    for (i, key) in keys.iter().enumerate() {
        let lease = acquire(&store, key, i as u8, LONG_LEASE).await;
        assert_eq!(lease.key(), *key);
        store
            .complete(&lease, &outcome(200, key.as_bytes()))
            .await
            .expect("complete");
    }
    for (i, key) in keys.iter().enumerate() {
        match claim(&store, key, i as u8, LONG_LEASE).await {
            Claim::Replay(recorded) => assert_eq!(recorded.body, key.as_bytes()),
            other => panic!("`{key}` should replay its own record, got {other:?}"),
        }
    }
}

/// 5 concurrent claims for each of 100 ids on one store: exactly 100 `Acquired`, the rest
/// `InProgress`; once completed, every id replays its own outcome.
///
/// ```
/// # use std::time::Duration;
/// # use actionkit_core::store::{MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// conformance::concurrent_claims(&|r: Duration| async move { MemoryStore::with_retention(r) }).await;
/// # });
/// ```
pub async fn concurrent_claims(factory: &impl StoreFactory) {
    let store: Arc<dyn IdempotencyStore> = Arc::new(factory.make(DEFAULT_RETENTION).await);
    concurrent_claims_on(&[store], 100, 5).await;
}

/// `claims_per_key` concurrent claims for each of `keys` ids, spread round-robin over `stores`
/// (several handles on one shared database, say): each id is acquired exactly once; once
/// completed, every id replays its own outcome through every store.
///
/// ```
/// # use std::sync::Arc;
/// # use actionkit_core::store::{IdempotencyStore, MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store: Arc<dyn IdempotencyStore> = Arc::new(MemoryStore::new());
/// conformance::concurrent_claims_on(&[store.clone(), store], 10, 4).await;
/// # });
/// ```
pub async fn concurrent_claims_on(
    stores: &[Arc<dyn IdempotencyStore>],
    keys: usize,
    claims_per_key: usize,
) {
    assert!(!stores.is_empty() && claims_per_key > 0, "nothing to claim");
    let prefix = format!(
        "evt_race_{}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    );
    let mut tasks = Vec::with_capacity(keys * claims_per_key);
    for round in 0..claims_per_key {
        for k in 0..keys {
            let store = stores[(round + k) % stores.len()].clone();
            let key = format!("{prefix}_{k}");
            tasks.push(tokio::spawn(async move {
                let claim = store.claim(&key, &hash(7), LONG_LEASE).await;
                (key, claim)
            }));
        }
    }
    let mut acquired: HashMap<String, Lease> = HashMap::new();
    let mut in_progress = 0;
    for task in tasks {
        let (key, claim) = task.await.expect("claim task panicked");
        match claim.unwrap_or_else(|e| panic!("claim of `{key}` failed: {e}")) {
            Claim::Acquired(lease) => {
                if let Some(previous) = acquired.insert(key.clone(), lease) {
                    panic!("`{key}` was acquired twice (first {previous:?})");
                }
            }
            Claim::InProgress { .. } => in_progress += 1,
            other => panic!(
                "a concurrent claim of `{key}` should be Acquired or InProgress, got {other:?}"
            ),
        }
    }
    assert_eq!(acquired.len(), keys, "every id acquired exactly once");
    assert_eq!(in_progress, keys * (claims_per_key - 1));

    let mut completions = Vec::new();
    for (i, (key, lease)) in acquired.into_iter().enumerate() {
        let store = stores[i % stores.len()].clone();
        completions.push(tokio::spawn(async move {
            let recorded = outcome(200, key.as_bytes());
            store
                .complete(&lease, &recorded)
                .await
                .map(|()| (key, recorded))
        }));
    }
    let mut recorded = Vec::new();
    for task in completions {
        recorded.push(
            task.await
                .expect("complete task panicked")
                .expect("complete"),
        );
    }
    for store in stores {
        for (key, outcome) in &recorded {
            assert_eq!(
                claim(&**store, key, 7, LONG_LEASE).await,
                Claim::Replay(outcome.clone())
            );
        }
    }
}

/// Runs every `queue_*` case below, one after the other.
///
/// ```
/// use std::time::Duration;
/// use actionkit_core::store::{MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// conformance::queue_run_all(&|retention: Duration| async move { MemoryStore::with_retention(retention) }).await;
/// # });
/// ```
pub async fn queue_run_all<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: CallbackQueue,
{
    queue_enqueue_dedupes(factory).await;
    queue_claims_longest_due_first(factory).await;
    queue_expired_lease_is_reclaimed(factory).await;
    queue_outcome_survives(factory).await;
    queue_retry_later_delays_and_counts(factory).await;
    queue_finish_is_final(factory).await;
    queue_purge_removes_finished(factory).await;
    queue_concurrent_claims(factory).await;
}

/// Claims a due job and expects one (a store error fails the case).
///
/// ```
/// use std::time::Duration;
/// use actionkit_core::store::{CallbackQueue, MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// store.enqueue("job", b"").await.unwrap();
/// let (job, lease) = conformance::claim_job(&store, Duration::from_secs(1)).await;
/// assert_eq!((job.key.as_str(), lease.key()), ("job", "job"));
/// # });
/// ```
pub async fn claim_job(
    store: &(impl CallbackQueue + ?Sized),
    lease: Duration,
) -> (PendingJob, JobLease) {
    match claim_due(store, lease).await {
        Some(claimed) => claimed,
        None => panic!("a job should be due"),
    }
}

/// Claims a due job, if any (a store error fails the case).
///
/// ```
/// use std::time::Duration;
/// use actionkit_core::store::{MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// assert!(conformance::claim_due(&MemoryStore::new(), Duration::from_secs(1)).await.is_none());
/// # });
/// ```
pub async fn claim_due(
    store: &(impl CallbackQueue + ?Sized),
    lease: Duration,
) -> Option<(PendingJob, JobLease)> {
    store
        .claim_due(lease)
        .await
        .unwrap_or_else(|e| panic!("claim_due failed: {e}"))
}

/// Enqueues `key` and answers whether it was added (a store error fails the case).
///
/// ```
/// use actionkit_core::store::{MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// assert!(conformance::enqueue(&MemoryStore::new(), "job", b"payload").await);
/// # });
/// ```
pub async fn enqueue(store: &(impl CallbackQueue + ?Sized), key: &str, payload: &[u8]) -> bool {
    store
        .enqueue(key, payload)
        .await
        .unwrap_or_else(|e| panic!("enqueue of `{key}` failed: {e}"))
}

/// The number of jobs not finished (a store error fails the case).
///
/// ```
/// use actionkit_core::store::{MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// assert_eq!(conformance::pending(&MemoryStore::new()).await, 0);
/// # });
/// ```
pub async fn pending(store: &(impl CallbackQueue + ?Sized)) -> u64 {
    store
        .pending()
        .await
        .unwrap_or_else(|e| panic!("pending failed: {e}"))
}

/// Expects [`StoreError::LeaseLost`].
fn lease_lost(result: Result<(), StoreError>, what: &str) {
    match result {
        Err(StoreError::LeaseLost) => {}
        Err(other) => panic!("{what} should be LeaseLost, got {other}"),
        Ok(()) => panic!("{what} should be LeaseLost, got Ok"),
    }
}

/// `enqueue` adds a job once per key: again, with any payload, it adds nothing and leaves the job
/// as it was; keys are compared exactly; payloads come back byte for byte (empty ones too); an
/// empty queue has nothing due.
///
/// ```
/// # use std::time::Duration;
/// # use actionkit_core::store::{MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// conformance::queue_enqueue_dedupes(&|r: Duration| async move { MemoryStore::with_retention(r) }).await;
/// # });
/// ```
pub async fn queue_enqueue_dedupes<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: CallbackQueue,
{
    let store = factory.make(DEFAULT_RETENTION).await;
    assert!(claim_due(&store, LONG_LEASE).await.is_none(), "empty queue");
    assert_eq!(pending(&store).await, 0);

    let payload = [0, 1, 2, 255, 0, b'{', b'}'];
    let before = SystemTime::now();
    assert!(enqueue(&store, "queue:send_email:msg_1", &payload).await);
    assert!(!enqueue(&store, "queue:send_email:msg_1", b"redelivered").await);
    assert!(!enqueue(&store, "queue:send_email:msg_1", &payload).await);
    assert_eq!(pending(&store).await, 1, "a redelivery adds nothing");

    let (job, lease) = claim_job(&store, LONG_LEASE).await;
    assert_eq!(job.key, "queue:send_email:msg_1");
    assert_eq!(job.payload, payload, "the first payload is kept");
    assert_eq!((job.outcome, job.attempts), (None, 0));
    let slack = Duration::from_secs(5);
    assert!(
        job.created_at > before - slack && job.created_at < before + slack,
        "created_at should be about now: {:?}",
        job.created_at
    );
    // a redelivery while leased changes nothing either
    assert!(!enqueue(&store, "queue:send_email:msg_1", b"again").await);
    assert!(claim_due(&store, LONG_LEASE).await.is_none(), "leased");
    store.finish(&lease, true).await.expect("finish");
    assert!(
        !enqueue(&store, "queue:send_email:msg_1", b"after finish").await,
        "a finished job still holds its key"
    );
    assert_eq!(pending(&store).await, 0);

    let keys = ["job", "job_", "JOB", "job.1", "jöb-ü", &"x".repeat(300)];
    for key in keys {
        assert!(enqueue(&store, key, key.as_bytes()).await, "`{key}`");
    }
    assert!(enqueue(&store, "empty", b"").await);
    assert_eq!(pending(&store).await, keys.len() as u64 + 1);
    let mut seen = Vec::new();
    while let Some((job, _)) = claim_due(&store, LONG_LEASE).await {
        let expected: &[u8] = if job.key == "empty" {
            b""
        } else {
            job.key.as_bytes()
        };
        assert_eq!(job.payload, expected, "`{}` has its own payload", job.key);
        seen.push(job.key);
    }
    seen.sort();
    let mut expected: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    expected.push("empty".into());
    expected.sort();
    assert_eq!(seen, expected, "each job claimed once");
}

/// `claim_due` hands out the job that has been due longest first: enqueued earlier, or given back
/// by `retry_later` with an earlier time.
///
/// ```
/// # use std::time::Duration;
/// # use actionkit_core::store::{MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// conformance::queue_claims_longest_due_first(&|r: Duration| async move { MemoryStore::with_retention(r) }).await;
/// # });
/// ```
pub async fn queue_claims_longest_due_first<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: CallbackQueue,
{
    let store = factory.make(DEFAULT_RETENTION).await;
    for key in ["first", "second", "third"] {
        assert!(enqueue(&store, key, b"").await);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (job, lease) = claim_job(&store, LONG_LEASE).await;
    assert_eq!(job.key, "first");
    // given back: due now, after the two that were due before
    store
        .retry_later(&lease, Duration::ZERO)
        .await
        .expect("retry_later");
    let mut order = Vec::new();
    while let Some((job, _)) = claim_due(&store, LONG_LEASE).await {
        order.push(job.key);
    }
    assert_eq!(order, ["second", "third", "first"]);
}

/// A lease runs for `lease`; while it does the job is not due. Once it expires (a crashed owner)
/// the job is claimed again with a new token, the same payload and no attempt counted; the old
/// token then gets `LeaseLost` from `record_outcome`, `retry_later` and `finish`, which change
/// nothing. An expired lease not yet re-claimed still works.
///
/// ```
/// # use std::time::Duration;
/// # use actionkit_core::store::{MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// conformance::queue_expired_lease_is_reclaimed(&|r: Duration| async move { MemoryStore::with_retention(r) }).await;
/// # });
/// ```
pub async fn queue_expired_lease_is_reclaimed<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: CallbackQueue,
{
    let store = factory.make(DEFAULT_RETENTION).await;
    assert!(enqueue(&store, "job_crash", b"work").await);
    let before = SystemTime::now();
    let (job, crashed) = claim_job(&store, SHORT_LEASE).await;
    assert_eq!(
        (job.key.as_str(), crashed.key()),
        ("job_crash", "job_crash")
    );
    let slack = Duration::from_secs(5);
    assert!(
        crashed.expires_at() > before + SHORT_LEASE - slack
            && crashed.expires_at() < before + SHORT_LEASE + slack,
        "the lease should end about {SHORT_LEASE:?} from now: {crashed:?}"
    );
    assert!(
        claim_due(&store, LONG_LEASE).await.is_none(),
        "a live lease keeps the job"
    );
    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(100)).await;

    let (again, successor) = claim_job(&store, LONG_LEASE).await;
    assert_eq!(again.key, "job_crash");
    assert_eq!(again.payload, b"work");
    assert_eq!(again.attempts, 0, "an expired lease is not an attempt");
    assert_ne!(
        crashed.token(),
        successor.token(),
        "a re-claim gets a new token"
    );
    assert!(claim_due(&store, LONG_LEASE).await.is_none());

    lease_lost(
        store.record_outcome(&crashed, b"late").await,
        "a stale record_outcome",
    );
    lease_lost(
        store.retry_later(&crashed, Duration::ZERO).await,
        "a stale retry_later",
    );
    lease_lost(store.finish(&crashed, true).await, "a stale finish");
    assert!(
        claim_due(&store, LONG_LEASE).await.is_none(),
        "the stale calls left the successor's lease alone"
    );
    assert_eq!(pending(&store).await, 1);
    store
        .record_outcome(&successor, b"successor")
        .await
        .expect("the successor records");
    store
        .retry_later(&successor, Duration::ZERO)
        .await
        .expect("the successor retries");
    let (job, _) = claim_job(&store, LONG_LEASE).await;
    assert_eq!(job.outcome.as_deref(), Some(&b"successor"[..]));
    assert_eq!(job.attempts, 1);

    // expired but not claimed again: the lease still owns the job
    assert!(enqueue(&store, "job_slow", b"").await);
    let (_, slow) = claim_job(&store, SHORT_LEASE).await;
    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(100)).await;
    store
        .record_outcome(&slow, b"slow")
        .await
        .expect("an expired lease not yet re-claimed still records");
    store.finish(&slow, true).await.expect("and still finishes");
    assert!(claim_due(&store, LONG_LEASE).await.is_none());
}

/// `record_outcome` keeps the lease (the job stays leased) and is durable: the next claim, after
/// the lease expired, sees the outcome. The first outcome is kept: recording again, with the same
/// or a later lease, is `Ok` and changes nothing. Outcomes are binary-exact, empty ones too.
///
/// ```
/// # use std::time::Duration;
/// # use actionkit_core::store::{MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// conformance::queue_outcome_survives(&|r: Duration| async move { MemoryStore::with_retention(r) }).await;
/// # });
/// ```
pub async fn queue_outcome_survives<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: CallbackQueue,
{
    let store = factory.make(DEFAULT_RETENTION).await;
    let outcome = [0, 255, b'{', b'}', 0];
    assert!(enqueue(&store, "job_outcome", b"work").await);
    let (job, first) = claim_job(&store, SHORT_LEASE).await;
    assert_eq!(job.outcome, None);
    store
        .record_outcome(&first, &outcome)
        .await
        .expect("record_outcome");
    store
        .record_outcome(&first, b"second try")
        .await
        .expect("recording again is Ok");
    assert!(
        claim_due(&store, LONG_LEASE).await.is_none(),
        "record_outcome keeps the lease"
    );
    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(100)).await;
    let (job, second) = claim_job(&store, LONG_LEASE).await;
    assert_eq!(
        job.outcome.as_deref(),
        Some(&outcome[..]),
        "the first outcome"
    );
    store
        .record_outcome(&second, b"another run")
        .await
        .expect("recording with a later lease is Ok");
    store
        .retry_later(&second, Duration::ZERO)
        .await
        .expect("retry_later");
    let (job, third) = claim_job(&store, LONG_LEASE).await;
    assert_eq!(
        job.outcome.as_deref(),
        Some(&outcome[..]),
        "still the first"
    );
    assert_eq!(job.attempts, 1);
    store.finish(&third, true).await.expect("finish");

    assert!(enqueue(&store, "job_empty_outcome", b"").await);
    let (_, lease) = claim_job(&store, LONG_LEASE).await;
    store.record_outcome(&lease, b"").await.expect("record");
    store
        .retry_later(&lease, Duration::ZERO)
        .await
        .expect("retry_later");
    let (job, _) = claim_job(&store, LONG_LEASE).await;
    assert_eq!(
        job.outcome.as_deref(),
        Some(&b""[..]),
        "an empty outcome is an outcome"
    );
}

/// `retry_later` ends the lease (later calls with it are `LeaseLost`), makes the job due again no
/// earlier than `delay` from now, and counts an attempt; a zero delay makes it due at once.
///
/// ```
/// # use std::time::Duration;
/// # use actionkit_core::store::{MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// conformance::queue_retry_later_delays_and_counts(&|r: Duration| async move { MemoryStore::with_retention(r) }).await;
/// # });
/// ```
pub async fn queue_retry_later_delays_and_counts<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: CallbackQueue,
{
    let store = factory.make(DEFAULT_RETENTION).await;
    assert!(enqueue(&store, "job_retry", b"work").await);
    let (_, lease) = claim_job(&store, LONG_LEASE).await;
    store
        .record_outcome(&lease, b"ran")
        .await
        .expect("record_outcome");
    let delay = Duration::from_millis(500);
    let retried_at = std::time::Instant::now();
    store.retry_later(&lease, delay).await.expect("retry_later");
    lease_lost(
        store.retry_later(&lease, Duration::ZERO).await,
        "retry_later after retry_later",
    );
    lease_lost(store.finish(&lease, true).await, "finish after retry_later");
    lease_lost(
        store.record_outcome(&lease, b"x").await,
        "record_outcome after retry_later",
    );
    assert_eq!(
        pending(&store).await,
        1,
        "a job waiting to retry is pending"
    );

    let mut claimed = None;
    while claimed.is_none() {
        claimed = claim_due(&store, LONG_LEASE).await;
        if claimed.is_none() {
            assert!(
                retried_at.elapsed() < delay + Duration::from_secs(5),
                "the job should be due again soon after {delay:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // elapsed is measured after the claim, so it is at least the delay if the delay was kept
    // (with 20 ms of slack for a database clock that ticks apart from ours)
    assert!(
        retried_at.elapsed() + Duration::from_millis(20) >= delay,
        "claimed again after {:?}, before the {delay:?} delay",
        retried_at.elapsed()
    );
    let (job, lease) = claimed.unwrap();
    assert_eq!(job.attempts, 1);
    assert_eq!(
        job.outcome.as_deref(),
        Some(&b"ran"[..]),
        "the outcome is kept"
    );
    assert_eq!(job.payload, b"work");

    store
        .retry_later(&lease, Duration::ZERO)
        .await
        .expect("retry_later at once");
    let (job, lease) = claim_job(&store, LONG_LEASE).await;
    assert_eq!(job.attempts, 2);
    store
        .retry_later(&lease, Duration::from_secs(3600))
        .await
        .expect("retry_later in an hour");
    assert!(
        claim_due(&store, LONG_LEASE).await.is_none(),
        "not before its time"
    );
    assert_eq!(pending(&store).await, 1);
}

/// `finish` (delivered or not) is final: the job is never claimed again, no longer pending, its
/// key stays taken; finishing again with the same lease is `Ok`; other calls with that lease are
/// `LeaseLost`.
///
/// ```
/// # use std::time::Duration;
/// # use actionkit_core::store::{MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// conformance::queue_finish_is_final(&|r: Duration| async move { MemoryStore::with_retention(r) }).await;
/// # });
/// ```
pub async fn queue_finish_is_final<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: CallbackQueue,
{
    let store = factory.make(DEFAULT_RETENTION).await;
    assert!(enqueue(&store, "job_delivered", b"").await);
    assert!(enqueue(&store, "job_given_up", b"").await);
    assert_eq!(pending(&store).await, 2);

    let (job, delivered) = claim_job(&store, SHORT_LEASE).await;
    assert_eq!(job.key, "job_delivered");
    store.finish(&delivered, true).await.expect("finish");
    assert_eq!(pending(&store).await, 1);
    store
        .finish(&delivered, false)
        .await
        .expect("finishing again with the same lease is Ok");
    lease_lost(
        store.record_outcome(&delivered, b"x").await,
        "record_outcome after finish",
    );
    lease_lost(
        store.retry_later(&delivered, Duration::ZERO).await,
        "retry_later after finish",
    );

    let (job, given_up) = claim_job(&store, SHORT_LEASE).await;
    assert_eq!(job.key, "job_given_up");
    store
        .retry_later(&given_up, Duration::ZERO)
        .await
        .expect("retry_later");
    let (job, given_up) = claim_job(&store, SHORT_LEASE).await;
    assert_eq!((job.key.as_str(), job.attempts), ("job_given_up", 1));
    store
        .finish(&given_up, false)
        .await
        .expect("finish undelivered");
    assert_eq!(pending(&store).await, 0);

    // past every lease, still nothing to claim
    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(100)).await;
    assert!(
        claim_due(&store, LONG_LEASE).await.is_none(),
        "finished jobs stay finished"
    );
    assert!(!enqueue(&store, "job_delivered", b"").await);
    assert!(!enqueue(&store, "job_given_up", b"").await);
    lease_lost(
        store
            .finish(
                &JobLease::new("job_never", [1; 16], SystemTime::now()),
                true,
            )
            .await,
        "finish of an unknown job",
    );
}

/// `purge_expired` removes jobs finished more than the retention ago (counting them), and nothing
/// else: not jobs waiting, leased, or with an expired lease. A purged key can be enqueued again.
///
/// ```
/// # use std::time::Duration;
/// # use actionkit_core::store::{MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// conformance::queue_purge_removes_finished(&|r: Duration| async move { MemoryStore::with_retention(r) }).await;
/// # });
/// ```
pub async fn queue_purge_removes_finished<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: CallbackQueue,
{
    let retention = Duration::from_millis(500);
    let store = factory.make(retention).await;
    for key in ["job_done", "job_crashed", "job_waiting"] {
        assert!(enqueue(&store, key, key.as_bytes()).await);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (job, done) = claim_job(&store, LONG_LEASE).await;
    assert_eq!(job.key, "job_done");
    store.finish(&done, true).await.expect("finish");
    let (job, _crashed) = claim_job(&store, SHORT_LEASE).await;
    assert_eq!(job.key, "job_crashed");
    let purge = || async { store.purge_expired().await.expect("purge") };
    assert_eq!(purge().await, 0, "finished, but within retention");
    assert!(!enqueue(&store, "job_done", b"").await);

    tokio::time::sleep(retention + Duration::from_millis(100)).await;
    assert_eq!(purge().await, 1, "only the finished job");
    assert_eq!(purge().await, 0);
    assert_eq!(pending(&store).await, 2);
    assert!(
        enqueue(&store, "job_done", b"anew").await,
        "a purged key is free"
    );
    let mut left = Vec::new();
    while let Some((job, _)) = claim_due(&store, LONG_LEASE).await {
        left.push((job.key, job.payload));
    }
    left.sort();
    assert_eq!(
        left,
        [
            ("job_crashed".to_string(), b"job_crashed".to_vec()),
            ("job_done".to_string(), b"anew".to_vec()),
            ("job_waiting".to_string(), b"job_waiting".to_vec()),
        ]
    );
}

/// Two concurrent claimers on 50 jobs in one store never get the same job twice; see
/// [`queue_concurrent_claims_on`].
///
/// ```
/// # use std::time::Duration;
/// # use actionkit_core::store::{MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// conformance::queue_concurrent_claims(&|r: Duration| async move { MemoryStore::with_retention(r) }).await;
/// # });
/// ```
pub async fn queue_concurrent_claims<F>(factory: &F)
where
    F: StoreFactory,
    F::Store: CallbackQueue,
{
    let store: Arc<dyn CallbackQueue> = Arc::new(factory.make(DEFAULT_RETENTION).await);
    queue_concurrent_claims_on(&[store.clone(), store], 50).await;
}

/// Enqueues `jobs` jobs through the first store, then runs one claimer per store (several
/// handles on one shared database, say), all at once: each claims due jobs until none is left,
/// finishing each one. Every job is claimed exactly once, and none is left pending. The stores
/// must hold no other due jobs.
///
/// ```
/// # use std::sync::Arc;
/// # use actionkit_core::store::{CallbackQueue, MemoryStore, conformance};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store: Arc<dyn CallbackQueue> = Arc::new(MemoryStore::new());
/// conformance::queue_concurrent_claims_on(&[store.clone(), store], 10).await;
/// # });
/// ```
pub async fn queue_concurrent_claims_on(stores: &[Arc<dyn CallbackQueue>], jobs: usize) {
    assert!(!stores.is_empty(), "nothing to claim with");
    let prefix = format!(
        "job_race_{}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    );
    let before = pending(&*stores[0]).await;
    for n in 0..jobs {
        let key = format!("{prefix}_{n}");
        assert!(enqueue(&*stores[0], &key, key.as_bytes()).await);
    }
    let start = Arc::new(tokio::sync::Barrier::new(stores.len()));
    let claimers: Vec<_> = stores
        .iter()
        .cloned()
        .map(|store| {
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                let mut claimed = Vec::new();
                while let Some((job, lease)) = store.claim_due(LONG_LEASE).await? {
                    assert_eq!(job.payload, job.key.as_bytes(), "the job's own payload");
                    assert_eq!(lease.key(), job.key);
                    store.finish(&lease, true).await?;
                    claimed.push(job.key);
                }
                Ok::<_, StoreError>(claimed)
            })
        })
        .collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (n, claimer) in claimers.into_iter().enumerate() {
        let claimed = claimer
            .await
            .expect("claimer panicked")
            .unwrap_or_else(|e| panic!("claimer {n} failed: {e}"));
        for key in claimed {
            if let Some(other) = seen.insert(key.clone(), n) {
                panic!("`{key}` was claimed by claimers {other} and {n}");
            }
        }
    }
    assert_eq!(seen.len(), jobs, "every job claimed exactly once");
    assert!(seen.keys().all(|key| key.starts_with(&prefix)));
    for store in stores {
        assert_eq!(pending(&**store).await, before, "all {jobs} jobs finished");
    }
}
