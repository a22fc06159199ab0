//! How the writer applies a batch: a read-only answer when one is enough, else one write
//! transaction committed without `fsync`, and the purge of records that no longer count.

use std::sync::atomic::Ordering;
use std::time::SystemTime;

use ::redb::{Database, ReadableTable, Table};

use super::{Done, Op, Request, Writer};
use crate::store::redb::changes::Changes;
use crate::store::redb::queue::{self, JobTables};
use crate::store::redb::record::{self, Entry};
use crate::store::redb::{TABLE, decode, encode};
use crate::store::{Claim, StoreError};

impl Writer {
    /// The answer to `op` from a read of the file, when it needs no write: a claim of an id
    /// that is completed, running, or taken by another input.
    pub(super) fn read_only(&self, op: &Op) -> Option<Result<Done, StoreError>> {
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
    pub(super) fn apply(
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
    pub(super) fn apply_one(
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
    pub(super) fn purge(
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
