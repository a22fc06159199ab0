//! [`MemoryStore`]: a map behind a mutex, for tests and single-process experiments.

use std::collections::HashMap;
use std::collections::hash_map::Entry as MapEntry;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::job::{self, Job};
use super::record::{self, Entry};
use super::{
    CallbackQueue, Claim, DEFAULT_RETENTION, IdempotencyStore, InputHash, JobLease, Lease,
    PendingJob, Recorded, StoreError,
};

/// An in-memory [`IdempotencyStore`] and [`CallbackQueue`]: cheap, exact, and forgotten when the
/// process ends.
///
/// ```
/// use std::time::Duration;
/// use actionkit_core::store::{Claim, IdempotencyStore, InputHash, MemoryStore};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let claim = store.claim("evt_1", &InputHash([1; 32]), Duration::from_secs(30)).await?;
/// assert!(matches!(claim, Claim::Acquired(_)));
/// assert_eq!(store.len(), 1);
/// # Ok::<(), actionkit_core::store::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct MemoryStore {
    // Keys are shared with the leases that own them: one copy of each key per claim.
    entries: Mutex<HashMap<Arc<str>, Entry>>,
    jobs: Mutex<HashMap<String, Job>>,
    retention: Duration,
}

impl MemoryStore {
    /// An empty store keeping records for [`DEFAULT_RETENTION`].
    ///
    /// ```
    /// let store = actionkit_core::store::MemoryStore::new();
    /// assert!(store.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::with_retention(DEFAULT_RETENTION)
    }

    /// An empty store keeping completed records (and finished jobs) for `retention`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let store = actionkit_core::store::MemoryStore::with_retention(Duration::from_secs(3600));
    /// assert_eq!(store.retention(), Duration::from_secs(3600));
    /// ```
    pub fn with_retention(retention: Duration) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            jobs: Mutex::new(HashMap::new()),
            retention,
        }
    }

    /// How long completed records are replayed.
    ///
    /// ```
    /// use actionkit_core::store::{DEFAULT_RETENTION, MemoryStore};
    /// assert_eq!(MemoryStore::new().retention(), DEFAULT_RETENTION);
    /// ```
    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// How many ids the store holds, counting expired ones not yet purged (queue jobs not
    /// included).
    ///
    /// ```
    /// assert_eq!(actionkit_core::store::MemoryStore::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the store holds no ids at all.
    ///
    /// ```
    /// assert!(actionkit_core::store::MemoryStore::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Arc<str>, Entry>> {
        // A panic while holding the lock cannot leave a half-written entry (every write is one
        // `insert`/`remove`), so a poisoned map is still consistent.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_jobs(&self) -> MutexGuard<'_, HashMap<String, Job>> {
        // Job updates validate first and then assign whole fields without panicking, so a
        // poisoned map is still consistent.
        self.jobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies `change` to the job `lease` names, or fails with `LeaseLost` when there is none.
    fn with_job<T>(
        &self,
        lease: &JobLease,
        change: impl FnOnce(&mut Job) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut jobs = self.lock_jobs();
        let job = jobs.get_mut(lease.key()).ok_or(StoreError::LeaseLost)?;
        change(job)
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl IdempotencyStore for MemoryStore {
    async fn claim(
        &self,
        key: &str,
        input: &InputHash,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        let now = SystemTime::now();
        let mut entries = self.lock();
        // One hash and probe: most claims are of fresh ids, which need the key anyway.
        match entries.entry(Arc::from(key)) {
            MapEntry::Occupied(mut slot) => {
                if let Some(answer) = record::classify(Some(slot.get()), input, now, self.retention)
                {
                    return Ok(answer);
                }
                let (entry, lease) = Entry::running(slot.key().clone(), *input, now, lease)?;
                slot.insert(entry);
                Ok(Claim::Acquired(lease))
            }
            MapEntry::Vacant(slot) => {
                let (entry, lease) = Entry::running(slot.key().clone(), *input, now, lease)?;
                slot.insert(entry);
                Ok(Claim::Acquired(lease))
            }
        }
    }

    async fn complete(&self, lease: &Lease, outcome: &Recorded) -> Result<(), StoreError> {
        let mut entries = self.lock();
        let entry = entries.get_mut(lease.key());
        if let Some(done) = record::complete(entry.as_deref(), lease, outcome)? {
            // In place: the key is already in the map.
            *entry.expect("`complete` answers a record only for an existing entry") = done;
        }
        Ok(())
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        let mut entries = self.lock();
        record::release(entries.get(lease.key()), lease)?;
        entries.remove(lease.key());
        Ok(())
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        let now = SystemTime::now();
        let mut entries = self.lock();
        let before = entries.len();
        entries.retain(|_, entry| entry.is_live(now, self.retention));
        let mut removed = before - entries.len();
        drop(entries);
        let mut jobs = self.lock_jobs();
        let before = jobs.len();
        jobs.retain(|_, job| !job.is_purgeable(now, self.retention));
        removed += before - jobs.len();
        Ok(removed as u64)
    }
}

#[async_trait]
impl CallbackQueue for MemoryStore {
    async fn enqueue(&self, key: &str, payload: &[u8]) -> Result<bool, StoreError> {
        let mut jobs = self.lock_jobs();
        if jobs.contains_key(key) {
            return Ok(false);
        }
        jobs.insert(key.to_owned(), Job::new(payload, SystemTime::now()));
        Ok(true)
    }

    async fn claim_due(
        &self,
        lease: Duration,
    ) -> Result<Option<(PendingJob, JobLease)>, StoreError> {
        let now = SystemTime::now();
        let mut jobs = self.lock_jobs();
        // A linear scan: this store is for tests and small experiments.
        let Some(key) =
            job::next_due(jobs.iter().map(|(k, j)| (k.as_str(), j)), now).map(str::to_owned)
        else {
            return Ok(None);
        };
        match jobs.get_mut(&key) {
            Some(job) => job.claim(&key, now, lease).map(Some),
            None => Ok(None),
        }
    }

    async fn record_outcome(&self, lease: &JobLease, outcome: &[u8]) -> Result<(), StoreError> {
        self.with_job(lease, |job| job.record_outcome(lease, outcome).map(drop))
    }

    async fn retry_later(&self, lease: &JobLease, delay: Duration) -> Result<(), StoreError> {
        let now = SystemTime::now();
        self.with_job(lease, |job| job.retry_later(lease, now, delay))
    }

    async fn finish(&self, lease: &JobLease, delivered: bool) -> Result<(), StoreError> {
        let now = SystemTime::now();
        self.with_job(lease, |job| job.finish(lease, now, delivered).map(drop))
    }

    async fn pending(&self) -> Result<u64, StoreError> {
        Ok(self.lock_jobs().values().filter(|j| j.is_pending()).count() as u64)
    }
}
