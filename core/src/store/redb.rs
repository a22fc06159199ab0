//! [`RedbStore`]: the embedded durable file store, on [redb](https://docs.rs/redb), with a
//! journal beside it.
//!
//! One [writer thread](writer) owns the database. Calls send their operation over a channel and
//! wait for the answer; the writer takes every operation queued so far, applies them in order
//! inside one write transaction and commits it without `fsync` (a batch that changed nothing is
//! aborted). Claims, releases and purges are answered at once: a crash frees such ids, exactly
//! as an expired lease would. The changes of a batch of outcomes and queue operations are
//! appended to the [journal] (a preallocated file, `<path>-journal`) by the [sync
//! thread](syncer), which makes each group of records durable with one `fdatasync` and only then
//! answers their callers (group commit, with a window that adapts to the ids in flight). Now and
//! then a [checkpoint] commits the database durably and starts the journal over; opening the
//! store replays the records a crash kept out of the database.
//!
//! The [`CallbackQueue`] lives in two more tables of the same file (see [`queue`]), written by
//! the same thread in the same commits and journaled the same way.

mod changes;
mod checkpoint;
mod journal;
mod queue;
mod syncer;
mod writer;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::redb::{Database, TableDefinition};
use async_trait::async_trait;
use tokio::sync::oneshot;

use self::journal::Journal;
use self::writer::{Done, Op, Request, Settings, Writer, unexpected};
#[cfg(doc)]
use super::CallbackQueue;
use super::record::{self, Entry, State};
use super::{Claim, DEFAULT_RETENTION, IdempotencyStore, InputHash, Lease, Recorded, StoreError};

/// id → encoded [`Entry`] (see [`encode`]).
const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("actionkit_idempotency_v1");

/// The most operations one write transaction applies.
const DEFAULT_MAX_BATCH: usize = 1024;
/// The journal's size: 512 KiB, some thousands of small outcomes between two checkpoints.
const DEFAULT_JOURNAL_CAPACITY: u64 = 512 * 1024;
/// The smallest journal the builder accepts.
const MIN_JOURNAL_CAPACITY: u64 = 64 * 1024;

/// A durable [`IdempotencyStore`] and [`CallbackQueue`] in one redb file and its journal:
/// survives restarts and `kill -9` (an outcome whose [`complete`](IdempotencyStore::complete)
/// returned `Ok`, or a job whose [`enqueue`](CallbackQueue::enqueue) or
/// [`record_outcome`](CallbackQueue::record_outcome) did, is on disk), and makes the outcomes of
/// concurrent callers durable together, one `fdatasync` of the journal for each group.
///
/// The journal is a file beside the database, named after it with `-journal` appended
/// ([`journal_path`](RedbStore::journal_path)), of a fixed size (512 KiB unless
/// [`journal_capacity`](RedbStoreBuilder::journal_capacity) says otherwise) written in full when
/// it is created: a disk too full for it fails the open, never a write later. Keep the two files
/// together; the journal holds outcomes the database may not have on disk yet, until the next
/// checkpoint (when the journal fills, after a second with nothing to do, and on drop).
/// Claims are not journaled: after a crash, the ids that were running are free again, as if
/// their leases had expired.
///
/// One process at a time may open a file; a second [`RedbStore`] on the same file (in this
/// process or another) fails with [`StoreError::Unavailable`]. Dropping the store waits for the
/// writer thread to finish its current batch and closes the file.
///
/// After an I/O error (a full disk, a failing device) redb refuses every write on the handle
/// that saw it; this store then answers what needs no write from a read of the file (replays of
/// completed ids, conflicts, in-progress ids), refuses the rest with
/// [`StoreError::Unavailable`] (the runtime answers `503` with `Retry-After`), and reopens the
/// file with a doubling wait (100 ms to 5 s) until writes go through again, logging the outage
/// once when it starts and once when it ends. A committed record is never lost. Reopening
/// replays the journal into the file and checkpoints, so it needs free space for up to the
/// journal's size; the journal itself, written in full at creation, never needs more.
///
/// ```no_run
/// use std::time::Duration;
/// use actionkit_core::store::{Claim, IdempotencyStore, InputHash, RedbStore};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = RedbStore::open("/var/lib/my-action/idempotency.redb")?;
/// let claim = store.claim("evt_1", &InputHash([1; 32]), Duration::from_secs(30)).await?;
/// # let _ = claim;
/// # Ok::<(), actionkit_core::store::StoreError>(())
/// # }).unwrap();
/// ```
pub struct RedbStore {
    path: PathBuf,
    sender: Option<mpsc::Sender<Request>>,
    writer: Option<JoinHandle<()>>,
    stats: Arc<Counters>,
}

