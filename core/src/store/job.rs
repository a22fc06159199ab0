//! The queue rules shared by the stores that hold whole jobs in Rust ([`MemoryStore`] and
//! [`RedbStore`]); PostgreSQL applies the same rules in SQL.
//!
//! [`MemoryStore`]: super::MemoryStore
//! [`RedbStore`]: super::RedbStore

use std::time::{Duration, SystemTime};

use super::{JobLease, MAX_DURATION, PendingJob, StoreError, deadline};

/// What a store keeps per job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Job {
    pub(crate) payload: Vec<u8>,
    pub(crate) outcome: Option<Vec<u8>>,
    pub(crate) attempts: u32,
    pub(crate) created_at: SystemTime,
    pub(crate) state: JobState,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum JobState {
    /// Not leased; claimable from `not_before` on.
    Waiting { not_before: SystemTime },
    /// Leased to `token`; claimable again from `expires_at` on.
    Leased {
        token: [u8; 16],
        expires_at: SystemTime,
    },
    /// Done for good (the token that finished it is kept so that a repeated finish is
    /// recognised); purged `retention` after `at`.
    Finished {
        token: [u8; 16],
        at: SystemTime,
        delivered: bool,
    },
}

impl Job {
    /// A new job, due at once.
    pub(crate) fn new(payload: &[u8], now: SystemTime) -> Self {
        Self {
            payload: payload.to_vec(),
            outcome: None,
            attempts: 0,
            created_at: now,
            state: JobState::Waiting { not_before: now },
        }
    }

    /// From when the job may be claimed; `None` once finished.
    pub(crate) fn due_at(&self) -> Option<SystemTime> {
        match self.state {
            JobState::Waiting { not_before } => Some(not_before),
            JobState::Leased { expires_at, .. } => Some(expires_at),
            JobState::Finished { .. } => None,
        }
    }

    /// Whether [`claim`](Self::claim) may take the job now.
    pub(crate) fn is_due(&self, now: SystemTime) -> bool {
        self.due_at().is_some_and(|at| at <= now)
    }

    /// Whether the job is not finished.
    pub(crate) fn is_pending(&self) -> bool {
        !matches!(self.state, JobState::Finished { .. })
    }

    /// Leases the (due) job to a new token; returns what the claimer gets.
    pub(crate) fn claim(
        &mut self,
        key: &str,
        now: SystemTime,
        lease: Duration,
    ) -> Result<(PendingJob, JobLease), StoreError> {
        debug_assert!(self.is_due(now));
        let token = super::new_token()?;
        let expires_at = deadline(now, lease);
        self.state = JobState::Leased { token, expires_at };
        let job = PendingJob {
            key: key.to_owned(),
            payload: self.payload.clone(),
            outcome: self.outcome.clone(),
            attempts: self.attempts,
            created_at: self.created_at,
        };
        Ok((job, JobLease::new(key, token, expires_at)))
    }

    /// Checks that `lease` holds the job's current lease.
    fn owned_by(&self, lease: &JobLease) -> Result<(), StoreError> {
        match self.state {
            JobState::Leased { token, .. } if token == *lease.token() => Ok(()),
            _ => Err(StoreError::LeaseLost),
        }
    }

    /// Stores `outcome` unless one is stored already; returns whether the job changed.
    pub(crate) fn record_outcome(
        &mut self,
        lease: &JobLease,
        outcome: &[u8],
    ) -> Result<bool, StoreError> {
        self.owned_by(lease)?;
        if self.outcome.is_some() {
            return Ok(false);
        }
        self.outcome = Some(outcome.to_vec());
        Ok(true)
    }

    /// Ends the lease; the job is due again `delay` from `now`.
    pub(crate) fn retry_later(
        &mut self,
        lease: &JobLease,
        now: SystemTime,
        delay: Duration,
    ) -> Result<(), StoreError> {
        self.owned_by(lease)?;
        self.attempts = self.attempts.saturating_add(1);
        self.state = JobState::Waiting {
            not_before: deadline(now, delay),
        };
        Ok(())
    }

