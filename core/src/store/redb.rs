//! [`RedbStore`]: the embedded durable file store, on [redb](https://docs.rs/redb).
//!
//! One writer thread owns the database. Calls send their operation over a channel and wait for
//! the answer; the writer takes every operation queued so far, applies them in order inside one
//! write transaction, commits once (durably: redb's default `Durability::Immediate` syncs the
//! file before `commit` returns) and only then answers each of them (group commit). A batch that
//! changed nothing (replays, conflicts, lost leases) is aborted instead of committed, so it costs
//! no sync.
//!
//! The [`CallbackQueue`] lives in two more tables of the same file (see [`queue`]), written by
//! the same thread in the same commits.

mod queue;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::redb::{Database, ReadableTable, Table, TableDefinition};
use async_trait::async_trait;
use tokio::sync::oneshot;

use self::queue::{JobOp, JobTables};
#[cfg(doc)]
use super::CallbackQueue;
use super::record::{self, Entry, State};
use super::{
    Claim, DEFAULT_RETENTION, IdempotencyStore, InputHash, JobLease, Lease, PendingJob, Recorded,
    StoreError,
};

/// id → encoded [`Entry`] (see [`encode`]).
const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("actionkit_idempotency_v1");

/// The most operations one write transaction applies.
const DEFAULT_MAX_BATCH: usize = 1024;

/// A durable [`IdempotencyStore`] and [`CallbackQueue`] in one redb file: survives restarts and
/// `kill -9` (an outcome whose [`complete`](IdempotencyStore::complete) returned `Ok`, or a job
/// whose [`enqueue`](CallbackQueue::enqueue) or
/// [`record_outcome`](CallbackQueue::record_outcome) did, is on disk), and batches concurrent
/// writers into shared commits.
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
/// once when it starts and once when it ends. A committed record is never lost.
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
}

/// Counters of the writer thread, to see group commit at work (and for benchmarks).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("actionkit-doc-stats-{}", std::process::id()));
/// let store = actionkit_core::store::RedbStore::open(dir.join("store.redb"))?;
/// let stats = store.stats();
/// assert_eq!((stats.commits, stats.ops), (0, 0));
/// # drop(store); std::fs::remove_dir_all(dir)?;
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RedbStats {
    /// Write transactions committed.
    pub commits: u64,
    /// Of those, the durable ones (each one `fsync`): the ones holding a recorded outcome or a
    /// queue change. Claims and releases alone commit without one.
    pub durable_commits: u64,
    /// Operations applied, committed or not.
    pub ops: u64,
}

#[derive(Default)]
struct Counters {
    commits: AtomicU64,
    durable_commits: AtomicU64,
    ops: AtomicU64,
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
        }
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
            ops: self.stats.ops.load(Ordering::Relaxed),
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

    /// Creates the parent directories, opens or creates the file, and starts the writer thread.
    /// Blocking I/O: call it at start-up. Fails with [`StoreError::Unavailable`] when the file
    /// cannot be opened (including when another store holds it).
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
        let db = Database::create(&self.path)
            .map_err(|e| StoreError::unavailable("opening the redb store", e))?;
        let txn = db
            .begin_write()
            .map_err(|e| StoreError::unavailable("opening the redb store", e))?;
        txn.open_table(TABLE)
            .map_err(|e| StoreError::unavailable("opening the redb store", e))?;
        txn.open_table(queue::JOBS)
            .map_err(|e| StoreError::unavailable("opening the redb store", e))?;
        txn.open_table(queue::DUE)
            .map_err(|e| StoreError::unavailable("opening the redb store", e))?;
        txn.commit()
            .map_err(|e| StoreError::unavailable("opening the redb store", e))?;

        let (sender, receiver) = mpsc::channel();
        let stats = Arc::new(Counters::default());
        let writer = Writer {
            db: Some(db),
            path: self.path.clone(),
            broken: None,
            outage: false,
            next_reopen: std::time::Instant::now(),
            reopen_wait: FIRST_REOPEN_WAIT,
            running: std::collections::HashMap::new(),
            receiver,
            retention: self.retention,
            max_batch: self.max_batch,
            stats: stats.clone(),
        };
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

fn unexpected(done: Done) -> StoreError {
    StoreError::unavailable("redb writer", format!("mismatched answer {done:?}"))
}

