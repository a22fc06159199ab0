//! What one write transaction of [`RedbStore`](super::RedbStore) changed, as a journal record's
//! payload: the new value of every key it wrote (or that it removed the key), in order. Replaying
//! a payload sets those keys to those values again, so replaying it over any state the database
//! can be found in after a crash (the last durable commit, plus or minus non-durable ones) leaves
//! each key the payload names as the acknowledged batch left it.
//!
//! Payload layout, one change after another (integers big-endian):
//!
//! ```text
//! [0]          kind: 1 put record, 2 remove record, 3 put job, 4 remove job, 5 put due, 6 remove due
//! [1..5]       key length k, then the key (UTF-8)
//! due only:    8 bytes, the due time in microseconds
//! put only:    value length v (4 bytes), then the value
//! ```

use ::redb::Table;

use super::TABLE;
use super::queue::{DUE, JOBS};

const PUT_RECORD: u8 = 1;
const REMOVE_RECORD: u8 = 2;
const PUT_JOB: u8 = 3;
const REMOVE_JOB: u8 = 4;
const PUT_DUE: u8 = 5;
const REMOVE_DUE: u8 = 6;

/// The changes of one transaction, encoded as they are made.
#[derive(Default)]
pub(super) struct Changes {
    bytes: Vec<u8>,
}

impl Changes {
    /// Whether nothing was changed.
    pub(super) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The encoded payload.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// An idempotency record was written.
    pub(super) fn put_record(&mut self, key: &str, value: &[u8]) {
        self.key(PUT_RECORD, key);
        self.value(value);
    }

    /// An idempotency record was removed.
    pub(super) fn remove_record(&mut self, key: &str) {
        self.key(REMOVE_RECORD, key);
    }

    /// A job was written.
    pub(super) fn put_job(&mut self, key: &str, value: &[u8]) {
        self.key(PUT_JOB, key);
        self.value(value);
    }

    /// A due-index entry was added.
    pub(super) fn put_due(&mut self, micros: u64, key: &str) {
        self.key(PUT_DUE, key);
        self.bytes.extend_from_slice(&micros.to_be_bytes());
    }

    /// A due-index entry was removed.
    pub(super) fn remove_due(&mut self, micros: u64, key: &str) {
        self.key(REMOVE_DUE, key);
        self.bytes.extend_from_slice(&micros.to_be_bytes());
    }

    fn key(&mut self, kind: u8, key: &str) {
        self.bytes.push(kind);
        self.bytes
            .extend_from_slice(&(key.len() as u32).to_be_bytes());
        self.bytes.extend_from_slice(key.as_bytes());
    }

    fn value(&mut self, value: &[u8]) {
        self.bytes
            .extend_from_slice(&(value.len() as u32).to_be_bytes());
        self.bytes.extend_from_slice(value);
    }
}

/// Why a payload could not be replayed.
#[derive(Debug, thiserror::Error)]
pub(super) enum ReplayError {
    #[error("corrupt journal record: {0}")]
    Corrupt(&'static str),
    #[error(transparent)]
    Storage(#[from] ::redb::Error),
}

impl From<::redb::StorageError> for ReplayError {
    fn from(e: ::redb::StorageError) -> Self {
        Self::Storage(e.into())
    }
}

/// The three tables a payload may name, open in one write transaction.
pub(super) struct Tables<'t> {
    pub(super) records: Table<'t, &'static str, &'static [u8]>,
    pub(super) jobs: Table<'t, &'static str, &'static [u8]>,
    pub(super) due: Table<'t, (u64, &'static str), ()>,
}

impl Tables<'_> {
    /// Opens the tables in `txn`.
    pub(super) fn open(txn: &::redb::WriteTransaction) -> Result<Tables<'_>, ::redb::Error> {
        Ok(Tables {
            records: txn.open_table(TABLE)?,
            jobs: txn.open_table(JOBS)?,
            due: txn.open_table(DUE)?,
        })
    }

    /// Makes the changes `payload` names.
    pub(super) fn replay(&mut self, payload: &[u8]) -> Result<(), ReplayError> {
        let bytes = payload;
        let mut at = 0usize;
        let slice = |at: &mut usize, n: usize| -> Result<&[u8], ReplayError> {
            let s = bytes
                .get(*at..*at + n)
                .ok_or(ReplayError::Corrupt("too short"))?;
            *at += n;
            Ok(s)
        };
        let len = |at: &mut usize| -> Result<usize, ReplayError> {
            let s = slice(at, 4)?;
            Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize)
        };
        while at < bytes.len() {
            let kind = slice(&mut at, 1)?[0];
            let key_len = len(&mut at)?;
            let key = std::str::from_utf8(slice(&mut at, key_len)?)
                .map_err(|_| ReplayError::Corrupt("key not UTF-8"))?;
            match kind {
                PUT_RECORD | PUT_JOB => {
                    let value_len = len(&mut at)?;
                    let value = slice(&mut at, value_len)?;
                    let table = if kind == PUT_RECORD {
                        &mut self.records
                    } else {
                        &mut self.jobs
                    };
                    table.insert(key, value)?;
                }
                REMOVE_RECORD => {
                    self.records.remove(key)?;
                }
                REMOVE_JOB => {
                    self.jobs.remove(key)?;
                }
                PUT_DUE | REMOVE_DUE => {
                    let s = slice(&mut at, 8)?;
                    let micros = u64::from_be_bytes(s.try_into().expect("eight bytes"));
                    if kind == PUT_DUE {
                        self.due.insert((micros, key), ())?;
                    } else {
                        self.due.remove((micros, key))?;
                    }
                }
                _ => return Err(ReplayError::Corrupt("unknown change")),
            }
        }
        Ok(())
    }
}
