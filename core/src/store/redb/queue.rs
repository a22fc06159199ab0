//! [`CallbackQueue`] for [`RedbStore`]: two tables, written by the same writer thread (and in the
//! same group commits) as the idempotency records.
//!
//! - [`JOBS`]: key → encoded [`Job`] (see [`encode`]);
//! - [`DUE`]: `(due time in microseconds, key)` → `()`, one entry per job not finished, at the
//!   time it may next be claimed (its `not_before`, or its lease's end). `claim_due` reads the
//!   first entry, so claiming costs one index lookup however many jobs wait or are finished.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::redb::{ReadableTable, ReadableTableMetadata, Table, TableDefinition};
use async_trait::async_trait;

use super::changes::Changes;
use super::{Done, Op, RedbStore, put_time, unexpected};
use crate::store::job::{Job, JobState};
use crate::store::{CallbackQueue, JobLease, PendingJob, StoreError};

/// key → encoded [`Job`].
pub(super) const JOBS: TableDefinition<&str, &[u8]> = TableDefinition::new("actionkit_jobs_v1");
/// `(due_at in microseconds since the epoch, rounded up, key)` for every job not finished.
pub(super) const DUE: TableDefinition<(u64, &str), ()> =
    TableDefinition::new("actionkit_jobs_due_v1");

/// A queue operation, applied by the writer thread.
pub(super) enum JobOp {
    Enqueue { key: String, payload: Vec<u8> },
    ClaimDue { lease: Duration },
    RecordOutcome { lease: JobLease, outcome: Vec<u8> },
    RetryLater { lease: JobLease, delay: Duration },
    Finish { lease: JobLease, delivered: bool },
    Pending,
}

/// The queue's two tables inside one write transaction, and what the transaction changed (for
/// the journal; the idempotency records' changes are noted there too).
pub(super) struct JobTables<'t> {
    pub(super) jobs: Table<'t, &'static str, &'static [u8]>,
    pub(super) due: Table<'t, (u64, &'static str), ()>,
    pub(super) changes: Changes,
}

type Answer = Result<Result<Done, StoreError>, ::redb::Error>;

