//! `RedbStore`: the conformance suite, reopening, group commit, and a real `kill -9`.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actionkit_core::store::conformance::{
    self, LONG_LEASE, SHORT_LEASE, acquire, claim, claim_due, claim_job, enqueue, outcome, pending,
};
use actionkit_core::store::{CallbackQueue, Claim, IdempotencyStore, RedbStore};

use crate::support::TempDir;

/// A factory of stores, each in a new file of one temporary directory.
fn factory() -> impl Fn(Duration) -> std::future::Ready<RedbStore> {
    let dir = TempDir::new("conformance");
    move |retention| {
        let path = dir.next_file("redb");
        std::future::ready(
            RedbStore::builder(path)
                .retention(retention)
                .open()
                .expect("open redb store"),
        )
    }
}

conformance_tests!(Some(factory()));

#[tokio::test]
async fn redb_store_reopen_keeps_completed_and_running_keys() {
    let dir = TempDir::new("reopen");
    let path = dir.path().join("deeper/still/store.redb");
    let recorded = outcome(200, b"kept across restarts");
    let running;
    {
        let store = RedbStore::open(&path).expect("open creates parent directories");
        let lease = acquire(&store, "evt_done", 1, LONG_LEASE).await;
        store.complete(&lease, &recorded).await.unwrap();
        running = acquire(&store, "evt_running", 1, LONG_LEASE).await;
    }
    // dropping closed the file: it opens again at once
    let store = RedbStore::open(&path).expect("reopen after drop");
    assert_eq!(
        claim(&store, "evt_done", 1, LONG_LEASE).await,
        Claim::Replay(recorded.clone())
    );
    assert!(matches!(
        claim(&store, "evt_running", 1, LONG_LEASE).await,
        Claim::InProgress { .. }
    ));
    assert_eq!(
        claim(&store, "evt_done", 2, LONG_LEASE).await,
        Claim::Conflict
    );
    // the lease survives the restart with its token
    store
        .complete(&running, &outcome(201, b"finished after restart"))
        .await
        .unwrap();
    drop(store);
    let store = RedbStore::open(&path).unwrap();
    assert_eq!(
        claim(&store, "evt_done", 1, LONG_LEASE).await,
        Claim::Replay(recorded)
    );
    assert!(matches!(
        claim(&store, "evt_running", 1, LONG_LEASE).await,
        Claim::Replay(_)
    ));
}

#[tokio::test]
async fn redb_store_reopen_keeps_pending_jobs_and_outcomes() {
    let dir = TempDir::new("queue-reopen");
    let path = dir.path().join("store.redb");
    let leased;
    {
        let store = RedbStore::open(&path).unwrap();
        for key in [
            "job_done",
            "job_ran",
            "job_retry",
            "job_leased",
            "job_waiting",
        ] {
            assert!(enqueue(&store, key, key.as_bytes()).await);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let (job, done) = claim_job(&store, LONG_LEASE).await;
        assert_eq!(job.key, "job_done");
        store.finish(&done, true).await.unwrap();
        // the handler ran, then the process died before the callback
        let (job, ran) = claim_job(&store, SHORT_LEASE).await;
        assert_eq!(job.key, "job_ran");
        store.record_outcome(&ran, b"ran before").await.unwrap();
        // the callback failed once
        let (job, retry) = claim_job(&store, LONG_LEASE).await;
        assert_eq!(job.key, "job_retry");
        store
            .record_outcome(&retry, b"retry outcome")
            .await
            .unwrap();
        store.retry_later(&retry, Duration::ZERO).await.unwrap();
        let (job, lease) = claim_job(&store, LONG_LEASE).await;
        assert_eq!(job.key, "job_leased");
        leased = lease;
        assert_eq!(pending(&store).await, 4);
    }
    // dropping closed the file: it opens again at once, with every job as it was
    let store = RedbStore::open(&path).expect("reopen after drop");
    assert_eq!(pending(&store).await, 4);
    assert!(
        !enqueue(&store, "job_done", b"").await,
        "the finished job keeps its key"
    );
    // the lease survives the restart with its token
    store
        .record_outcome(&leased, b"after restart")
        .await
        .unwrap();
    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(100)).await;
    let mut found = Vec::new();
    while let Some((job, _)) = claim_due(&store, LONG_LEASE).await {
        assert_eq!(job.payload, job.key.as_bytes());
        found.push((job.key, job.outcome, job.attempts));
    }
    found.sort();
    assert_eq!(
        found,
        [
            ("job_ran".to_string(), Some(b"ran before".to_vec()), 0),
            ("job_retry".to_string(), Some(b"retry outcome".to_vec()), 1),
            ("job_waiting".to_string(), None, 0),
        ],
        "the crashed lease expired; the leased job is still leased"
    );
    store.finish(&leased, false).await.unwrap();
    drop(store);
    let store = RedbStore::open(&path).unwrap();
    assert_eq!(pending(&store).await, 3);
    assert!(
        claim_due(&store, LONG_LEASE).await.is_none(),
        "all leased or finished"
    );
    store.purge_expired().await.unwrap();
    assert_eq!(pending(&store).await, 3, "purge keeps pending jobs");
}

