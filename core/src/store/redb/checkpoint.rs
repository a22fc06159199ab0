//! Checkpoints of [`RedbStore`](super::RedbStore): the durable database commits that end a
//! journal generation, and recovery on open.
//!
//! Between checkpoints the database is committed without `fsync`, and the journal holds every
//! change that was promised durable. A checkpoint commits the database durably (so everything it
//! holds, including the journal's records, is on disk in the file itself) together with a new,
//! random generation number in the [`META`] table; records of older generations are ignored from
//! then on, so the journal is written from its start again.
//!
//! On open, [`recover`] reads the generation the database names, replays that generation's
//! records from the journal (the outcomes acknowledged since the last checkpoint, which a crash
//! may have kept out of the database) and checkpoints, all in one durable commit.

use std::error::Error as StdError;

use ::redb::{Database, ReadableDatabase as _, TableDefinition};

use super::changes::Tables;
use super::journal::Journal;

/// Store metadata: name → number.
pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("actionkit_meta_v1");
/// The journal generation whose records complete the database.
const GENERATION: &str = "journal_generation";

type Error = Box<dyn StdError + Send + Sync + 'static>;

/// Replays the journal's records of the database's generation, creates the store's tables if
/// they are missing, and checkpoints; returns the new generation and how many records were
/// replayed.
pub(super) fn recover(db: &Database, journal: &Journal) -> Result<(u64, usize), Error> {
    let current = generation(db)?;
    let records = match current {
        Some(generation) => journal.replay(generation)?,
        None => Vec::new(),
    };
    let next = commit(db, current, &records)?;
    Ok((next, records.len()))
}

/// Commits durably under a new generation (with every earlier commit made without `fsync`);
/// returns it.
pub(super) fn checkpoint(db: &Database, current: u64) -> Result<u64, Error> {
    commit(db, Some(current), &[])
}

/// The generation the database names; `None` for a fresh file.
fn generation(db: &Database) -> Result<Option<u64>, Error> {
    let txn = db.begin_read()?;
    let table = match txn.open_table(META) {
        Ok(table) => table,
        Err(::redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(table.get(GENERATION)?.map(|value| value.value()))
}

/// One durable commit: `records` replayed, then a new generation (other than `current`).
fn commit(db: &Database, current: Option<u64>, records: &[Vec<u8>]) -> Result<u64, Error> {
    let next = loop {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(|e| e.to_string())?;
        let drawn = u64::from_le_bytes(bytes);
        if drawn != 0 && Some(drawn) != current {
            break drawn;
        }
    };
    let txn = db.begin_write()?;
    {
        let mut tables = Tables::open(&txn)?;
        for record in records {
            tables.replay(record)?;
        }
        txn.open_table(META)?.insert(GENERATION, next)?;
    }
    txn.commit()?;
    Ok(next)
}