    /// Finishes the job; returns whether it changed (`false` when this lease finished it before).
    pub(crate) fn finish(
        &mut self,
        lease: &JobLease,
        now: SystemTime,
        delivered: bool,
    ) -> Result<bool, StoreError> {
        if let JobState::Finished { token, .. } = self.state
            && token == *lease.token()
        {
            return Ok(false);
        }
        self.owned_by(lease)?;
        self.state = JobState::Finished {
            token: *lease.token(),
            at: now,
            delivered,
        };
        Ok(true)
    }

    /// Whether `purge_expired` removes the job: finished more than `retention` ago.
    pub(crate) fn is_purgeable(&self, now: SystemTime, retention: Duration) -> bool {
        match self.state {
            JobState::Finished { at, .. } => at
                .checked_add(retention.min(MAX_DURATION))
                .is_some_and(|until| until <= now),
            _ => false,
        }
    }
}

/// The job [`claim_due`](super::CallbackQueue::claim_due) takes among `jobs`: the due one that
/// has been due longest (ties broken by key).
pub(crate) fn next_due<'a>(
    jobs: impl IntoIterator<Item = (&'a str, &'a Job)>,
    now: SystemTime,
) -> Option<&'a str> {
    jobs.into_iter()
        .filter_map(|(key, job)| Some((job.due_at().filter(|at| *at <= now)?, key)))
        .min()
        .map(|(_, key)| key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn store_job_rules_lease_retry_finish() {
        let mut job = Job::new(b"p", at(100));
        assert!(job.is_due(at(100)) && job.is_pending());
        let (pending, first) = job.claim("k", at(100), Duration::from_secs(10)).unwrap();
        assert_eq!((pending.attempts, pending.outcome), (0, None));
        assert_eq!(first.expires_at(), at(110));
        assert!(!job.is_due(at(109)) && job.is_due(at(110)));

        // an expired lease still works until the job is claimed again
        assert!(job.record_outcome(&first, b"one").unwrap());
        assert!(!job.record_outcome(&first, b"two").unwrap(), "first kept");
        let (pending, second) = job.claim("k", at(111), Duration::from_secs(10)).unwrap();
        assert_eq!(pending.outcome.as_deref(), Some(&b"one"[..]));
        let before = job.clone();
        assert!(
            job.record_outcome(&first, b"x")
                .unwrap_err()
                .is_lease_lost()
        );
        assert!(
            job.retry_later(&first, at(111), Duration::ZERO)
                .unwrap_err()
                .is_lease_lost()
        );
        assert!(
            job.finish(&first, at(111), true)
                .unwrap_err()
                .is_lease_lost()
        );
        assert_eq!(job, before, "stale calls change nothing");

        job.retry_later(&second, at(112), Duration::from_secs(5))
            .unwrap();
        assert_eq!(job.attempts, 1);
        assert!(!job.is_due(at(116)) && job.is_due(at(117)));
        assert!(
            job.finish(&second, at(113), true)
                .unwrap_err()
                .is_lease_lost(),
            "retry_later ends the lease"
        );

        let (_, third) = job.claim("k", at(117), Duration::from_secs(10)).unwrap();
        assert!(job.finish(&third, at(118), false).unwrap());
        assert!(
            !job.finish(&third, at(119), true).unwrap(),
            "repeated finish"
        );
        assert_eq!(
            job.state,
            JobState::Finished {
                token: *third.token(),
                at: at(118),
                delivered: false
            }
        );
        assert!(!job.is_due(at(10_000)) && !job.is_pending());
        assert!(
            job.record_outcome(&third, b"x")
                .unwrap_err()
                .is_lease_lost()
        );
        let day = Duration::from_secs(86_400);
        assert!(!job.is_purgeable(at(118 + 86_399), day));
        assert!(job.is_purgeable(at(118 + 86_400), day));
    }

    #[test]
    fn store_job_next_due_takes_the_longest_due() {
        let a = Job::new(b"", at(5));
        let b = Job::new(b"", at(3));
        let c = Job::new(b"", at(3));
        let later = Job::new(b"", at(50));
        let jobs = [("a", &a), ("c", &c), ("b", &b), ("later", &later)];
        assert_eq!(next_due(jobs, at(10)), Some("b"));
        assert_eq!(next_due(jobs, at(2)), None);
        assert_eq!(next_due([("later", &later)], at(10)), None);
    }
}