#[tokio::test]
async fn redb_store_refuses_a_second_open_of_one_file() {
    let dir = TempDir::new("double-open");
    let path = dir.path().join("store.redb");
    let _first = RedbStore::open(&path).unwrap();
    let err = RedbStore::open(&path).expect_err("the file is held by the first store");
    assert!(err.is_unavailable(), "{err}");
    eprintln!("second open: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redb_store_batches_concurrent_writers_into_shared_commits() {
    let dir = TempDir::new("batching");
    let store = Arc::new(RedbStore::open(dir.path().join("store.redb")).unwrap());
    let start = Instant::now();
    let dyn_store: Arc<dyn IdempotencyStore> = store.clone();
    conformance::concurrent_claims_on(&[dyn_store], 100, 5).await;
    let stats = store.stats();
    eprintln!(
        "group commit: {} ops in {} commits ({:.1} ops/commit) in {:?}",
        stats.ops,
        stats.commits,
        stats.ops as f64 / stats.commits.max(1) as f64,
        start.elapsed()
    );
    // 500 claims + 100 completes + 100 replay claims
    assert_eq!(stats.ops, 700);
    assert!(
        stats.commits < 200,
        "concurrent writers should share commits: {stats:?}"
    );

    // a batch that changes nothing (a replay) is not committed
    let before = store.stats();
    let lease = acquire(&*store, "evt_replayed", 1, LONG_LEASE).await;
    store.complete(&lease, &outcome(200, b"x")).await.unwrap();
    claim(&*store, "evt_replayed", 1, LONG_LEASE).await;
    claim(&*store, "evt_replayed", 2, LONG_LEASE).await;
    let after = store.stats();
    assert_eq!(
        (after.ops - before.ops, after.commits - before.commits),
        (4, 2),
        "{before:?} → {after:?}"
    );
}

const CHILD_ENV: &str = "ACTIONKIT_TEST_REDB_CRASH_CHILD";
const CHILD_LEASE: Duration = Duration::from_millis(1500);

/// The child half of `redb_store_survives_kill_9`: does nothing unless the parent started it.
/// It claims one id without finishing it, then completes ids as fast as it can, printing each
/// one after `complete` returned `Ok`, until it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redb_store_crash_child_process() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = Arc::new(RedbStore::open(path).unwrap());
    let unfinished = acquire(&*store, "evt_unfinished", 1, CHILD_LEASE).await;
    let expires = unfinished
        .expires_at()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros();
    println!("CLAIMED {expires}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut round = 0;
    while Instant::now() < deadline {
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let store = store.clone();
                let key = format!("evt_done_{round}_{i}");
                tokio::spawn(async move {
                    let lease = acquire(&*store, &key, 1, LONG_LEASE).await;
                    store
                        .complete(&lease, &outcome(200, key.as_bytes()))
                        .await
                        .unwrap();
                    println!("DONE {key}");
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        round += 1;
    }
}

/// Kills the child if the test fails before it does.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redb_store_survives_kill_9() {
    let dir = TempDir::new("crash");
    let path = dir.path().join("store.redb");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "redb_store::redb_store_crash_child_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the child test process");
    let stdout = child.stdout.take().unwrap();
    let mut child = KillOnDrop(child);
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines_tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });

    let mut expires_at = None;
    let mut done = HashSet::new();
    // Let the child commit for a while, then kill it in the middle of its work.
    while expires_at.is_none() || done.len() < 200 {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the child reports progress");
        // the harness may print `test … ... ` on the same line before the first marker
        if let Some((_, micros)) = line.split_once("CLAIMED ") {
            expires_at = Some(UNIX_EPOCH + Duration::from_micros(micros.parse().unwrap()));
        } else if let Some(key) = line.strip_prefix("DONE ") {
            done.insert(key.to_owned());
        }
    }
    child.0.kill().expect("SIGKILL the child");
    let status = child.0.wait().unwrap();
    assert!(!status.success(), "the child was killed: {status:?}");
    // whatever the child printed before it died was acknowledged as complete
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(5)) {
        if let Some(key) = line.strip_prefix("DONE ") {
            done.insert(key.to_owned());
        }
    }
    let expires_at = expires_at.unwrap();

    let store = RedbStore::open(&path).expect("reopen after kill -9");
    assert!(
        store.stats().replayed_records > 0,
        "the completions since the last checkpoint come back from the journal: {:?}",
        store.stats()
    );
    for key in &done {
        match claim(&store, key, 1, LONG_LEASE).await {
            Claim::Replay(recorded) => assert_eq!(recorded.body, key.as_bytes()),
            other => panic!("`{key}` completed before the crash but is now {other:?}"),
        }
    }
    eprintln!(
        "kill -9: all {} acknowledged completions survived",
        done.len()
    );
    // Claims are not journaled: the dead owner's id is free again at once, as if its lease had
    // expired; only if a checkpoint happened to write the claim to the file is it still in
    // progress until the lease ends. Either way it is never lost with a completion.
    let successor = match claim(&store, "evt_unfinished", 1, LONG_LEASE).await {
        Claim::Acquired(lease) => lease,
        Claim::InProgress { .. } => {
            if let Ok(left) = expires_at.duration_since(SystemTime::now()) {
                tokio::time::sleep(left + Duration::from_millis(50)).await;
            }
            acquire(&store, "evt_unfinished", 1, LONG_LEASE).await
        }
        other => panic!("the unfinished id is free or in progress, not {other:?}"),
    };
    store
        .complete(&successor, &outcome(200, b"ran again"))
        .await
        .unwrap();
}

