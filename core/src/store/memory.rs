//! [`MemoryStore`]: a map behind a mutex, for tests and single-process experiments.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::record::{self, Entry};
use super::{Claim, DEFAULT_RETENTION, IdempotencyStore, InputHash, Lease, Recorded, StoreError};

/// An in-memory [`IdempotencyStore`]: cheap, exact, and forgotten when the process ends.
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
    entries: Mutex<HashMap<String, Entry>>,
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

    /// An empty store keeping completed records for `retention`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let store = actionkit_core::store::MemoryStore::with_retention(Duration::from_secs(3600));
    /// assert_eq!(store.retention(), Duration::from_secs(3600));
    /// ```
    pub fn with_retention(retention: Duration) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
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

    /// How many ids the store holds, counting expired ones not yet purged.
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

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock cannot leave a half-written entry (every write is one
        // `insert`/`remove`), so a poisoned map is still consistent.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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
        if let Some(answer) = record::classify(entries.get(key), input, now, self.retention) {
            return Ok(answer);
        }
        let (entry, lease) = Entry::running(key, *input, now, lease)?;
        entries.insert(key.to_owned(), entry);
        Ok(Claim::Acquired(lease))
    }

    async fn complete(&self, lease: &Lease, outcome: &Recorded) -> Result<(), StoreError> {
        let mut entries = self.lock();
        if let Some(done) = record::complete(entries.get(lease.key()), lease, outcome)? {
            entries.insert(lease.key().to_owned(), done);
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
        Ok((before - entries.len()) as u64)
    }
}