impl JobTables<'_> {
    /// Applies one operation. The outer error (storage trouble) fails the whole batch; the inner
    /// one is this operation's answer.
    pub(super) fn apply(&mut self, op: &JobOp, now: SystemTime, dirty: &mut bool) -> Answer {
        Ok(match op {
            JobOp::Enqueue { key, payload } => {
                if self.jobs.get(key.as_str())?.is_some() {
                    Ok(Done::Bool(false))
                } else {
                    self.put(key, None, &Job::new(payload, now))?;
                    *dirty = true;
                    Ok(Done::Bool(true))
                }
            }
            JobOp::ClaimDue { lease } => self.claim_due(now, *lease, dirty)?.map(Done::Job),
            JobOp::RecordOutcome { lease, outcome } => {
                self.change(lease, dirty, |job| job.record_outcome(lease, outcome))?
            }
            JobOp::RetryLater { lease, delay } => self.change(lease, dirty, |job| {
                job.retry_later(lease, now, *delay).map(|()| true)
            })?,
            JobOp::Finish { lease, delivered } => {
                self.change(lease, dirty, |job| job.finish(lease, now, *delivered))?
            }
            JobOp::Pending => Ok(Done::Count(self.due.len()?)),
        })
    }

    /// Removes jobs finished more than `retention` before `now`; returns how many.
    pub(super) fn purge(
        &mut self,
        now: SystemTime,
        retention: Duration,
    ) -> Result<u64, ::redb::Error> {
        let mut removed = 0u64;
        // An undecodable job is kept: purging must not destroy what it cannot read.
        self.jobs.retain(|_, bytes| {
            let keep = decode(bytes)
                .map(|job| !job.is_purgeable(now, retention))
                .unwrap_or(true);
            removed += u64::from(!keep);
            keep
        })?;
        Ok(removed)
    }

    fn read(&self, key: &str) -> Result<Result<Option<Job>, StoreError>, ::redb::Error> {
        Ok(match self.jobs.get(key)? {
            None => Ok(None),
            Some(bytes) => decode(bytes.value()).map(Some),
        })
    }

    /// Writes `new` for `key` (whose stored job was `old`), moving its due-index entry.
    fn put(&mut self, key: &str, old: Option<&Job>, new: &Job) -> Result<(), ::redb::Error> {
        let (before, after) = (old.and_then(due_key), due_key(new));
        if before != after {
            if let Some(micros) = before {
                self.due.remove((micros, key))?;
                self.changes.remove_due(micros, key);
            }
            if let Some(micros) = after {
                self.due.insert((micros, key), ())?;
                self.changes.put_due(micros, key);
            }
        }
        let value = encode(new);
        self.jobs.insert(key, value.as_slice())?;
        self.changes.put_job(key, &value);
        Ok(())
    }

    fn claim_due(
        &mut self,
        now: SystemTime,
        lease: Duration,
        dirty: &mut bool,
    ) -> Result<Result<Option<(PendingJob, JobLease)>, StoreError>, ::redb::Error> {
        let now_micros = micros_floor(now);
        loop {
            let Some((micros, key)) = self
                .due
                .first()?
                .map(|(entry, _)| {
                    let (micros, key) = entry.value();
                    (micros, key.to_owned())
                })
                .filter(|(micros, _)| *micros <= now_micros)
            else {
                return Ok(Ok(None));
            };
            let job = match self.read(&key)? {
                Ok(job) => job,
                Err(e) => return Ok(Err(e)),
            };
            match job {
                Some(job) if job.is_due(now) => {
                    let mut claimed = job.clone();
                    return Ok(match claimed.claim(&key, now, lease) {
                        Ok(answer) => {
                            self.put(&key, Some(&job), &claimed)?;
                            *dirty = true;
                            Ok(Some(answer))
                        }
                        Err(e) => Err(e),
                    });
                }
                // due within the microsecond (the index rounds up): not yet
                Some(job) if job.is_pending() && due_key(&job) == Some(micros) => {
                    return Ok(Ok(None));
                }
                // an index entry that no longer matches its job (cannot happen unless the file
                // was edited): drop it rather than block the queue behind it
                _ => {
                    self.due.remove((micros, key.as_str()))?;
                    self.changes.remove_due(micros, &key);
                    *dirty = true;
                }
            }
        }
    }

    /// Applies `change` to the job `lease` names (`LeaseLost` when there is none); `change`
    /// answers whether it changed the job.
    fn change(
        &mut self,
        lease: &JobLease,
        dirty: &mut bool,
        change: impl FnOnce(&mut Job) -> Result<bool, StoreError>,
    ) -> Answer {
        let Some(job) = (match self.read(lease.key())? {
            Ok(job) => job,
            Err(e) => return Ok(Err(e)),
        }) else {
            return Ok(Err(StoreError::LeaseLost));
        };
        let mut changed = job.clone();
        Ok(match change(&mut changed) {
            Ok(true) => {
                self.put(lease.key(), Some(&job), &changed)?;
                *dirty = true;
                Ok(Done::Unit)
            }
            Ok(false) => Ok(Done::Unit),
            Err(e) => Err(e),
        })
    }
}

/// The job's due-index time: its due time in microseconds, rounded up (so an entry at or before
/// the current microsecond, rounded down, is due); `None` once finished.
fn due_key(job: &Job) -> Option<u64> {
    let since = job.due_at()?.duration_since(UNIX_EPOCH).unwrap_or_default();
    let micros = since.as_micros() + u128::from(since.subsec_nanos() % 1000 != 0);
    Some(u64::try_from(micros).unwrap_or(u64::MAX))
}

fn micros_floor(at: SystemTime) -> u64 {
    let micros = at
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros();
    u64::try_from(micros).unwrap_or(u64::MAX)
}