const JOURNAL_CHILD_ENV: &str = "ACTIONKIT_TEST_REDB_JOURNAL_CHILD";

/// The child half of the journal tests: does nothing unless a parent started it. Completes the
/// ids named in the variable (`<path>|<id>,<id>,…`) one after another, each in its own journal
/// record, then exits without closing the store, as a crash would (no last checkpoint).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redb_store_journal_child_process() {
    let Ok(spec) = std::env::var(JOURNAL_CHILD_ENV) else {
        return;
    };
    let (path, ids) = spec.split_once('|').unwrap();
    let store = RedbStore::open(path).unwrap();
    for id in ids.split(',') {
        let lease = acquire(&store, id, 1, LONG_LEASE).await;
        store
            .complete(&lease, &outcome(200, id.as_bytes()))
            .await
            .unwrap();
    }
    assert_eq!(store.stats().journal_writes, ids.split(',').count() as u64);
    std::process::exit(0);
}

/// Runs the child on `path`, completing `ids`, and waits for it to exit.
fn complete_then_crash(path: &std::path::Path, ids: &[&str]) {
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "redb_store::redb_store_journal_child_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            JOURNAL_CHILD_ENV,
            format!("{}|{}", path.display(), ids.join(",")),
        )
        .stdout(Stdio::null())
        .status()
        .expect("run the child test process");
    assert!(status.success(), "{status:?}");
}