enum Op {
    Claim {
        key: String,
        input: InputHash,
        lease: Duration,
    },
    Complete {
        lease: Lease,
        outcome: Recorded,
    },
    Release {
        lease: Lease,
    },
    Purge,
    /// Changes nothing: proves the writer thread and the file answer.
    Ping,
    Job(JobOp),
}

impl Op {
    /// Whether the caller may rely on the change surviving a crash once answered: recorded
    /// outcomes and everything about queued jobs.
    fn must_be_durable(&self) -> bool {
        match self {
            Op::Complete { .. } | Op::Job(_) => true,
            Op::Claim { .. } | Op::Release { .. } | Op::Purge | Op::Ping => false,
        }
    }
}

#[derive(Debug)]
enum Done {
    Claim(Claim),
    Unit,
    Count(u64),
    Bool(bool),
    Job(Option<(PendingJob, JobLease)>),
}

struct Request {
    op: Op,
    reply: oneshot::Sender<Result<Done, StoreError>>,
}

struct Writer {
    /// `None` while a reopen after an I/O error has failed.
    db: Option<Database>,
    path: PathBuf,
    /// Why writes fail, while they do: redb refuses every write after an I/O error until the
    /// file is reopened.
    broken: Option<String>,
    /// Whether an outage was logged (cleared by the first successful write).
    outage: bool,
    next_reopen: std::time::Instant,
    reopen_wait: Duration,
    /// The claims this process holds, by key (see [`track`](Self::track)).
    running: std::collections::HashMap<String, Entry>,
    receiver: mpsc::Receiver<Request>,
    retention: Duration,
    max_batch: usize,
    stats: Arc<Counters>,
}

/// The first and the longest wait between two reopen attempts after an I/O error.
const FIRST_REOPEN_WAIT: Duration = Duration::from_millis(100);
const MAX_REOPEN_WAIT: Duration = Duration::from_secs(5);

impl Writer {
    fn run(mut self) {
        let mut batch = Vec::with_capacity(self.max_batch);
        while let Ok(first) = self.receiver.recv() {
            batch.push(first);
            while batch.len() < self.max_batch {
                match self.receiver.try_recv() {
                    Ok(request) => batch.push(request),
                    Err(_) => break,
                }
            }
            // Claims and releases first, in a commit without `fsync`, so they are answered at
            // once instead of waiting for the outcomes' durable commit; then the outcomes and
            // queue changes in one durable commit. (Two operations on one id are never queued
            // together: an id's completion waits for its claim's answer.)
            let (durable, fast): (Vec<Request>, Vec<Request>) = batch
                .drain(..)
                .partition(|request| request.op.must_be_durable());
            for part in [fast, durable] {
                if !part.is_empty() {
                    self.serve(part);
                }
            }
        }
    }

    /// Applies `batch` in one commit and answers it; after an I/O error, answers what a read
    /// can.
    fn serve(&mut self, batch: Vec<Request>) {
        self.reopen_if_due();
        let applied = match (&self.broken, &self.db) {
            (None, Some(db)) => self.apply(db, &batch).map_err(|e| e.to_string()),
            (Some(error), _) => Err(error.clone()),
            (None, None) => Err("the file is not open".to_owned()),
        };
        match applied {
            Ok(answers) => {
                self.wrote();
                for (request, answer) in batch.into_iter().zip(answers) {
                    self.track(&request.op, &answer);
                    let _ = request.reply.send(answer);
                }
            }
            Err(message) => {
                self.broke(message.clone());
                // What needs no write is still answered: replays of completed ids, and
                // conflicts and in-progress answers, from a read of the file.
                for request in batch {
                    let answer = self.read_only(&request.op).unwrap_or_else(|| {
                        Err(StoreError::unavailable(
                            "writing to the redb store",
                            message.clone(),
                        ))
                    });
                    let _ = request.reply.send(answer);
                }
            }
        }
    }

    /// Keeps the running claims this process holds: they are committed without `fsync`, so a
    /// reopen after an I/O error would forget them, and [`reopen_if_due`](Self::reopen_if_due)
    /// writes them back (else a redelivery could claim an id whose handler is still running).
    fn track(&mut self, op: &Op, answer: &Result<Done, StoreError>) {
        match (op, answer) {
            (Op::Claim { key, input, .. }, Ok(Done::Claim(Claim::Acquired(lease)))) => {
                let running = Entry {
                    input: *input,
                    token: *lease.token(),
                    state: State::Running {
                        expires_at: lease.expires_at(),
                    },
                };
                self.running.insert(key.clone(), running);
            }
            (Op::Complete { lease, .. } | Op::Release { lease }, _) => {
                self.running.remove(lease.key());
            }
            _ => {}
        }
    }

