//! The journal file of [`RedbStore`](super::RedbStore): an append-only log of framed records in
//! a file preallocated beside the database, so that making a group of outcomes durable costs one
//! write of a few blocks that already exist and one `fdatasync`.
//!
//! The file is filled with zeros to its full capacity when it is created (or found shorter), and
//! never grows afterwards: a disk that is full cannot take the store by surprise in the middle of
//! a write (it fails the open instead, cleanly), and `fdatasync` has no file size or extent map
//! to write, only the data blocks.
//!
//! Each record is framed:
//!
//! ```text
//! [0..4]    magic "AKJ1"
//! [4..8]    CRC-32 (IEEE) of bytes [8..28 + len]
//! [8..16]   generation (big-endian)
//! [16..24]  sequence number within the generation, from 0 (big-endian)
//! [24..28]  payload length `len` (big-endian)
//! [28..]    payload
//! ```
//!
//! The records of one *generation* are written one after the other from offset 0. A generation
//! ends at a checkpoint: the database is committed durably with the next generation's number,
//! drawn at random, in its own metadata, and the journal is written from offset 0 again. On
//! open, [`Journal::replay`] reads the records of the generation the database names, in order,
//! and stops at the first one that does not follow: a torn tail (bad checksum or length), a
//! stale record from an earlier generation (another number), or zeros. A random generation
//! rather than a counter means that even a journal left beside a fresh database (the database
//! file deleted by hand) holds nothing that could pass for a record of the new one.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

/// Bytes before the payload.
pub(super) const HEADER: usize = 28;
const MAGIC: &[u8; 4] = b"AKJ1";

/// The journal file, shared by the writer thread (replay) and the sync thread (appends).
pub(super) struct Journal {
    file: File,
    path: PathBuf,
    capacity: u64,
}

impl Journal {
    /// Opens or creates the journal at `path` and fills it with zeros up to `capacity` bytes (or
    /// keeps its size, when larger), synced to disk. Fails when the space is not there.
    pub(super) fn open(path: &Path, capacity: u64) -> io::Result<Journal> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let len = file.metadata()?.len();
        if len < capacity {
            // Real zeros, not `fallocate`: an allocated but unwritten extent would make the
            // first `fdatasync` of each block record its conversion in the filesystem's journal.
            let zeros = vec![0u8; 64 * 1024];
            let mut at = len;
            while at < capacity {
                let n = (capacity - at).min(zeros.len() as u64) as usize;
                file.write_all_at(&zeros[..n], at)?;
                at += n as u64;
            }
            file.sync_all()?;
        }
        Ok(Journal {
            file,
            path: path.to_owned(),
            capacity: capacity.max(len),
        })
    }

    /// The file's path.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// How many bytes the records of one generation may take in all.
    pub(super) fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The payloads of `generation`'s records, in order, up to the first that does not follow.
    pub(super) fn replay(&self, generation: u64) -> io::Result<Vec<Vec<u8>>> {
        let mut bytes = vec![0u8; self.capacity as usize];
        let mut read = 0;
        while read < bytes.len() {
            match self.file.read_at(&mut bytes[read..], read as u64)? {
                0 => break,
                n => read += n,
            }
        }
        bytes.truncate(read);
        Ok(records(&bytes, generation))
    }

    /// Writes `bytes` (whole framed records) at `offset`; not durable before [`sync`](Self::sync).
    pub(super) fn write_at(&self, bytes: &[u8], offset: u64) -> io::Result<()> {
        self.file.write_all_at(bytes, offset)
    }

    /// `fdatasync`: what was written is on disk when this returns `Ok`.
    pub(super) fn sync(&self) -> io::Result<()> {
        #[cfg(test)]
        while faults::STALLED.is(&self.path) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        #[cfg(test)]
        if faults::FAILING.is(&self.path) {
            return Err(io::Error::other("injected fdatasync failure"));
        }
        self.file.sync_data()
    }
}

/// Unit tests' fault injection, by journal path: an `fdatasync` that fails (`FAILING`) or that
/// does not return until the switch is off (`STALLED`).
#[cfg(test)]
pub(super) mod faults {
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;

    /// A set of journal paths.
    pub struct Switch(Mutex<Vec<PathBuf>>);

    pub static FAILING: Switch = Switch(Mutex::new(Vec::new()));
    pub static STALLED: Switch = Switch(Mutex::new(Vec::new()));

    impl Switch {
        pub fn set(&self, path: &Path, on: bool) {
            let mut paths = self.0.lock().unwrap();
            paths.retain(|p| p != path);
            if on {
                paths.push(path.to_owned());
            }
        }

