//! Outcomes the store could not take yet. When a handler has finished but recording its outcome
//! fails (the store is briefly unavailable), the outcome is kept here and recorded in the
//! background as soon as the store answers; meanwhile a redelivery of the same id is answered
//! from here, so the side effect never runs twice for an outage shorter than the process's life.
//! (A restart loses what is kept: the id then stays claimed until its lease expires, as after a
//! crash.)

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::store::{InputHash, Recorded};

/// The kept outcomes, by idempotency key.
#[derive(Default)]
pub(crate) struct Kept {
    // Read on every claim: the count lets the usual case (nothing kept) skip the lock.
    len: AtomicUsize,
    outcomes: Mutex<HashMap<String, (InputHash, Recorded)>>,
}

impl Kept {
    /// The outcome kept for `key`, with the hash of the input it answered.
    pub(crate) fn get(&self, key: &str) -> Option<(InputHash, Recorded)> {
        if self.len.load(Ordering::Acquire) == 0 {
            return None;
        }
        self.lock().get(key).cloned()
    }

    /// Keeps `recorded` for `key` until [`forget`](Kept::forget).
    pub(crate) fn keep(&self, key: &str, input: InputHash, recorded: Recorded) {
        let mut outcomes = self.lock();
        outcomes.insert(key.to_owned(), (input, recorded));
        self.len.store(outcomes.len(), Ordering::Release);
    }

    /// The store has `key`'s outcome (or another owner has the id): stop keeping it.
    pub(crate) fn forget(&self, key: &str) {
        let mut outcomes = self.lock();
        outcomes.remove(key);
        self.len.store(outcomes.len(), Ordering::Release);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (InputHash, Recorded)>> {
        // Every change is one insert or remove: a poisoned map is still consistent.
        self.outcomes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;

    #[test]
    fn kept_outcomes_are_found_until_forgotten() {
        let kept = Kept::default();
        assert!(kept.get("k").is_none());
        let recorded = Recorded {
            status: 200,
            body: bytes::Bytes::from_static(b"{}"),
            recorded_at: SystemTime::now(),
        };
        kept.keep("k", InputHash([1; 32]), recorded.clone());
        assert_eq!(kept.get("k"), Some((InputHash([1; 32]), recorded)));
        assert!(kept.get("other").is_none());
        kept.forget("k");
        assert!(kept.get("k").is_none());
    }
}
