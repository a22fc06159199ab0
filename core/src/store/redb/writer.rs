//! The writer thread of [`RedbStore`](super::RedbStore): it takes the queued operations in
//! batches, commits claims and releases without `fsync` and outcomes in one durable commit,
//! answers each caller, and recovers from I/O errors by reopening the file.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use ::redb::{Database, ReadableTable, Table};
use tokio::sync::oneshot;

use super::queue::{self, JobOp, JobTables};
use super::record::{self, Entry, State};
use super::{Counters, TABLE, decode, encode};
use crate::store::{Claim, InputHash, JobLease, Lease, PendingJob, Recorded, StoreError};

pub(super) fn unexpected(done: Done) -> StoreError {
    StoreError::unavailable("redb writer", format!("mismatched answer {done:?}"))
}

pub(super) enum Op {
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
pub(super) enum Done {
    Claim(Claim),
    Unit,
    Count(u64),
    Bool(bool),
    Job(Option<(PendingJob, JobLease)>),
}

pub(super) struct Request {
    pub(super) op: Op,
    pub(super) reply: oneshot::Sender<Result<Done, StoreError>>,
}

pub(super) struct Writer {
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
    /// A writer over `db` at `path`, serving what arrives on `receiver`.
    pub(super) fn new(
        db: Database,
        path: PathBuf,
        receiver: mpsc::Receiver<Request>,
        retention: Duration,
        max_batch: usize,
        stats: Arc<Counters>,
    ) -> Self {
        Writer {
            db: Some(db),
            path,
            broken: None,
            outage: false,
            next_reopen: std::time::Instant::now(),
            reopen_wait: FIRST_REOPEN_WAIT,
            running: std::collections::HashMap::new(),
            receiver,
            retention,
            max_batch,
            stats,
        }
    }

    pub(super) fn run(mut self) {
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