    /// Writes the running claims back after a reopen, where the file lost them (and they have
    /// not expired).
    fn restore_running(&mut self, db: &Database) -> Result<(), ::redb::Error> {
        let now = SystemTime::now();
        self.running
            .retain(|_, entry| entry.is_live(now, Duration::ZERO));
        if self.running.is_empty() {
            return Ok(());
        }
        let txn = db.begin_write()?;
        {
            let mut table = txn.open_table(TABLE)?;
            for (key, entry) in &self.running {
                if table.get(key.as_str())?.is_none() {
                    table.insert(key.as_str(), encode(entry).as_slice())?;
                }
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// Notes a failed write: the file is reopened after a wait that doubles while writes keep
    /// failing; the outage is logged once.
    fn broke(&mut self, error: String) {
        if !self.outage {
            self.outage = true;
            tracing::error!(path = %self.path.display(), error, "the redb store cannot write; reopening it with backoff (replays are still answered)");
        }
        if self.broken.is_none() {
            self.next_reopen = std::time::Instant::now() + self.reopen_wait;
            self.reopen_wait = (self.reopen_wait * 2).min(MAX_REOPEN_WAIT);
        }
        self.broken = Some(error);
    }

    /// Notes a successful batch: an outage, if there was one, is over.
    fn wrote(&mut self) {
        if self.outage {
            self.outage = false;
            self.reopen_wait = FIRST_REOPEN_WAIT;
            tracing::info!(path = %self.path.display(), "the redb store writes again");
        }
    }

    /// Reopens the file after an I/O error, when the wait is over: redb refuses writes on a
    /// handle that has seen one, and a fresh handle writes again once the fault is gone.
    fn reopen_if_due(&mut self) {
        if self.broken.is_none() || std::time::Instant::now() < self.next_reopen {
            return;
        }
        // The file lock is the old handle's until it is dropped.
        self.db = None;
        match Database::create(&self.path) {
            Ok(db) => match self.restore_running(&db) {
                Ok(()) => {
                    self.db = Some(db);
                    self.broken = None;
                }
                Err(e) => {
                    self.db = Some(db);
                    self.next_reopen = std::time::Instant::now() + self.reopen_wait;
                    self.reopen_wait = (self.reopen_wait * 2).min(MAX_REOPEN_WAIT);
                    self.broken = Some(e.to_string());
                }
            },
            Err(e) => {
                self.next_reopen = std::time::Instant::now() + self.reopen_wait;
                self.reopen_wait = (self.reopen_wait * 2).min(MAX_REOPEN_WAIT);
                self.broken = Some(e.to_string());
            }
        }
    }

    /// The answer to `op` from a read of the file, when it needs no write: a claim of an id
    /// that is completed, running, or taken by another input.
    fn read_only(&self, op: &Op) -> Option<Result<Done, StoreError>> {
        use ::redb::ReadableDatabase as _;
        let Op::Claim { key, input, .. } = op else {
            return None;
        };
        let txn = self.db.as_ref()?.begin_read().ok()?;
        let table = txn.open_table(TABLE).ok()?;
        let entry = match table.get(key.as_str()).ok()? {
            None => return None,
            Some(bytes) => decode(bytes.value()).ok()?,
        };
        record::classify(Some(&entry), input, SystemTime::now(), self.retention)
            .map(|answer| Ok(Done::Claim(answer)))
    }

    /// Applies `batch` in one write transaction; the answers hold once it is committed.
    fn apply(
        &self,
        db: &Database,
        batch: &[Request],
    ) -> Result<Vec<Result<Done, StoreError>>, ::redb::Error> {
        let mut txn = db.begin_write()?;
        // One durable commit per id: a claim, a release or a purge need not reach the disk on
        // their own (a crash then frees the id, exactly as an expired lease would), so a batch of
        // only those commits without `fsync`; the next durable commit persists them as well.
        let durable = batch.iter().any(|request| request.op.must_be_durable());
        if !durable {
            txn.set_durability(::redb::Durability::None)?;
        }
        let mut answers = Vec::with_capacity(batch.len());
        let mut dirty = false;
        {
            let mut table = txn.open_table(TABLE)?;
            let mut jobs = JobTables {
                jobs: txn.open_table(queue::JOBS)?,
                due: txn.open_table(queue::DUE)?,
            };
            let now = SystemTime::now();
            for request in batch {
                answers.push(self.apply_one(
                    &mut table,
                    &mut jobs,
                    &request.op,
                    now,
                    &mut dirty,
                )?);
            }
        }
        self.stats
            .ops
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        if dirty {
            txn.commit()?;
            self.stats.commits.fetch_add(1, Ordering::Relaxed);
            if durable {
                self.stats.durable_commits.fetch_add(1, Ordering::Relaxed);
            }
        } else {
            txn.abort()?;
        }
        Ok(answers)
    }

    /// Applies one operation. The outer error (storage trouble) fails the whole batch; the inner
    /// one is this operation's answer.
    fn apply_one(
        &self,
        table: &mut Table<'_, &str, &[u8]>,
        jobs: &mut JobTables<'_>,
        op: &Op,
        now: SystemTime,
        dirty: &mut bool,
    ) -> Result<Result<Done, StoreError>, ::redb::Error> {
        let read = |table: &Table<'_, &str, &[u8]>,
                    key: &str|
         -> Result<Result<Option<Entry>, StoreError>, ::redb::Error> {
            Ok(match table.get(key)? {
                None => Ok(None),
                Some(bytes) => decode(bytes.value()).map(Some),
            })
        };
        Ok(match op {
            Op::Claim { key, input, lease } => {
                let entry = match read(table, key)? {
                    Ok(entry) => entry,
                    Err(e) => return Ok(Err(e)),
                };
                match record::classify(entry.as_ref(), input, now, self.retention) {
                    Some(answer) => Ok(Done::Claim(answer)),
                    None => match Entry::running(key.as_str(), *input, now, *lease) {
                        Ok((entry, lease)) => {
                            table.insert(key.as_str(), encode(&entry).as_slice())?;
                            *dirty = true;
                            Ok(Done::Claim(Claim::Acquired(lease)))
                        }
                        Err(e) => Err(e),
                    },
                }
            }
            Op::Complete { lease, outcome } => {
                let entry = match read(table, lease.key())? {
                    Ok(entry) => entry,
                    Err(e) => return Ok(Err(e)),
                };
                match record::complete(entry.as_ref(), lease, outcome) {
                    Ok(Some(done)) => {
                        table.insert(lease.key(), encode(&done).as_slice())?;
                        *dirty = true;
                        Ok(Done::Unit)
                    }
                    Ok(None) => Ok(Done::Unit),
                    Err(e) => Err(e),
                }
            }
            Op::Release { lease } => {
                let entry = match read(table, lease.key())? {
                    Ok(entry) => entry,
                    Err(e) => return Ok(Err(e)),
                };
                match record::release(entry.as_ref(), lease) {
                    Ok(()) => {
                        table.remove(lease.key())?;
                        *dirty = true;
                        Ok(Done::Unit)
                    }
                    Err(e) => Err(e),
                }
            }
            Op::Purge => {
                let removed = self.purge(table, now)? + jobs.purge(now, self.retention)?;
                *dirty |= removed > 0;
                Ok(Done::Count(removed))
            }
            Op::Ping => Ok(Done::Unit),
            Op::Job(op) => jobs.apply(op, now, dirty)?,
        })
    }

    /// Removes the records that no longer count; returns how many.
    fn purge(
        &self,
        table: &mut Table<'_, &str, &[u8]>,
        now: SystemTime,
    ) -> Result<u64, ::redb::Error> {
        let mut removed = 0u64;
        // An undecodable record is kept: purging must not destroy what it cannot read.
        table.retain(|_, bytes| {
            let keep = decode(bytes)
                .map(|e| e.is_live(now, self.retention))
                .unwrap_or(true);
            removed += u64::from(!keep);
            keep
        })?;
        Ok(removed)
    }
}

// Record layout, version 1 (all integers big-endian):
//   [0]       version = 1
//   [1..33]   input hash
//   [33..49]  token
//   [49]      state: 0 = running, 1 = done
//   running:  [50..58] lease expiry seconds since the epoch, [58..62] nanoseconds
//   done:     [50..52] status, [52..60] recorded_at seconds, [60..64] nanoseconds, [64..] body
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