#[async_trait]
impl CallbackQueue for RedbStore {
    async fn enqueue(&self, key: &str, payload: &[u8]) -> Result<bool, StoreError> {
        match self
            .send(Op::Job(JobOp::Enqueue {
                key: key.to_owned(),
                payload: payload.to_vec(),
            }))
            .await?
        {
            Done::Bool(added) => Ok(added),
            other => Err(unexpected(other)),
        }
    }

    async fn claim_due(
        &self,
        lease: Duration,
    ) -> Result<Option<(PendingJob, JobLease)>, StoreError> {
        match self.send(Op::Job(JobOp::ClaimDue { lease })).await? {
            Done::Job(claimed) => Ok(claimed),
            other => Err(unexpected(other)),
        }
    }

    async fn record_outcome(&self, lease: &JobLease, outcome: &[u8]) -> Result<(), StoreError> {
        self.send_unit(Op::Job(JobOp::RecordOutcome {
            lease: lease.clone(),
            outcome: outcome.to_vec(),
        }))
        .await
    }

    async fn retry_later(&self, lease: &JobLease, delay: Duration) -> Result<(), StoreError> {
        self.send_unit(Op::Job(JobOp::RetryLater {
            lease: lease.clone(),
            delay,
        }))
        .await
    }

    async fn finish(&self, lease: &JobLease, delivered: bool) -> Result<(), StoreError> {
        self.send_unit(Op::Job(JobOp::Finish {
            lease: lease.clone(),
            delivered,
        }))
        .await
    }

    async fn pending(&self) -> Result<u64, StoreError> {
        match self.send(Op::Job(JobOp::Pending)).await? {
            Done::Count(n) => Ok(n),
            other => Err(unexpected(other)),
        }
    }
}

// Job layout, version 1 (all integers big-endian):
//   [0]        version = 1
//   [1]        state: 0 = waiting, 1 = leased, 2 = finished
//   [2]        flags: bit 0 = has an outcome, bit 1 = delivered (finished only)
//   [3..7]     attempts
//   [7..19]    created_at: seconds since the epoch (8), nanoseconds (4)
//   [19..31]   the state's time: not_before, lease expiry, or when finished
//   [31..47]   token (zeros while waiting)
//   [47..55]   payload length n
//   [55..55+n] payload
//   [55+n..]   outcome, when the flag says so
const VERSION: u8 = 1;
const WAITING: u8 = 0;
const LEASED: u8 = 1;
const FINISHED: u8 = 2;
const HAS_OUTCOME: u8 = 1;
const DELIVERED: u8 = 2;
const HEADER: usize = 55;

fn encode(job: &Job) -> Vec<u8> {
    let outcome = job.outcome.as_deref().unwrap_or_default();
    let mut out = Vec::with_capacity(HEADER + job.payload.len() + outcome.len());
    let (state, at, token, delivered) = match job.state {
        JobState::Waiting { not_before } => (WAITING, not_before, [0; 16], false),
        JobState::Leased { token, expires_at } => (LEASED, expires_at, token, false),
        JobState::Finished {
            token,
            at,
            delivered,
        } => (FINISHED, at, token, delivered),
    };
    let flags = if job.outcome.is_some() {
        HAS_OUTCOME
    } else {
        0
    } | if delivered { DELIVERED } else { 0 };
    out.extend_from_slice(&[VERSION, state, flags]);
    out.extend_from_slice(&job.attempts.to_be_bytes());
    put_time(&mut out, job.created_at);
    put_time(&mut out, at);
    out.extend_from_slice(&token);
    out.extend_from_slice(&(job.payload.len() as u64).to_be_bytes());
    out.extend_from_slice(&job.payload);
    out.extend_from_slice(outcome);
    out
}

