//! The sync thread of [`RedbStore`](super::RedbStore): it appends the writer's journal records
//! and makes them durable, one `fdatasync` for every group of records that queued up meanwhile
//! (group commit), and only then sends the answers that waited for them.
//!
//! The writer thread applies each batch to the database without `fsync` and hands its record
//! here, so it keeps answering claims while a sync is under way: the claims and the outcomes of
//! the ids in flight do not fall into two alternating groups, each waiting for the other's sync.
//!
//! The group-commit window adapts to the load: when a group is ready and ids are still in flight
//! (claimed, their outcome not yet recorded), the thread waits a little for their records,
//! as long as they keep coming, and at most half the last sync's time; with nothing in flight
//! it syncs at once, so a lone request waits for one `fdatasync` and nothing more.
//!
//! After a failed write or sync the journal is not trusted again (the kernel may have dropped the
//! data it could not write): every later record is refused and its answers fail, until the
//! writer's next checkpoint, which makes everything durable in the database itself, clears the
//! failure.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::Counters;
use super::journal::Journal;
use super::writer::Done;
use crate::store::StoreError;

/// An answer waiting to be sent, with where to send it.
pub(super) type Answer = (
    oneshot::Sender<Result<Done, StoreError>>,
    Result<Done, StoreError>,
);

/// What the writer hands the sync thread, in order.
pub(super) enum Message {
    /// A framed record to write at `offset`, durable as `ticket`; then `answers` may go.
    Append {
        offset: u64,
        bytes: Vec<u8>,
        ticket: u64,
        answers: Vec<Answer>,
    },
    /// Answers that may go once everything handed over before them is durable.
    After(Vec<Answer>),
    /// Signalled once everything handed over before it is durable, or has failed.
    Barrier(mpsc::Sender<()>),
}

/// State the writer and the sync thread share.
#[derive(Default)]
pub(super) struct Shared {
    /// The highest ticket whose record is durable (tickets only grow).
    pub(super) durable: AtomicU64,
    /// Ids claimed whose outcome has not reached the writer yet, as the writer last counted.
    pub(super) in_flight: AtomicUsize,
    /// Why the journal failed, until a checkpoint clears it.
    pub(super) failed: Mutex<Option<String>>,
}

impl Shared {
    /// Why the journal failed, if it did.
    pub(super) fn failure(&self) -> Option<String> {
        self.failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The journal works again (a checkpoint made everything durable).
    pub(super) fn clear_failure(&self) {
        *self.failed.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// The longest group-commit window, whatever the last sync took.
const MAX_WINDOW: Duration = Duration::from_millis(5);
/// The shortest wait for more records within the window.
const MIN_SLICE: Duration = Duration::from_micros(50);

pub(super) struct Syncer {
    journal: Arc<Journal>,
    receiver: mpsc::Receiver<Message>,
    shared: Arc<Shared>,
    stats: Arc<Counters>,
    /// How long the last sync took.
    last_sync: Duration,
}

impl Syncer {
    pub(super) fn new(
        journal: Arc<Journal>,
        receiver: mpsc::Receiver<Message>,
        shared: Arc<Shared>,
        stats: Arc<Counters>,
    ) -> Self {
        Syncer {
            journal,
            receiver,
            shared,
            stats,
            last_sync: Duration::ZERO,
        }
    }

    pub(super) fn run(mut self) {
        while let Ok(first) = self.receiver.recv() {
            let mut group = vec![first];
            self.drain(&mut group);
            self.wait_for_more(&mut group);
            self.flush(group);
        }
    }

    fn drain(&self, group: &mut Vec<Message>) {
        while let Ok(message) = self.receiver.try_recv() {
            group.push(message);
        }
    }

    /// The adaptive window: while ids are in flight and their records keep arriving, waits for
    /// them, up to half the last sync's time. No wait for a barrier, nor when nothing is in
    /// flight.
    fn wait_for_more(&self, group: &mut Vec<Message>) {
        let appends = |group: &[Message]| {
            group
                .iter()
                .any(|message| matches!(message, Message::Append { .. }))
        };
        if !appends(group) {
            return;
        }
        let window = (self.last_sync / 2).min(MAX_WINDOW);
        let slice = (self.last_sync / 8).max(MIN_SLICE);
        let deadline = Instant::now() + window;
        loop {
            if self.shared.in_flight.load(Ordering::Relaxed) == 0
                || group
                    .iter()
                    .any(|message| matches!(message, Message::Barrier(_)))
            {
                return;
            }
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            match self.receiver.recv_timeout(slice.min(deadline - now)) {
                Ok(message) => {
                    group.push(message);
                    self.drain(group);
                }
                // nothing came for a while: the rest are not about to finish
                Err(_) => return,
            }
        }
    }

    /// Writes the group's records, syncs once, and sends the answers.
    fn flush(&mut self, group: Vec<Message>) {
        let outcome = match self.shared.failure() {
            Some(failure) => Err(failure),
            None => self.write(&group),
        };
        for message in group {
            match message {
                Message::Append { answers, .. } | Message::After(answers) => {
                    for (reply, answer) in answers {
                        let answer = match &outcome {
                            Ok(()) => answer,
                            Err(failure) => Err(StoreError::unavailable(
                                "making an outcome durable in the redb store's journal",
                                failure.clone(),
                            )),
                        };
                        let _ = reply.send(answer);
                    }
                }
                Message::Barrier(done) => {
                    let _ = done.send(());
                }
            }
        }
    }

    /// Writes the records (each run of adjacent ones in one write) and syncs once.
    fn write(&mut self, group: &[Message]) -> Result<(), String> {
        let mut run: Vec<u8> = Vec::new();
        let mut run_at = 0u64;
        let mut top = None;
        let start = Instant::now();
        let result = (|| -> std::io::Result<()> {
            for message in group {
                let Message::Append {
                    offset,
                    bytes,
                    ticket,
                    ..
                } = message
                else {
                    continue;
                };
                if !run.is_empty() && run_at + run.len() as u64 != *offset {
                    self.journal.write_at(&run, run_at)?;
                    run.clear();
                }
                if run.is_empty() {
                    run_at = *offset;
                }
                run.extend_from_slice(bytes);
                top = Some(*ticket);
            }
            if !run.is_empty() {
                self.journal.write_at(&run, run_at)?;
            }
            if top.is_some() {
                self.journal.sync()?;
            }
            Ok(())
        })();
        match result {
            Ok(()) => {
                if let Some(ticket) = top {
                    self.last_sync = start.elapsed();
                    let micros = u64::try_from(self.last_sync.as_micros()).unwrap_or(u64::MAX);
                    self.stats
                        .journal_write_micros
                        .fetch_add(micros, Ordering::Relaxed);
                    self.shared.durable.fetch_max(ticket, Ordering::AcqRel);
                    self.stats.durable_commits.fetch_add(1, Ordering::Relaxed);
                    self.stats.journal_writes.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            }
            Err(e) => {
                let failure = format!("{}: {e}", self.journal.path().display());
                tracing::error!(error = %failure, "the redb store's journal cannot write; outcomes are refused until the store has reopened");
                *self.shared.failed.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(failure.clone());
                Err(failure)
            }
        }
    }
}
