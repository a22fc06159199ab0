//! The decision rules shared by the stores that hold whole records in Rust ([`MemoryStore`] and
//! [`RedbStore`]); PostgreSQL applies the same rules in SQL.
//!
//! [`MemoryStore`]: super::MemoryStore
//! [`RedbStore`]: super::RedbStore

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{Claim, InputHash, Lease, MAX_DURATION, Recorded, StoreError, deadline};

/// What a store keeps per id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) input: InputHash,
    /// The token of the claim that wrote this entry (kept after completion so that completing
    /// the same lease twice is recognised).
    pub(crate) token: [u8; 16],
    pub(crate) state: State,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Running { expires_at: SystemTime },
    Done(Recorded),
}

impl Entry {
    /// A new running claim, and the lease that owns it.
    pub(crate) fn running(
        key: impl Into<Arc<str>>,
        input: InputHash,
        now: SystemTime,
        lease: Duration,
    ) -> Result<(Self, Lease), StoreError> {
        let token = super::new_token()?;
        let expires_at = deadline(now, lease);
        let entry = Self {
            input,
            token,
            state: State::Running { expires_at },
        };
        Ok((entry, Lease::new(key, token, expires_at)))
    }

    /// Whether the entry still counts: a running claim whose lease has not expired, or a record
    /// within its retention. An entry that does not count is as good as absent.
    pub(crate) fn is_live(&self, now: SystemTime, retention: Duration) -> bool {
        match &self.state {
            State::Running { expires_at } => *expires_at > now,
            State::Done(recorded) => match recorded
                .recorded_at
                .checked_add(retention.min(MAX_DURATION))
            {
                Some(until) => until > now,
                None => true,
            },
        }
    }
}

/// The answer to a claim when an entry blocks it, or `None` when the id is free.
pub(crate) fn classify(
    entry: Option<&Entry>,
    input: &InputHash,
    now: SystemTime,
    retention: Duration,
) -> Option<Claim> {
    let entry = entry.filter(|e| e.is_live(now, retention))?;
    if entry.input != *input {
        return Some(Claim::Conflict);
    }
    Some(match &entry.state {
        State::Done(recorded) => Claim::Replay(recorded.clone()),
        State::Running { expires_at } => Claim::InProgress {
            retry_after: expires_at.duration_since(now).unwrap_or(Duration::ZERO),
        },
    })
}

/// The entry to write when `lease` completes with `outcome`; `Ok(None)` when the lease already
/// completed (nothing to write).
pub(crate) fn complete(
    entry: Option<&Entry>,
    lease: &Lease,
    outcome: &Recorded,
) -> Result<Option<Entry>, StoreError> {
    match entry {
        Some(e) if e.token == *lease.token() => match e.state {
            State::Running { .. } => Ok(Some(Entry {
                input: e.input,
                token: e.token,
                state: State::Done(outcome.clone()),
            })),
            State::Done(_) => Ok(None),
        },
        _ => Err(StoreError::LeaseLost),
    }
}

/// Checks that `lease` may release `entry` (a running claim with its token).
pub(crate) fn release(entry: Option<&Entry>, lease: &Lease) -> Result<(), StoreError> {
    match entry {
        Some(e) if e.token == *lease.token() && matches!(e.state, State::Running { .. }) => Ok(()),
        _ => Err(StoreError::LeaseLost),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn store_rules_conflict_before_in_progress_and_replay() {
        let (entry, lease) =
            Entry::running("k", InputHash([1; 32]), at(100), Duration::from_secs(10)).unwrap();
        let day = Duration::from_secs(86_400);
        assert_eq!(
            classify(Some(&entry), &InputHash([2; 32]), at(105), day),
            Some(Claim::Conflict)
        );
        assert_eq!(
            classify(Some(&entry), &InputHash([1; 32]), at(105), day),
            Some(Claim::InProgress {
                retry_after: Duration::from_secs(5)
            })
        );
        assert_eq!(
            classify(Some(&entry), &InputHash([2; 32]), at(110), day),
            None
        );
        let done = complete(
            Some(&entry),
            &lease,
            &Recorded {
                status: 200,
                body: Default::default(),
                recorded_at: at(106),
            },
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            classify(Some(&done), &InputHash([2; 32]), at(200), day),
            Some(Claim::Conflict)
        );
        assert!(matches!(
            classify(Some(&done), &InputHash([1; 32]), at(200), day),
            Some(Claim::Replay(_))
        ));
        assert_eq!(
            classify(Some(&done), &InputHash([2; 32]), at(106 + 86_400), day),
            None
        );
        assert!(
            complete(
                Some(&done),
                &lease,
                &Recorded {
                    status: 500,
                    body: Default::default(),
                    recorded_at: at(107)
                }
            )
            .unwrap()
            .is_none()
        );
        assert!(release(Some(&done), &lease).unwrap_err().is_lease_lost());
    }
}