fn decode(bytes: &[u8]) -> Result<Job, StoreError> {
    let corrupt =
        |what: &str| StoreError::unavailable("reading a redb job", format!("corrupt job: {what}"));
    let take = |at: usize, len: usize| {
        at.checked_add(len)
            .and_then(|end| bytes.get(at..end))
            .ok_or_else(|| corrupt("too short"))
    };
    let array = |at: usize| -> Result<[u8; 4], StoreError> {
        take(at, 4)?.try_into().map_err(|_| corrupt("too short"))
    };
    let long = |at: usize| -> Result<u64, StoreError> {
        Ok(u64::from_be_bytes(
            take(at, 8)?.try_into().map_err(|_| corrupt("too short"))?,
        ))
    };
    let time = |at: usize| -> Result<SystemTime, StoreError> {
        let nanos = u32::from_be_bytes(array(at + 8)?);
        if nanos >= 1_000_000_000 {
            return Err(corrupt("time"));
        }
        UNIX_EPOCH
            .checked_add(Duration::new(long(at)?, nanos))
            .ok_or_else(|| corrupt("time"))
    };
    let [version, state, flags] = take(0, 3)? else {
        return Err(corrupt("too short"));
    };
    if *version != VERSION {
        return Err(corrupt("unknown version"));
    }
    let token: [u8; 16] = take(31, 16)?.try_into().map_err(|_| corrupt("token"))?;
    let at = time(19)?;
    let state = match *state {
        WAITING => JobState::Waiting { not_before: at },
        LEASED => JobState::Leased {
            token,
            expires_at: at,
        },
        FINISHED => JobState::Finished {
            token,
            at,
            delivered: flags & DELIVERED != 0,
        },
        _ => return Err(corrupt("unknown state")),
    };
    let len = usize::try_from(long(47)?).map_err(|_| corrupt("payload length"))?;
    let payload = take(HEADER, len)?.to_vec();
    let rest = &bytes[HEADER + len..];
    let outcome = if flags & HAS_OUTCOME != 0 {
        Some(rest.to_vec())
    } else if rest.is_empty() {
        None
    } else {
        return Err(corrupt("trailing bytes"));
    };
    Ok(Job {
        payload,
        outcome,
        attempts: u32::from_be_bytes(array(3)?),
        created_at: time(7)?,
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_redb_jobs_round_trip() {
        let at = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        let later = at + Duration::from_millis(1500);
        let waiting = Job {
            payload: br#"{"action":"send_email"}"#.to_vec(),
            outcome: None,
            attempts: 0,
            created_at: at,
            state: JobState::Waiting { not_before: at },
        };
        let leased = Job {
            outcome: Some(vec![]),
            attempts: u32::MAX,
            state: JobState::Leased {
                token: [7; 16],
                expires_at: later,
            },
            ..waiting.clone()
        };
        let finished = Job {
            payload: vec![],
            outcome: Some(vec![0, 255, 1]),
            attempts: 3,
            state: JobState::Finished {
                token: [9; 16],
                at: later,
                delivered: true,
            },
            ..waiting.clone()
        };
        let undelivered = Job {
            state: JobState::Finished {
                token: [9; 16],
                at: later,
                delivered: false,
            },
            outcome: None,
            ..finished.clone()
        };
        for job in [&waiting, &leased, &finished, &undelivered] {
            assert_eq!(&decode(&encode(job)).unwrap(), job);
        }
        let good = encode(&leased);
        for bad in [
            &[][..],
            &[2, 0, 0],
            &good[..HEADER + 3],
            &[&encode(&waiting)[..], &[1][..]].concat(),
            &[&good[..1], &[7][..], &good[2..]].concat(),
        ] {
            assert!(decode(bad).unwrap_err().is_unavailable());
        }
    }

    #[test]
    fn store_redb_due_keys_round_up() {
        let job = |nanos| Job::new(b"", UNIX_EPOCH + Duration::new(2, nanos));
        assert_eq!(due_key(&job(0)), Some(2_000_000));
        assert_eq!(due_key(&job(1)), Some(2_000_001));
        assert_eq!(due_key(&job(999)), Some(2_000_001));
        assert_eq!(due_key(&job(1000)), Some(2_000_001));
        assert_eq!(micros_floor(UNIX_EPOCH + Duration::new(2, 999)), 2_000_000);
    }
}