/// Configures and opens a [`RedbStore`]; from [`RedbStore::builder`].
///
/// ```no_run
/// use std::time::Duration;
/// use actionkit_core::store::RedbStore;
/// let store = RedbStore::builder("data/idempotency.redb")
///     .retention(Duration::from_secs(24 * 3600))
///     .open()?;
/// # Ok::<(), actionkit_core::store::StoreError>(())
/// ```
#[derive(Clone, Debug)]
pub struct RedbStoreBuilder {
    path: PathBuf,
    retention: Duration,
    max_batch: usize,
    journal_capacity: u64,
}

/// Counters of the writer thread, to see group commit at work (and for benchmarks).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("actionkit-doc-stats-{}", std::process::id()));
/// let store = actionkit_core::store::RedbStore::open(dir.join("store.redb"))?;
/// let stats = store.stats();
/// assert_eq!((stats.commits, stats.ops), (0, 0));
/// assert_eq!(stats.checkpoints, 1, "opening checkpoints");
/// # drop(store); std::fs::remove_dir_all(dir)?;
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RedbStats {
    /// Write transactions committed for batches of operations (all without `fsync`).
    pub commits: u64,
    /// Durable writes, each one `fsync`: the journal's group writes plus the checkpoints.
    pub durable_commits: u64,
    /// Of those, the journal's: each one write and one `fdatasync` for a group of outcomes and
    /// queue changes.
    pub journal_writes: u64,
    /// Time the journal's group writes took, write and `fdatasync` (the sync thread's wait on
    /// the disk), summed over [`journal_writes`](Self::journal_writes).
    pub journal_write_time: Duration,
    /// Of the durable writes, the checkpoints: durable commits of the database itself (at open, when the
    /// journal fills, when idle, on drop, and after an I/O error).
    pub checkpoints: u64,
    /// Operations applied, committed or not.
    pub ops: u64,
    /// Journal records replayed into the database when the store opened (outcomes acknowledged
    /// after the last checkpoint of a process that did not close the store).
    pub replayed_records: u64,
}

#[derive(Default)]
struct Counters {
    commits: AtomicU64,
    durable_commits: AtomicU64,
    journal_writes: AtomicU64,
    journal_write_micros: AtomicU64,
    checkpoints: AtomicU64,
    ops: AtomicU64,
    replayed_records: AtomicU64,
}

impl RedbStore {
    /// Opens (or creates, with its parent directories) the store at `path` with the default
    /// settings.
    ///
    /// ```no_run
    /// let store = actionkit_core::store::RedbStore::open("data/idempotency.redb")?;
    /// # Ok::<(), actionkit_core::store::StoreError>(())
    /// ```
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, StoreError> {
        Self::builder(path).open()
    }

    /// Starts configuring a store at `path`.
    ///
    /// ```
    /// let builder = actionkit_core::store::RedbStore::builder("data/idempotency.redb");
    /// # let _ = builder;
    /// ```
    pub fn builder(path: impl Into<PathBuf>) -> RedbStoreBuilder {
        RedbStoreBuilder {
            path: path.into(),
            retention: DEFAULT_RETENTION,
            max_batch: DEFAULT_MAX_BATCH,
            journal_capacity: DEFAULT_JOURNAL_CAPACITY,
        }
    }

    /// Where the journal of a store at `path` lives: beside it, `-journal` appended to its name.
    ///
    /// ```
    /// use std::path::Path;
    /// use actionkit_core::store::RedbStore;
    /// assert_eq!(
    ///     RedbStore::journal_path(Path::new("data/idempotency.redb")),
    ///     Path::new("data/idempotency.redb-journal")
    /// );
    /// ```
    pub fn journal_path(path: &Path) -> PathBuf {
        let mut name = path.as_os_str().to_owned();
        name.push("-journal");
        PathBuf::from(name)
    }

