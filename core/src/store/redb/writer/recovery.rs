//! How the writer recovers from an I/O error: it marks the store broken, reopens the file with
//! a backoff and writes the running claims back, which the reopened file lost.

use std::time::{Duration, SystemTime};

use ::redb::{Database, ReadableTable};

use super::{FIRST_REOPEN_WAIT, MAX_REOPEN_WAIT, Writer};
use crate::store::redb::checkpoint;
use crate::store::redb::{TABLE, encode};

impl Writer {
    /// Writes the running claims back after a reopen, where the file lost them (and they have
    /// not expired).
    /// Claims whose outcome's journal record was not known durable are written back too: if the
    /// record made it, the replayed outcome is there and wins; if not, the claim's owner can
    /// still record its outcome.
    pub(super) fn restore_running(&mut self, db: &Database) -> Result<(), ::redb::Error> {
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
    pub(super) fn broke(&mut self, error: String) {
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
    pub(super) fn wrote(&mut self) {
        if self.outage {
            self.outage = false;
            self.reopen_wait = FIRST_REOPEN_WAIT;
            tracing::info!(path = %self.path.display(), "the redb store writes again");
        }
    }

    /// Reopens the file after an I/O error, when the wait is over: redb refuses writes on a
    /// handle that has seen one, and a fresh handle writes again once the fault is gone.
    pub(super) fn reopen_if_due(&mut self) {
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
}