        pub fn is(&self, path: &Path) -> bool {
            self.0.lock().unwrap().iter().any(|p| p == path)
        }
    }
}

/// One framed record.
pub(super) fn frame(generation: u64, seq: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&generation.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    // Records are bounded by the journal's capacity, far below 4 GiB.
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    let crc = crc32(&out[8..]);
    out[4..8].copy_from_slice(&crc.to_be_bytes());
    out
}

/// The payloads of `generation`'s records at the start of `bytes`, in order.
fn records(bytes: &[u8], generation: u64) -> Vec<Vec<u8>> {
    let mut found = Vec::new();
    let mut at = 0usize;
    while let Some(header) = bytes.get(at..at + HEADER) {
        let field = |range: std::ops::Range<usize>| {
            let mut b = [0u8; 8];
            b[8 - range.len()..].copy_from_slice(&header[range]);
            u64::from_be_bytes(b)
        };
        if &header[..4] != MAGIC
            || field(8..16) != generation
            || field(16..24) != found.len() as u64
        {
            break;
        }
        let len = field(24..28) as usize;
        let Some(record) = bytes.get(at..at + HEADER + len) else {
            break;
        };
        if crc32(&record[8..]) != field(4..8) as u32 {
            break;
        }
        found.push(record[HEADER..].to_vec());
        at += HEADER + len;
    }
    found
}

/// CRC-32 (IEEE 802.3, as zlib's).
fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_redb_journal_crc32_matches_zlib() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    fn chain(generation: u64, payloads: &[&[u8]]) -> Vec<u8> {
        payloads
            .iter()
            .enumerate()
            .flat_map(|(seq, p)| frame(generation, seq as u64, p))
            .collect()
    }

    #[test]
    fn store_redb_journal_replays_a_chain_up_to_a_torn_tail() {
        let mut bytes = chain(7, &[b"one", b"", b"three"]);
        bytes.extend_from_slice(&[0; 100]);
        assert_eq!(
            records(&bytes, 7),
            [b"one".to_vec(), vec![], b"three".to_vec()]
        );
        // another generation: nothing
        assert!(records(&bytes, 8).is_empty());
        // zeros: nothing
        assert!(records(&[0; 4096], 0).is_empty());
        // a torn last record (its end missing, or a byte of it flipped) ends the chain before it
        let whole = chain(7, &[b"one", b"two"]);
        let torn = &whole[..whole.len() - 1];
        assert_eq!(records(torn, 7), [b"one".to_vec()]);
        let mut flipped = whole.clone();
        let last = flipped.len() - 2;
        flipped[last] ^= 1;
        assert_eq!(records(&flipped, 7), [b"one".to_vec()]);
        // a length past the end
        let mut long = chain(7, &[b"x"]);
        long[24..28].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(records(&long, 7).is_empty());
    }

    #[test]
    fn store_redb_journal_ignores_stale_records_after_a_new_generation() {
        // generation 1 wrote three records; after a checkpoint generation 2 wrote one shorter
        // record over the start: the old second and third records follow it in the file but
        // belong to generation 1, so they end the chain
        let mut bytes = chain(1, &[b"aaaaaaaa", b"bbbbbbbb", b"cccccccc"]);
        let new = frame(2, 0, b"z");
        bytes[..new.len()].copy_from_slice(&new);
        assert_eq!(records(&bytes, 2), [b"z".to_vec()]);
        // and the old chain is broken at its start, so it cannot be read as generation 1 either
        assert!(records(&bytes, 1).is_empty());
        // a record of the right generation but out of sequence (a stale block from an earlier
        // run of the same generation) also ends the chain
        let mut bytes = chain(3, &[b"a"]);
        bytes.extend(frame(3, 5, b"b"));
        assert_eq!(records(&bytes, 3), [b"a".to_vec()]);
    }

    #[test]
    fn store_redb_journal_file_is_preallocated_and_replays_what_was_synced() {
        let dir = std::env::temp_dir().join(format!(
            "actionkit-journal-unit-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("j");
        let journal = Journal::open(&path, 64 * 1024).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 64 * 1024);
        let first = frame(42, 0, b"first");
        journal.write_at(&first, 0).unwrap();
        journal
            .write_at(&frame(42, 1, b"second"), first.len() as u64)
            .unwrap();
        journal.sync().unwrap();
        drop(journal);
        let journal = Journal::open(&path, 4096).unwrap();
        assert_eq!(
            journal.capacity(),
            64 * 1024,
            "a larger file keeps its size"
        );
        assert_eq!(
            journal.replay(42).unwrap(),
            [b"first".to_vec(), b"second".to_vec()]
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