    /// The file this store lives in.
    ///
    /// ```no_run
    /// let store = actionkit_core::store::RedbStore::open("data/idempotency.redb")?;
    /// assert!(store.path().ends_with("idempotency.redb"));
    /// # Ok::<(), actionkit_core::store::StoreError>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the writer thread has done so far.
    ///
    /// ```no_run
    /// let store = actionkit_core::store::RedbStore::open("data/idempotency.redb")?;
    /// println!("{} ops in {} commits", store.stats().ops, store.stats().commits);
    /// # Ok::<(), actionkit_core::store::StoreError>(())
    /// ```
    pub fn stats(&self) -> RedbStats {
        RedbStats {
            commits: self.stats.commits.load(Ordering::Relaxed),
            durable_commits: self.stats.durable_commits.load(Ordering::Relaxed),
            journal_writes: self.stats.journal_writes.load(Ordering::Relaxed),
            journal_write_time: Duration::from_micros(
                self.stats.journal_write_micros.load(Ordering::Relaxed),
            ),
            checkpoints: self.stats.checkpoints.load(Ordering::Relaxed),
            ops: self.stats.ops.load(Ordering::Relaxed),
            replayed_records: self.stats.replayed_records.load(Ordering::Relaxed),
        }
    }

    async fn send(&self, op: Op) -> Result<Done, StoreError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::unavailable("redb writer", "the writer thread has stopped");
        self.sender
            .as_ref()
            .ok_or_else(stopped)?
            .send(Request { op, reply })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// [`send`](Self::send) for an operation that answers nothing.
    async fn send_unit(&self, op: Op) -> Result<(), StoreError> {
        match self.send(op).await? {
            Done::Unit => Ok(()),
            other => Err(unexpected(other)),
        }
    }
}

impl RedbStoreBuilder {
    /// How long completed records are replayed, and finished jobs kept (default
    /// [`DEFAULT_RETENTION`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = actionkit_core::store::RedbStore::builder("x.redb").retention(Duration::from_secs(60));
    /// # let _ = builder;
    /// ```
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// The most operations one commit applies (default 1024, at least 1).
    ///
    /// ```
    /// let builder = actionkit_core::store::RedbStore::builder("x.redb").max_batch(64);
    /// # let _ = builder;
    /// ```
    pub fn max_batch(mut self, max_batch: usize) -> Self {
        self.max_batch = max_batch.max(1);
        self
    }

    /// The journal's size in bytes (default 512 KiB, at least 64 KiB), written in full when the
    /// journal is created. A larger journal means fewer checkpoints under load and a longer
    /// replay after a crash; a group of outcomes larger than the journal is made durable by a
    /// checkpoint instead. An existing larger journal keeps its size.
    ///
    /// ```
    /// let builder = actionkit_core::store::RedbStore::builder("x.redb").journal_capacity(4 << 20);
    /// # let _ = builder;
    /// ```
    pub fn journal_capacity(mut self, bytes: u64) -> Self {
        self.journal_capacity = bytes.max(MIN_JOURNAL_CAPACITY);
        self
    }

    /// Creates the parent directories, opens or creates the file and its journal, replays the
    /// journal (outcomes a crash kept out of the database), checkpoints, and starts the writer
    /// and sync threads. Blocking I/O: call it at start-up. Fails with
    /// [`StoreError::Unavailable`] when the file cannot be opened (including when another store
    /// holds it), or the journal cannot be written in full (a full disk; files this open
    /// created are removed again, so a later open starts clean).
    ///
    /// ```no_run
    /// let store = actionkit_core::store::RedbStore::builder("data/idempotency.redb").open()?;
    /// # Ok::<(), actionkit_core::store::StoreError>(())
    /// ```
    pub fn open(self) -> Result<RedbStore, StoreError> {
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::unavailable("creating the redb store's directory", e))?;
        }
        // Files this open creates are removed again if it fails (a full disk): a half-written
        // new database would not open later, once there is room.
        let journal_path = RedbStore::journal_path(&self.path);
        let fresh = [&self.path, &journal_path].map(|path| !path.exists());
        let opened = (|| {
            let journal = Journal::open(&journal_path, self.journal_capacity).map_err(|e| {
                StoreError::unavailable("preallocating the redb store's journal", e)
            })?;
            let db = Database::create(&self.path)
                .map_err(|e| StoreError::unavailable("opening the redb store", e))?;
            let (generation, replayed) = checkpoint::recover(&db, &journal)
                .map_err(|e| StoreError::unavailable("replaying the redb store's journal", e))?;
            Ok((db, journal, generation, replayed))
        })();
        let (db, journal, generation, replayed) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                for (path, fresh) in [&self.path, &journal_path].into_iter().zip(fresh) {
                    if fresh {
                        let _ = std::fs::remove_file(path);
                    }
                }
                return Err(e);
            }
        };
        if replayed > 0 {
            tracing::info!(path = %self.path.display(), records = replayed, "the redb store replayed its journal");
        }

        let (sender, receiver) = mpsc::channel();
        let stats = Arc::new(Counters::default());
        stats
            .replayed_records
            .store(replayed as u64, Ordering::Relaxed);
        // the recovery was a checkpoint
        stats.checkpoints.store(1, Ordering::Relaxed);
        stats.durable_commits.store(1, Ordering::Relaxed);
        let settings = Settings {
            path: self.path.clone(),
            retention: self.retention,
            max_batch: self.max_batch,
        };
        let writer = Writer::new(db, journal, generation, settings, receiver, stats.clone())
            .map_err(|e| StoreError::unavailable("starting the redb sync thread", e))?;
        let writer = std::thread::Builder::new()
            .name("actionkit-redb-writer".into())
            .spawn(move || writer.run())
            .map_err(|e| StoreError::unavailable("starting the redb writer thread", e))?;
        Ok(RedbStore {
            path: self.path,
            sender: Some(sender),
            writer: Some(writer),
            stats,
        })
    }
}

