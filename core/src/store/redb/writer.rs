//! The writer thread of [`RedbStore`](super::RedbStore): it takes the queued operations in
//! batches and applies each batch in one database commit without `fsync`. Claims and releases
//! are answered at once (a crash frees such ids, exactly as an expired lease would); the changes
//! of a batch of outcomes and queue operations go to the journal, and those callers are answered
//! by the [sync thread](super::syncer) once the record is durable. The writer checkpoints the
//! database (see [`checkpoint`](super::checkpoint)) when the journal is full, when the store has
//! been idle for a while and when it closes, and recovers from I/O errors by reopening the file.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use ::redb::{Database, ReadableTable, Table};
use tokio::sync::oneshot;

use super::changes::Changes;
use super::checkpoint;
use super::journal::{self, Journal};
use super::queue::{self, JobOp, JobTables};
use super::record::{self, Entry, State};
use super::syncer::{Answer, Message, Shared, Syncer};
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

    /// The idempotency record this operation reads, if any.
    fn record_key(&self) -> Option<&str> {
        match self {
            Op::Claim { key, .. } => Some(key),
            Op::Complete { lease, .. } | Op::Release { lease } => Some(lease.key()),
            Op::Purge | Op::Ping | Op::Job(_) => None,
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
    journal: Arc<Journal>,
    /// The sync thread and the way to it; `None` once closed.
    syncer: Option<(mpsc::Sender<Message>, JoinHandle<()>)>,
    shared: Arc<Shared>,
    /// The journal generation being written, where its next record goes, and its number.
    generation: u64,
    offset: u64,
    seq: u64,
    /// The ticket of the next journal record (tickets only grow, across generations).
    next_ticket: u64,
    /// When the last record was handed to the journal.
    journaled_at: Instant,
    /// Idempotency records written by batches whose journal record may not be durable yet, with
    /// that record's ticket and the claim it completed: a claim reading one is answered only
    /// once it is (an answer never rests on a change a crash could undo).
    unsynced: HashMap<String, (u64, Option<Entry>)>,
}

/// The first and the longest wait between two reopen attempts after an I/O error.
const FIRST_REOPEN_WAIT: Duration = Duration::from_millis(100);
const MAX_REOPEN_WAIT: Duration = Duration::from_secs(5);
/// How long the journal must have taken no record before the store checkpoints (when it holds
/// some).
const IDLE_CHECKPOINT: Duration = Duration::from_secs(1);

/// A writer's settings, from the builder.
pub(super) struct Settings {
    pub(super) path: PathBuf,
    pub(super) retention: Duration,
    pub(super) max_batch: usize,
}

impl Writer {
    /// A writer over `db` (recovered, at journal `generation`), serving what arrives on
    /// `receiver`; starts the sync thread.
    pub(super) fn new(
        db: Database,
        journal: Journal,
        generation: u64,
        settings: Settings,
        receiver: mpsc::Receiver<Request>,
        stats: Arc<Counters>,
    ) -> std::io::Result<Self> {
        let journal = Arc::new(journal);
        let shared = Arc::new(Shared::default());
        let (to_syncer, from_writer) = mpsc::channel();
        let syncer = Syncer::new(journal.clone(), from_writer, shared.clone(), stats.clone());
        let syncer = std::thread::Builder::new()
            .name("actionkit-redb-sync".into())
            .spawn(move || syncer.run())?;
        Ok(Writer {
            db: Some(db),
            path: settings.path,
            broken: None,
            outage: false,
            next_reopen: Instant::now(),
            reopen_wait: FIRST_REOPEN_WAIT,
            running: HashMap::new(),
            receiver,
            retention: settings.retention,
            max_batch: settings.max_batch,
            stats,
            journal,
            syncer: Some((to_syncer, syncer)),
            shared,
            generation,
            offset: 0,
            seq: 0,
            next_ticket: 1,
            journaled_at: Instant::now(),
            unsynced: HashMap::new(),
        })
    }

    pub(super) fn run(mut self) {
        let mut batch = Vec::with_capacity(self.max_batch);
        loop {
            // With records in the journal, wait no longer than until it has been idle for
            // `IDLE_CHECKPOINT` (claims and polls may keep coming meanwhile).
            let next = if self.offset == 0 || self.broken.is_some() {
                self.receiver
                    .recv()
                    .map_err(|_| mpsc::RecvTimeoutError::Disconnected)
            } else {
                self.receiver
                    .recv_timeout(IDLE_CHECKPOINT.saturating_sub(self.journaled_at.elapsed()))
            };
            let first = match next {
                Ok(first) => first,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.checkpoint_when_idle();
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            batch.push(first);
            while batch.len() < self.max_batch {
                match self.receiver.try_recv() {
                    Ok(request) => batch.push(request),
                    Err(_) => break,
                }
            }
            // Claims and releases first, answered at once; then the outcomes and queue changes,
            // answered once their journal record is durable. (Two operations on one id are never
            // queued together: an id's completion waits for its claim's answer.)
            let (durable, fast): (Vec<Request>, Vec<Request>) = batch
                .drain(..)
                .partition(|request| request.op.must_be_durable());
            for (part, durable) in [(fast, false), (durable, true)] {
                if !part.is_empty() {
                    self.serve(part, durable);
                }
            }
        }
        self.close();
    }

    /// Applies `batch` in one commit without `fsync` and answers it (a `durable` batch through
    /// the journal); after an I/O error, answers what a read can.
    fn serve(&mut self, batch: Vec<Request>, durable: bool) {
        if let (Some(failure), None) = (self.shared.failure(), &self.broken) {
            self.broke(failure);
        }
        self.reopen_if_due();
        let applied = match (&self.broken, &self.db) {
            (None, Some(db)) => self.apply(db, &batch).map_err(|e| e.to_string()),
            (Some(error), _) => Err(error.clone()),
            (None, None) => Err("the file is not open".to_owned()),
        };
        match applied {
            Ok((answers, changes)) => {
                self.wrote();
                let mut replies = Vec::with_capacity(batch.len());
                for (request, answer) in batch.into_iter().zip(answers) {
                    self.track(&request.op, &answer);
                    replies.push((request.op, (request.reply, answer)));
                }
                self.shared
                    .in_flight
                    .store(self.running.len(), Ordering::Relaxed);
                if durable {
                    self.make_durable(replies, changes);
                } else {
                    self.answer_now(replies);
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
    /// A completed claim is kept until its outcome is durable (see
    /// [`make_durable`](Self::make_durable)).
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
            (Op::Release { lease }, _) => {
                self.running.remove(lease.key());
            }
            _ => {}
        }
    }

    /// Answers a batch of claims, releases, purges and pings: at once, but a claim or release
    /// that read a record whose journal record may not be durable yet only once it is.
    fn answer_now(&mut self, replies: Vec<(Op, Answer)>) {
        let mut later = Vec::new();
        for (op, (reply, answer)) in replies {
            if op.record_key().is_some_and(|key| self.is_unsynced(key)) {
                later.push((reply, answer));
            } else {
                let _ = reply.send(answer);
            }
        }
        if !later.is_empty() {
            self.to_syncer(Message::After(later));
        }
    }

    /// Hands a batch of outcomes and queue operations to the journal: its answers go once its
    /// record is durable (or, when the batch changed nothing, once everything before it is).
    /// When the journal has no room left, a checkpoint makes the batch durable instead.
    fn make_durable(&mut self, replies: Vec<(Op, Answer)>, changes: Changes) {
        let ticket = self.next_ticket;
        let durable = self.shared.durable.load(Ordering::Acquire);
        if self.unsynced.len() > 4 * self.max_batch {
            self.unsynced.retain(|_, (t, _)| *t > durable);
        }
        let mut answers = Vec::with_capacity(replies.len());
        for (op, (reply, answer)) in replies {
            if let Op::Complete { lease, .. } = &op {
                let claim = self.running.remove(lease.key());
                if answer.is_ok() && !changes.is_empty() {
                    self.unsynced
                        .insert(lease.key().to_owned(), (ticket, claim));
                }
            }
            answers.push((reply, answer));
        }
        if changes.is_empty() {
            self.to_syncer(Message::After(answers));
            return;
        }
        self.next_ticket += 1;
        let record = journal::frame(self.generation, self.seq, changes.bytes());
        if self.offset + record.len() as u64 > self.journal.capacity() {
            match self.checkpoint() {
                Ok(()) => answers.into_iter().for_each(|(reply, answer)| {
                    let _ = reply.send(answer);
                }),
                Err(failure) => {
                    for (reply, _) in answers {
                        let _ = reply.send(Err(StoreError::unavailable(
                            "checkpointing the redb store",
                            failure.clone(),
                        )));
                    }
                    self.broke(failure);
                }
            }
            return;
        }
        let offset = self.offset;
        self.journaled_at = Instant::now();
        self.offset += record.len() as u64;
        self.seq += 1;
        self.to_syncer(Message::Append {
            offset,
            bytes: record,
            ticket,
            answers,
        });
    }

    /// Whether `key` was written by a batch whose journal record may not be durable yet.
    fn is_unsynced(&self, key: &str) -> bool {
        self.unsynced
            .get(key)
            .is_some_and(|(ticket, _)| *ticket > self.shared.durable.load(Ordering::Acquire))
    }

    /// Sends `message` to the sync thread; if it has stopped, fails the answers it carries.
    fn to_syncer(&self, message: Message) {
        let Err(mpsc::SendError(message)) = (match &self.syncer {
            Some((sender, _)) => sender.send(message),
            None => Err(mpsc::SendError(message)),
        }) else {
            return;
        };
        let fail = |answers: Vec<Answer>| {
            for (reply, _) in answers {
                let _ = reply.send(Err(StoreError::unavailable(
                    "redb journal",
                    "the sync thread has stopped",
                )));
            }
        };
        match message {
            Message::Append { answers, .. } | Message::After(answers) => fail(answers),
            Message::Barrier(_) => {}
        }
    }

    /// Waits until everything handed to the sync thread is durable, or has failed.
    fn barrier(&self) {
        let (done, wait) = mpsc::channel();
        self.to_syncer(Message::Barrier(done));
        let _ = wait.recv();
    }

    /// Commits the database durably under a new journal generation: everything before is on
    /// disk in the file itself, and the journal starts again from its beginning.
    fn checkpoint(&mut self) -> Result<(), String> {
        self.barrier();
        let db = self.db.as_ref().ok_or("the file is not open")?;
        let generation = checkpoint::checkpoint(db, self.generation).map_err(|e| e.to_string())?;
        self.checkpointed(generation);
        Ok(())
    }

    /// Notes a durable checkpoint at `generation`: every change so far is durable.
    fn checkpointed(&mut self, generation: u64) {
        self.generation = generation;
        self.offset = 0;
        self.seq = 0;
        self.shared
            .durable
            .fetch_max(self.next_ticket - 1, Ordering::AcqRel);
        self.unsynced.clear();
        self.shared.clear_failure();
        self.stats.checkpoints.fetch_add(1, Ordering::Relaxed);
        self.stats.durable_commits.fetch_add(1, Ordering::Relaxed);
    }

    /// With no outcome for a while: checkpoints if the journal holds records, so that an open
    /// after a crash has little to replay.
    fn checkpoint_when_idle(&mut self) {
        if self.broken.is_some() || self.offset == 0 {
            return;
        }
        if let Err(failure) = self.checkpoint() {
            self.broke(failure);
        }
    }

    /// Closing: a last checkpoint (the journal is then not needed to open the file), then the
    /// sync thread stops.
    fn close(&mut self) {
        if self.broken.is_none() && self.offset > 0 {
            if let Err(failure) = self.checkpoint() {
                tracing::warn!(path = %self.path.display(), error = failure, "the redb store closed without a last checkpoint; the next open replays its journal");
            }
        } else {
            self.barrier();
        }
        if let Some((sender, syncer)) = self.syncer.take() {
            drop(sender);
            let _ = syncer.join();
        }
    }

    /// Writes the running claims back after a reopen, where the file lost them (and they have
    /// not expired).
    /// Claims whose outcome's journal record was not known durable are written back too: if the
    /// record made it, the replayed outcome is there and wins; if not, the claim's owner can
    /// still record its outcome.
    fn restore_running(&mut self, db: &Database) -> Result<(), ::redb::Error> {
        let now = SystemTime::now();
        self.running
            .retain(|_, entry| entry.is_live(now, Duration::ZERO));
        let completing = self
            .unsynced
            .iter()
            .filter_map(|(key, (_, claim))| Some((key, claim.as_ref()?)))
            .filter(|(_, entry)| entry.is_live(now, Duration::ZERO));
        let claims: Vec<_> = self.running.iter().chain(completing).collect();
        if claims.is_empty() {
            return Ok(());
        }
        let mut txn = db.begin_write()?;
        // claims need not be durable
        txn.set_durability(::redb::Durability::None)?;
        {
            let mut table = txn.open_table(TABLE)?;
            for (key, entry) in claims {
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
        // Every record handed to the journal is written (or has failed) before the journal is
        // read back.
        self.barrier();
        // The file lock is the old handle's until it is dropped.
        self.db = None;
        match Database::create(&self.path) {
            Ok(db) => match checkpoint::recover(&db, &self.journal)
                .map_err(|e| e.to_string())
                .and_then(|(generation, _)| {
                    self.restore_running(&db).map_err(|e| e.to_string())?;
                    Ok(generation)
                }) {
                Ok(generation) => {
                    self.db = Some(db);
                    self.broken = None;
                    self.checkpointed(generation);
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
        if self.is_unsynced(key) {
            // written by a batch whose journal record may not be on disk: not an answer to rest on
            return None;
        }
        let txn = self.db.as_ref()?.begin_read().ok()?;
        let table = txn.open_table(TABLE).ok()?;
        let entry = match table.get(key.as_str()).ok()? {
            None => return None,
            Some(bytes) => decode(bytes.value()).ok()?,
        };
        record::classify(Some(&entry), input, SystemTime::now(), self.retention)
            .map(|answer| Ok(Done::Claim(answer)))
    }

    /// Applies `batch` in one write transaction committed without `fsync`; returns the answers
    /// and what changed (for the journal).
    fn apply(
        &self,
        db: &Database,
        batch: &[Request],
    ) -> Result<(Vec<Result<Done, StoreError>>, Changes), ::redb::Error> {
        let mut txn = db.begin_write()?;
        // No commit here syncs: outcomes and queue changes are made durable by the journal, and
        // claims, releases and purges need not be (a crash frees such ids, exactly as an expired
        // lease would).
        txn.set_durability(::redb::Durability::None)?;
        let mut answers = Vec::with_capacity(batch.len());
        let mut dirty = false;
        let changes;
        {
            let mut table = txn.open_table(TABLE)?;
            let mut jobs = JobTables {
                jobs: txn.open_table(queue::JOBS)?,
                due: txn.open_table(queue::DUE)?,
                changes: Changes::default(),
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
            changes = jobs.changes;
        }
        self.stats
            .ops
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        if dirty {
            txn.commit()?;
            self.stats.commits.fetch_add(1, Ordering::Relaxed);
            Ok((answers, changes))
        } else {
            txn.abort()?;
            Ok((answers, Changes::default()))
        }
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
                            let value = encode(&entry);
                            table.insert(key.as_str(), value.as_slice())?;
                            jobs.changes.put_record(key, &value);
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
                        let value = encode(&done);
                        table.insert(lease.key(), value.as_slice())?;
                        jobs.changes.put_record(lease.key(), &value);
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
                        jobs.changes.remove_record(lease.key());
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
