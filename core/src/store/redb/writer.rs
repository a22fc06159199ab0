//! The writer thread of [`RedbStore`](super::RedbStore): it takes the queued operations in
//! batches and applies each batch in one database commit without `fsync`. Claims and releases
//! are answered at once (a crash frees such ids, exactly as an expired lease would); the changes
//! of a batch of outcomes and queue operations go to the journal, and those callers are answered
//! by the [sync thread](super::syncer) once the record is durable. The writer checkpoints the
//! database (see [`checkpoint`]) when the journal is full, when the store has been idle for a
//! while and when it closes, and recovers from I/O errors by reopening the file
//! ([`recovery`]). How one batch is applied to the file is [`apply`].

mod apply;
mod recovery;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ::redb::Database;
use tokio::sync::oneshot;

use super::Counters;
use super::changes::Changes;
use super::checkpoint;
use super::journal::{self, Journal};
use super::queue::JobOp;
use super::record::{Entry, State};
use super::syncer::{Answer, Message, Shared, Syncer};
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
}

// Record layout, version 1 (all integers big-endian):
//   [0]       version = 1
//   [1..33]   input hash
//   [33..49]  token
//   [49]      state: 0 = running, 1 = done
//   running:  [50..58] lease expiry seconds since the epoch, [58..62] nanoseconds
//   done:     [50..52] status, [52..60] recorded_at seconds, [60..64] nanoseconds, [64..] body