/// Where each journal record ends, walking the chain from the start by the records' lengths
/// (magic, checksum, generation, sequence, length, then the payload).
fn record_ends(journal: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut at = 0;
    while journal.get(at..at + 4) == Some(b"AKJ1") {
        let len = u32::from_be_bytes(journal[at + 24..at + 28].try_into().unwrap()) as usize;
        at += 28 + len;
        ends.push(at);
    }
    ends
}

#[tokio::test]
async fn redb_store_replays_its_journal_up_to_a_torn_tail_and_ignores_stale_blocks() {
    let dir = TempDir::new("journal");
    let path = dir.path().join("store.redb");
    let journal_path = RedbStore::journal_path(&path);
    complete_then_crash(&path, &["a1", "a2", "a3", "a4", "a5"]);
    // Another store's records: blocks of another generation, as a journal holds after a
    // checkpoint started it over.
    let other = dir.path().join("other.redb");
    complete_then_crash(&other, &["ghost1", "ghost2"]);
    let stale = std::fs::read(RedbStore::journal_path(&other)).unwrap();
    let stale = &stale[..*record_ends(&stale).last().unwrap()];

    let mut journal = std::fs::read(&journal_path).unwrap();
    assert_eq!(journal.len(), 512 * 1024, "preallocated in full");
    let ends = record_ends(&journal);
    assert_eq!(ends.len(), 5, "one record per outcome");
    // the last record is torn: a byte of its payload never reached the disk
    journal[ends[4] - 1] ^= 0xff;
    // and stale blocks follow it
    journal[ends[4]..ends[4] + stale.len()].copy_from_slice(stale);
    std::fs::write(&journal_path, &journal).unwrap();

    let store = RedbStore::open(&path).expect("opens after a crash");
    assert_eq!(store.stats().replayed_records, 4, "{:?}", store.stats());
    for id in ["a1", "a2", "a3", "a4"] {
        match claim(&store, id, 1, LONG_LEASE).await {
            Claim::Replay(recorded) => assert_eq!(recorded.body, id.as_bytes()),
            other => panic!("{id} was acknowledged before the crash but is now {other:?}"),
        }
    }
    for id in ["a5", "ghost1"] {
        assert!(
            matches!(claim(&store, id, 1, LONG_LEASE).await, Claim::Acquired(_)),
            "{id}: the torn record and the stale blocks are not replayed"
        );
    }
    drop(store);
    // the open checkpointed: the file alone holds the replayed outcomes now
    let store = RedbStore::open(&path).unwrap();
    assert_eq!(store.stats().replayed_records, 0);
    assert!(matches!(
        claim(&store, "a4", 1, LONG_LEASE).await,
        Claim::Replay(_)
    ));
}

#[tokio::test]
async fn redb_store_checkpoints_when_the_journal_is_full() {
    let dir = TempDir::new("journal-full");
    let path = dir.path().join("store.redb");
    let store = RedbStore::builder(&path)
        .journal_capacity(64 * 1024)
        .open()
        .unwrap();
    assert_eq!(store.stats().checkpoints, 1, "one at open");
    let body = vec![b'x'; 20 * 1024];
    for i in 0..6 {
        let lease = acquire(&store, &format!("evt_{i}"), 1, LONG_LEASE).await;
        store.complete(&lease, &outcome(200, &body)).await.unwrap();
    }
    // a group larger than the whole journal is made durable by a checkpoint
    let lease = acquire(&store, "evt_huge", 1, LONG_LEASE).await;
    store
        .complete(&lease, &outcome(200, &vec![b'y'; 100 * 1024]))
        .await
        .unwrap();
    let stats = store.stats();
    assert!(stats.checkpoints >= 3, "{stats:?}");
    assert!(stats.journal_writes >= 4, "{stats:?}");
    drop(store);
    let store = RedbStore::open(&path).unwrap();
    for i in 0..6 {
        match claim(&store, &format!("evt_{i}"), 1, LONG_LEASE).await {
            Claim::Replay(recorded) => assert_eq!(recorded.body, body),
            other => panic!("evt_{i}: {other:?}"),
        }
    }
    assert!(matches!(
        claim(&store, "evt_huge", 1, LONG_LEASE).await,
        Claim::Replay(recorded) if recorded.body.len() == 100 * 1024
    ));
}
