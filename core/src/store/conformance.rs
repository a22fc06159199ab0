//! The conformance suite every [`IdempotencyStore`] must pass, written once and run against each
//! store by its tests (and usable by stores outside this crate).
//!
//! Each case takes a [`StoreFactory`] — any `Fn(Duration) -> impl Future<Output = impl
//! IdempotencyStore>`, given the retention the case needs — and panics on the first broken rule.
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

use super::{Claim, DEFAULT_RETENTION, IdempotencyStore, InputHash, Lease, Recorded};

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
        body: body.to_vec(),
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