impl fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.path)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Drop for RedbStore {
    fn drop(&mut self) {
        // Closing the channel stops the writer once it has answered what is queued; joining it
        // closes the file, so the same path can be opened again right away.
        drop(self.sender.take());
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

#[async_trait]
impl IdempotencyStore for RedbStore {
    async fn claim(
        &self,
        key: &str,
        input: &InputHash,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        match self
            .send(Op::Claim {
                key: key.to_owned(),
                input: *input,
                lease,
            })
            .await?
        {
            Done::Claim(claim) => Ok(claim),
            other => Err(unexpected(other)),
        }
    }

    async fn complete(&self, lease: &Lease, outcome: &Recorded) -> Result<(), StoreError> {
        match self
            .send(Op::Complete {
                lease: lease.clone(),
                outcome: outcome.clone(),
            })
            .await?
        {
            Done::Unit => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        match self
            .send(Op::Release {
                lease: lease.clone(),
            })
            .await?
        {
            Done::Unit => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    async fn purge_expired(&self) -> Result<u64, StoreError> {
        match self.send(Op::Purge).await? {
            Done::Count(n) => Ok(n),
            other => Err(unexpected(other)),
        }
    }

    /// Through the writer thread: a write transaction that opens the tables and is aborted.
    async fn ping(&self) -> Result<(), StoreError> {
        self.send_unit(Op::Ping).await
    }
}

const VERSION: u8 = 1;
const RUNNING: u8 = 0;
const DONE: u8 = 1;

fn encode(entry: &Entry) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(VERSION);
    out.extend_from_slice(&entry.input.0);
    out.extend_from_slice(&entry.token);
    match &entry.state {
        State::Running { expires_at } => {
            out.push(RUNNING);
            put_time(&mut out, *expires_at);
        }
        State::Done(recorded) => {
            out.reserve(recorded.body.len());
            out.push(DONE);
            out.extend_from_slice(&recorded.status.to_be_bytes());
            put_time(&mut out, recorded.recorded_at);
            out.extend_from_slice(&recorded.body);
        }
    }
    out
}

fn put_time(out: &mut Vec<u8>, at: SystemTime) {
    // Times before the epoch do not occur in practice; they are stored as the epoch.
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    out.extend_from_slice(&since.as_secs().to_be_bytes());
    out.extend_from_slice(&since.subsec_nanos().to_be_bytes());
}

fn decode(bytes: &[u8]) -> Result<Entry, StoreError> {
    let corrupt = |what: &str| {
        StoreError::unavailable("reading a redb record", format!("corrupt record: {what}"))
    };
    let take = |at: usize, len: usize| bytes.get(at..at + len).ok_or_else(|| corrupt("too short"));
    if bytes.first() != Some(&VERSION) {
        return Err(corrupt("unknown version"));
    }
    let input = InputHash(take(1, 32)?.try_into().map_err(|_| corrupt("hash"))?);
    let token: [u8; 16] = take(33, 16)?.try_into().map_err(|_| corrupt("token"))?;
    let time = |at: usize| -> Result<SystemTime, StoreError> {
        let secs = u64::from_be_bytes(take(at, 8)?.try_into().map_err(|_| corrupt("time"))?);
        let nanos = u32::from_be_bytes(take(at + 8, 4)?.try_into().map_err(|_| corrupt("time"))?);
        if nanos >= 1_000_000_000 {
            return Err(corrupt("time"));
        }
        UNIX_EPOCH
            .checked_add(Duration::new(secs, nanos))
            .ok_or_else(|| corrupt("time"))
    };
    let state = match *take(49, 1)?.first().ok_or_else(|| corrupt("state"))? {
        RUNNING => State::Running {
            expires_at: time(50)?,
        },
        DONE => State::Done(Recorded {
            status: u16::from_be_bytes(take(50, 2)?.try_into().map_err(|_| corrupt("status"))?),
            recorded_at: time(52)?,
            body: bytes
                .get(64..)
                .ok_or_else(|| corrupt("too short"))?
                .to_vec()
                .into(),
        }),
        _ => return Err(corrupt("unknown state")),
    };
    Ok(Entry {
        input,
        token,
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Claim, IdempotencyStore};

    fn recorded(body: &'static [u8]) -> Recorded {
        Recorded {
            status: 200,
            body: body.into(),
            recorded_at: SystemTime::now(),
        }
    }

    async fn acquire(store: &RedbStore, key: &str) -> crate::store::Lease {
        match store
            .claim(key, &InputHash([7; 32]), Duration::from_secs(30))
            .await
            .unwrap()
        {
            Claim::Acquired(lease) => lease,
            other => panic!("`{key}` should be free, got {other:?}"),
        }
    }

    /// A fresh directory for one test, and the store's path in it.
    fn fresh(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "actionkit-{name}-{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let path = dir.join("store.redb");
        (dir, path)
    }

    /// A journal whose `fdatasync` fails: the outcome is refused (the runtime keeps it and
    /// records it later), completed ids keep replaying, new ids are refused until the store
    /// recovers, and once the disk syncs again it takes outcomes again; reopened, it holds
    /// every acknowledged outcome.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_journal_that_cannot_sync_refuses_outcomes_and_keeps_replaying() {
        let (dir, path) = fresh("journal-fault");
        let store = RedbStore::open(&path).unwrap();
        let journal = RedbStore::journal_path(&path);
        let lease = acquire(&store, "evt_kept").await;
        store.complete(&lease, &recorded(b"kept")).await.unwrap();

        journal::faults::FAILING.set(&journal, true);
        let lease = acquire(&store, "evt_refused").await;
        let refused = store.complete(&lease, &recorded(b"lost")).await;
        assert!(
            refused.as_ref().is_err_and(StoreError::is_unavailable),
            "{refused:?}"
        );
        match store
            .claim("evt_kept", &InputHash([7; 32]), Duration::from_secs(30))
            .await
            .unwrap()
        {
            Claim::Replay(outcome) => assert_eq!(&outcome.body[..], b"kept"),
            other => panic!("a completed id replays while the journal fails, not {other:?}"),
        }

        journal::faults::FAILING.set(&journal, false);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        // New ids are refused (503, retried by the platform) until the store has recovered.
        let mut acknowledged = String::new();
        for attempt in 0.. {
            acknowledged = format!("evt_after_{attempt}");
            let claimed = store
                .claim(&acknowledged, &InputHash([7; 32]), Duration::from_secs(30))
                .await;
            match claimed {
                Ok(Claim::Acquired(lease)) => {
                    if store.complete(&lease, &recorded(b"after")).await.is_ok() {
                        break;
                    }
                }
                Err(e) => assert!(e.is_unavailable(), "{e}"),
                Ok(other) => panic!("a fresh id is free or refused, not {other:?}"),
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the store takes outcomes again once the journal syncs"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        drop(store);
        let store = RedbStore::open(&path).unwrap();
        for key in ["evt_kept", acknowledged.as_str()] {
            let claim = store
                .claim(key, &InputHash([7; 32]), Duration::from_secs(30))
                .await
                .unwrap();
            assert!(matches!(claim, Claim::Replay(_)), "`{key}`: {claim:?}");
        }
        let after = store
            .claim("evt_refused", &InputHash([7; 32]), Duration::from_secs(30))
            .await
            .unwrap();
        // A refused outcome may still have reached the file (the checkpoint at close commits
        // what redb holds): then it is the outcome the handler really produced, which is what a
        // redelivery should get. What must never happen is an acknowledged outcome going missing.
        if let Claim::Replay(outcome) = &after {
            assert_eq!(&outcome.body[..], b"lost");
        }
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A claim that reads an outcome whose journal record is written but not yet synced, and
    /// the outcome's own call, both wait for the sync: while `fdatasync` is stalled, `complete`
    /// and the redelivery's `claim` stay unanswered.
    async fn stall_an_outcome_and_claim_it(name: &str) -> Stalled {
        let (dir, path) = fresh(name);
        let journal = RedbStore::journal_path(&path);
        let store = Arc::new(RedbStore::open(&path).unwrap());
        let lease = acquire(&store, "evt_deferred").await;
        journal::faults::STALLED.set(&journal, true);
        let completing = tokio::spawn({
            let store = Arc::clone(&store);
            async move { store.complete(&lease, &recorded(b"deferred")).await }
        });
        // The writer applies the outcome to the file and hands its record to the stalled sync.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let claiming = tokio::spawn({
            let store = Arc::clone(&store);
            async move {
                store
                    .claim("evt_deferred", &InputHash([7; 32]), Duration::from_secs(30))
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (completed, claimed) = (completing.is_finished(), claiming.is_finished());
        if completed || claimed {
            // let the sync go, so the store can close while the test fails
            journal::faults::STALLED.set(&journal, false);
        }
        assert!(!completed, "an outcome is acknowledged only once durable");
        assert!(
            !claimed,
            "a claim that read a not-yet-durable outcome waits for its sync"
        );
        Stalled {
            dir,
            journal,
            store,
            completing,
            claiming,
        }
    }

    /// A store whose journal sync is stalled, with an outcome and a claim of it waiting.
    struct Stalled {
        dir: std::path::PathBuf,
        journal: std::path::PathBuf,
        store: Arc<RedbStore>,
        completing: tokio::task::JoinHandle<Result<(), StoreError>>,
        claiming: tokio::task::JoinHandle<Result<Claim, StoreError>>,
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_claim_of_an_outcome_not_yet_durable_is_answered_after_its_sync() {
        let stalled = stall_an_outcome_and_claim_it("journal-deferred").await;
        let journal = &stalled.journal;
        journal::faults::STALLED.set(journal, false);
        stalled.completing.await.unwrap().unwrap();
        match stalled.claiming.await.unwrap().unwrap() {
            Claim::Replay(outcome) => assert_eq!(&outcome.body[..], b"deferred"),
            other => panic!("the redelivery replays the durable outcome, not {other:?}"),
        }
        drop(stalled.store);
        let _ = std::fs::remove_dir_all(&stalled.dir);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_claim_of_an_outcome_whose_sync_fails_is_refused_not_replayed() {
        let stalled = stall_an_outcome_and_claim_it("journal-deferred-fails").await;
        let journal = &stalled.journal;
        journal::faults::FAILING.set(journal, true);
        journal::faults::STALLED.set(journal, false);
        let completed = stalled.completing.await.unwrap();
        assert!(
            completed.as_ref().is_err_and(StoreError::is_unavailable),
            "{completed:?}"
        );
        let claimed = stalled.claiming.await.unwrap();
        assert!(
            claimed.as_ref().is_err_and(StoreError::is_unavailable),
            "a redelivery must not replay an outcome that never became durable: {claimed:?}"
        );
        journal::faults::FAILING.set(journal, false);
        drop(stalled.store);
        let _ = std::fs::remove_dir_all(&stalled.dir);
    }

    #[test]
    fn store_redb_records_round_trip() {
        let at = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        let running = Entry {
            input: InputHash([1; 32]),
            token: [2; 16],
            state: State::Running { expires_at: at },
        };
        assert_eq!(decode(&encode(&running)).unwrap(), running);
        let done = Entry {
            input: InputHash([3; 32]),
            token: [4; 16],
            state: State::Done(Recorded {
                status: 65535,
                body: vec![0, 1, 2, 255].into(),
                recorded_at: at,
            }),
        };
        assert_eq!(decode(&encode(&done)).unwrap(), done);
        let empty = Entry {
            state: State::Done(Recorded {
                status: 204,
                body: Default::default(),
                recorded_at: at,
            }),
            ..done.clone()
        };
        assert_eq!(decode(&encode(&empty)).unwrap(), empty);
        for bad in [
            &[][..],
            &[2],
            &encode(&done)[..60],
            &[&encode(&running)[..49], &[9][..], &[0; 12]].concat(),
        ] {
            assert!(decode(bad).unwrap_err().is_unavailable());
        }
    }
}
