//! The runtime core: idempotency, error classes, deadlines and panics, on all three stores.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actionkit::runtime::{Call, FailureKind, Outcome, Runtime};
use actionkit::store::{IdempotencyStore, MemoryStore, PostgresStore, RedbStore};
use actionkit::{Action, ActionError, Context, InputType, State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::support::{postgres_url, temp_path};

#[derive(InputType, Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Succeed,
    Permanent,
    Transient,
    Panic,
    Slow,
    Skip,
}

/// A side effect with a controllable outcome.
#[derive(Action, Serialize, Deserialize, Debug, Clone)]
#[action(id = "effect", execute = effect, state = Effects)]
pub struct Effect {
    #[field(min_length = 1)]
    pub label: String,
    pub mode: Option<Mode>,
    pub sleep_ms: Option<u32>,
}

/// Every attempt and every completed side effect, by request id.
#[derive(Clone, Default)]
pub struct Effects {
    attempts: Arc<Mutex<BTreeMap<String, usize>>>,
    done: Arc<Mutex<BTreeMap<String, usize>>>,
    events: Arc<Mutex<BTreeMap<String, String>>>,
}

impl Effects {
    pub fn attempts(&self, id: &str) -> usize {
        self.attempts.lock().unwrap().get(id).copied().unwrap_or(0)
    }
    pub fn done(&self) -> BTreeMap<String, usize> {
        self.done.lock().unwrap().clone()
    }
    /// What each request's handler saw of an epilot event, as `Debug` text.
    pub fn events(&self) -> BTreeMap<String, String> {
        self.events.lock().unwrap().clone()
    }
}

async fn effect(
    ctx: Context,
    State(effects): State<Effects>,
    input: Effect,
) -> Result<Value, ActionError> {
    *effects
        .attempts
        .lock()
        .unwrap()
        .entry(ctx.request_id().to_owned())
        .or_default() += 1;
    if let Some(event) = ctx.extension::<actionkit::platform::epilot::EpilotEvent>() {
        let token = event.token.as_ref().map(|t| t.expose().len()).unwrap_or(0);
        let seen = format!(
            "{event:?} entity={} trigger={} token_len={token}",
            event.entity, event.trigger_event
        );
        effects
            .events
            .lock()
            .unwrap()
            .insert(ctx.request_id().to_owned(), seen);
    }
    if let Some(ms) = input.sleep_ms {
        tokio::time::sleep(Duration::from_millis(ms.into())).await;
    }
    match input.mode.unwrap_or(Mode::Succeed) {
        Mode::Succeed | Mode::Slow => {
            *effects
                .done
                .lock()
                .unwrap()
                .entry(ctx.request_id().to_owned())
                .or_default() += 1;
            Ok(json!({"label": input.label}))
        }
        Mode::Permanent => Err(ActionError::permanent("label refused").at("/label")),
        Mode::Transient => {
            Err(ActionError::transient("dependency down").retry_after(Duration::from_secs(7)))
        }
        Mode::Panic => panic!("handler bug"),
        Mode::Skip => {
            Ok(serde_json::to_value(actionkit::Skipped::because("nothing to do")).unwrap())
        }
    }
}

fn runtime(effects: &Effects) -> Runtime<Effects> {
    Runtime::new(effects.clone()).action::<Effect>()
}

fn call(id: &str, input: Value) -> Call {
    Call::new("effect", id, input)
}

fn failure(outcome: &Outcome) -> (u16, FailureKind) {
    let f = outcome.failure().expect("a failure");
    (f.status, f.kind)
}

#[tokio::test]
async fn success_is_recorded_and_replayed() {
    let effects = Effects::default();
    let rt = runtime(&effects);
    let first = rt.execute(call("r1", json!({"label": "a"}))).await;
    assert_eq!(
        first.outcome,
        Outcome::Success {
            output: json!({"label": "a"}).into()
        }
    );
    assert!(first.ran && !first.replayed);
    let again = rt.execute(call("r1", json!({"label": "a"}))).await;
    assert!(again.replayed && !again.ran);
    assert_eq!(again.outcome, first.outcome);
    assert_eq!(effects.attempts("r1"), 1);
}

#[tokio::test]
async fn permanent_failures_are_recorded_transient_ones_released() {
    let effects = Effects::default();
    let rt = runtime(&effects);
    let input = json!({"label": "a", "mode": "permanent"});
    let first = rt.execute(call("p", input.clone())).await;
    assert_eq!(failure(&first.outcome), (422, FailureKind::Permanent));
    assert_eq!(
        first.outcome.failure().unwrap().field.as_deref(),
        Some("/label")
    );
    assert!(rt.execute(call("p", input)).await.replayed);
    assert_eq!(effects.attempts("p"), 1);

    let input = json!({"label": "a", "mode": "transient"});
    let first = rt.execute(call("t", input.clone())).await;
    assert_eq!(failure(&first.outcome), (503, FailureKind::Transient));
    assert_eq!(first.outcome.failure().unwrap().retry_after, Some(7));
    let retry = rt.execute(call("t", input)).await;
    assert!(retry.ran, "a transient failure releases the id");
    assert_eq!(effects.attempts("t"), 2);
}

#[tokio::test]
async fn invalid_input_records_nothing() {
    let effects = Effects::default();
    let rt = runtime(&effects);
    let bad = rt.execute(call("i", json!({"label": ""}))).await;
    assert_eq!(failure(&bad.outcome), (400, FailureKind::InvalidInput));
    assert_eq!(
        bad.outcome.failure().unwrap().field.as_deref(),
        Some("/label")
    );
    assert_eq!(effects.attempts("i"), 0);
    let good = rt.execute(call("i", json!({"label": "ok"}))).await;
    assert!(good.ran, "the refused call left no record");
}

#[tokio::test]
async fn same_id_with_another_input_is_a_conflict() {
    let effects = Effects::default();
    let rt = runtime(&effects);
    rt.execute(call("c", json!({"label": "a"}))).await;
    let other = rt.execute(call("c", json!({"label": "b"}))).await;
    assert_eq!(
        failure(&other.outcome),
        (409, FailureKind::IdempotencyConflict)
    );
    assert_eq!(effects.attempts("c"), 1);
    let reordered = rt
        .execute(call("c", json!({"mode": null, "label": "a"})))
        .await;
    assert!(
        reordered.replayed,
        "key order and nulls do not change the input"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_while_running_is_in_progress() {
    let effects = Effects::default();
    let rt = Arc::new(runtime(&effects));
    let input = json!({"label": "a", "sleep_ms": 300});
    let first = tokio::spawn({
        let rt = rt.clone();
        let input = input.clone();
        async move { rt.execute(call("d", input)).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let dup = rt.execute(call("d", input.clone())).await;
    assert_eq!(failure(&dup.outcome), (503, FailureKind::InProgress));
    assert!(dup.outcome.failure().unwrap().retry_after.unwrap() >= 1);
    assert!(first.await.unwrap().ran);
    assert!(rt.execute(call("d", input)).await.replayed);
    assert_eq!(effects.attempts("d"), 1);
}

#[tokio::test]
async fn a_handler_past_its_deadline_times_out_and_releases_the_id() {
    let effects = Effects::default();
    let rt = runtime(&effects).deadline(Duration::from_millis(100));
    let slow = json!({"label": "a", "mode": "slow", "sleep_ms": 2000});
    let started = std::time::Instant::now();
    let done = rt.execute(call("s", slow.clone())).await;
    assert_eq!(failure(&done.outcome), (504, FailureKind::Timeout));
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "the runtime did not wait for the handler"
    );
    assert!(
        effects.done().is_empty(),
        "the timed-out handler was stopped"
    );
    assert!(
        rt.execute(call("s", slow)).await.ran,
        "a timeout releases the id"
    );
}

#[tokio::test]
async fn a_panicking_handler_is_an_internal_error_and_the_runtime_goes_on() {
    let effects = Effects::default();
    let rt = runtime(&effects);
    let boom = rt
        .execute(call("x", json!({"label": "a", "mode": "panic"})))
        .await;
    assert_eq!(failure(&boom.outcome), (500, FailureKind::Internal));
    assert!(
        !boom
            .outcome
            .failure()
            .unwrap()
            .message
            .contains("handler bug"),
        "panic text stays in the logs"
    );
    let next = rt.execute(call("y", json!({"label": "b"}))).await;
    assert_eq!(next.outcome.status(), 200);
    assert!(
        rt.execute(call("x", json!({"label": "a", "mode": "panic"})))
            .await
            .ran,
        "a panic releases the id"
    );
}

#[tokio::test]
async fn an_unknown_action_is_not_found() {
    let rt = runtime(&Effects::default());
    let done = rt.execute(Call::new("nope", "1", json!({}))).await;
    assert_eq!(failure(&done.outcome), (404, FailureKind::NotFound));
}

/// Five concurrent deliveries of each of 100 ids: exactly one side effect per id.
async fn deliveries_run_once(runtimes: Vec<Runtime<Effects>>, effects: &Effects) {
    let runtimes: Vec<Arc<Runtime<Effects>>> = runtimes.into_iter().map(Arc::new).collect();
    let mut tasks = Vec::new();
    for delivery in 0..5 {
        for id in 0..100 {
            let rt = runtimes[(id + delivery) % runtimes.len()].clone();
            tasks.push(tokio::spawn(async move {
                rt.execute(call(
                    &format!("id-{id}"),
                    json!({"label": format!("l{id}"), "sleep_ms": 5}),
                ))
                .await
            }));
        }
    }
    for task in tasks {
        let done = task.await.expect("no panic");
        let status = done.outcome.status();
        assert!(
            status == 200 || (status == 503 && !done.ran),
            "unexpected {:?}",
            done.outcome
        );
    }
    let done = effects.done();
    assert_eq!(done.len(), 100, "every id ran");
    assert!(
        done.values().all(|&n| n == 1),
        "some id ran twice: {done:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deliveries_run_once_in_memory() {
    let effects = Effects::default();
    let store: Arc<dyn IdempotencyStore> = Arc::new(MemoryStore::new());
    deliveries_run_once(vec![runtime(&effects).store(store)], &effects).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deliveries_run_once_on_redb() {
    let effects = Effects::default();
    let path = temp_path("deliveries.redb");
    let store: Arc<dyn IdempotencyStore> = Arc::new(RedbStore::open(&path).expect("open"));
    deliveries_run_once(vec![runtime(&effects).store(store)], &effects).await;
    let _ = std::fs::remove_file(RedbStore::journal_path(&path));
    let _ = std::fs::remove_file(path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runtimes_sharing_postgres_run_each_id_once() {
    let Some(url) = postgres_url("two_runtimes_sharing_postgres_run_each_id_once") else {
        return;
    };
    let table = format!(
        "ak_runtime_{}_{}",
        std::process::id(),
        crate::support::unique()
    );
    let effects = Effects::default();
    let mut runtimes = Vec::new();
    for _ in 0..2 {
        let store = PostgresStore::builder(url.clone())
            .table(table.clone())
            .connect()
            .await
            .expect("connect");
        runtimes.push(runtime(&effects).store(Arc::new(store)));
    }
    deliveries_run_once(runtimes, &effects).await;
}

/// Set by `a_completed_id_survives_kill_9` to run the child half of that test.
const CRASH_CHILD: &str = "ACTIONKIT_CRASH_CHILD_STORE";

/// The child half of `a_completed_id_survives_kill_9`: executes ids one after another on a redb
/// store, printing each completed id, until it is killed. Without the variable it does nothing,
/// so as an ordinary test it passes trivially; the parent test is the one that asserts.
#[tokio::test]
async fn crash_child_entry() {
    let Ok(path) = std::env::var(CRASH_CHILD) else {
        return;
    };
    let store: Arc<dyn IdempotencyStore> = Arc::new(RedbStore::open(&path).expect("open"));
    let rt = runtime(&Effects::default()).store(store);
    for id in 0.. {
        let done = rt
            .execute(call(
                &format!("crash-{id}"),
                json!({"label": "x", "sleep_ms": 2}),
            ))
            .await;
        assert!(done.ran && done.outcome.status() == 200);
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "completed crash-{id}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn a_completed_id_survives_kill_9() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let path = temp_path("crash.redb");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "runtime::crash_child_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_CHILD, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the child");
    let mut completed = Vec::new();
    for line in BufReader::new(child.stdout.take().expect("piped")).lines() {
        let line = line.expect("utf-8");
        if let Some(id) = line.strip_prefix("completed ") {
            completed.push(id.to_owned());
            if completed.len() == 30 {
                break;
            }
        }
    }
    child.kill().expect("SIGKILL the child");
    child.wait().expect("reap the child");
    assert_eq!(
        completed.len(),
        30,
        "the child completed ids before it was killed"
    );

    let tokio = tokio::runtime::Runtime::new().expect("tokio");
    tokio.block_on(async {
        let store: Arc<dyn IdempotencyStore> =
            Arc::new(RedbStore::open(&path).expect("reopen after kill -9"));
        let effects = Effects::default();
        let rt = runtime(&effects).store(store);
        for id in &completed {
            let done = rt
                .execute(call(id, json!({"label": "x", "sleep_ms": 2})))
                .await;
            assert!(
                done.replayed && !done.ran,
                "{id} ran again after the crash: {:?}",
                done.outcome
            );
            assert_eq!(done.outcome.status(), 200);
        }
        assert!(effects.done().is_empty());
    });
    let _ = std::fs::remove_file(RedbStore::journal_path(&path));
    let _ = std::fs::remove_file(path);
}

/// A memory store whose writes of outcomes fail while `down` is set, as a store does during a
/// brief outage (claims still work, so the call starts).
struct Flaky {
    inner: MemoryStore,
    down: std::sync::atomic::AtomicBool,
}

impl Flaky {
    fn check(&self) -> Result<(), actionkit::store::StoreError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            Err(actionkit::store::StoreError::unavailable(
                "writing",
                std::io::Error::other("the disk is gone"),
            ))
        } else {
            Ok(())
        }
    }
}

#[async_trait::async_trait]
impl IdempotencyStore for Flaky {
    async fn claim(
        &self,
        key: &str,
        input: &actionkit::store::InputHash,
        lease: Duration,
    ) -> Result<actionkit::store::Claim, actionkit::store::StoreError> {
        self.inner.claim(key, input, lease).await
    }
    async fn complete(
        &self,
        lease: &actionkit::store::Lease,
        outcome: &actionkit::store::Recorded,
    ) -> Result<(), actionkit::store::StoreError> {
        self.check()?;
        self.inner.complete(lease, outcome).await
    }
    async fn release(
        &self,
        lease: &actionkit::store::Lease,
    ) -> Result<(), actionkit::store::StoreError> {
        self.check()?;
        self.inner.release(lease).await
    }
    async fn purge_expired(&self) -> Result<u64, actionkit::store::StoreError> {
        self.inner.purge_expired().await
    }
}

#[tokio::test]
async fn an_outcome_the_store_cannot_take_is_kept_replayed_and_recorded_when_it_is_back() {
    let effects = Effects::default();
    let store = Arc::new(Flaky {
        inner: MemoryStore::new(),
        down: true.into(),
    });
    let rt = runtime(&effects).store(store.clone());
    let first = rt.execute(call("r_kept", json!({"label": "a"}))).await;
    assert_eq!(
        first.outcome.status(),
        200,
        "the side effect happened: answer it"
    );
    // The store is still down: redeliveries are answered from the kept outcome, never run again.
    for _ in 0..3 {
        let again = rt.execute(call("r_kept", json!({"label": "a"}))).await;
        assert!(again.replayed && !again.ran, "{again:?}");
        assert_eq!(again.outcome, first.outcome);
    }
    let other = rt.execute(call("r_kept", json!({"label": "b"}))).await;
    assert_eq!(
        failure(&other.outcome),
        (409, FailureKind::IdempotencyConflict)
    );
    assert_eq!(effects.attempts("r_kept"), 1);
    // A transient failure cannot be released while the store is down: the id stays claimed
    // (503) rather than running twice at once.
    let transient = json!({"label": "t", "mode": "transient"});
    assert_eq!(
        rt.execute(call("r_transient", transient.clone()))
            .await
            .outcome
            .status(),
        503
    );
    // The store comes back: the kept outcome is recorded, the released id runs again.
    store.down.store(false, std::sync::atomic::Ordering::SeqCst);
    let recorded = async {
        loop {
            let claim = store
                .inner
                .claim(
                    "test:effect:r_kept",
                    &actionkit::store::InputHash([0; 32]),
                    Duration::from_secs(1),
                )
                .await
                .unwrap();
            // Any input hash: a recorded id answers `Conflict` for another input.
            if matches!(claim, actionkit::store::Claim::Conflict) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), recorded)
        .await
        .expect("the kept outcome reaches the store within seconds");
    let replayed = rt.execute(call("r_kept", json!({"label": "a"}))).await;
    assert!(replayed.replayed, "now from the store");
    assert_eq!(replayed.outcome, first.outcome);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let retried = rt.execute(call("r_transient", transient)).await;
    assert!(retried.ran, "the release reached the store; the retry runs");
    assert_eq!(effects.attempts("r_kept"), 1);
    assert_eq!(effects.attempts("r_transient"), 2);
}

/// A filesystem of `size` mounted at a fresh directory for the test, unmounted on drop; `None`
/// (with the reason) where this process may not mount (not root, no tmpfs).
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(size: &str) -> Result<Tmpfs, String> {
        let dir = temp_path("tmpfs");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
        }
        Ok(Tmpfs(dir))
    }

    /// A tmpfs of `size`; `None`, with the reason printed, where one cannot be mounted (not
    /// root), except in CI, which runs these tests as root and fails instead.
    fn mount_or_skip(size: &str) -> Option<Tmpfs> {
        match Tmpfs::mount(size) {
            Ok(disk) => Some(disk),
            Err(why) if std::env::var_os("ACTIONKIT_CI").is_none() => {
                eprintln!(
                    "skipped: a small tmpfs cannot be mounted here ({why}); CI runs this as root"
                );
                None
            }
            Err(why) => panic!("CI must be able to mount a tmpfs: {why}"),
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_keeps_replays_answered_and_the_store_recovers_without_a_restart() {
    let Some(disk) = Tmpfs::mount_or_skip("2m") else {
        return;
    };
    let path = disk.0.join("store.redb");
    let effects = Effects::default();
    let store = Arc::new(RedbStore::open(&path).expect("the store opens"));
    let rt = Arc::new(runtime(&effects).store(store.clone()));
    let done = rt.execute(call("r_done", json!({"label": "a"}))).await;
    assert_eq!(done.outcome.status(), 200);
    // Fill the filesystem, then write until the store's own free pages are gone too.
    let filler = disk.0.join("filler");
    let _ = std::fs::write(&filler, vec![0u8; 4 << 20]);
    // A handler that runs through the whole fault: its claim (committed without `fsync`, and
    // never made durable by a later commit, as the disk is full) must survive the reopen.
    let slow = json!({"label": "slow", "sleep_ms": 4000});
    let running = {
        let (rt, call) = (rt.clone(), call("r_slow", slow.clone()));
        tokio::spawn(async move { rt.execute(call).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let big = "x".repeat(48 * 1024);
    let mut refused = None;
    let mut ran = Vec::new();
    for i in 0..200 {
        let id = format!("r_big_{i}");
        let answer = rt.execute(call(&id, json!({"label": big}))).await;
        if answer.outcome.status() == 503 {
            refused = Some(answer);
            break;
        }
        ran.push(id);
    }
    let refused = refused.expect("a full disk refuses new ids");
    let refusal = refused.outcome.failure().unwrap();
    assert_eq!(refusal.kind, FailureKind::Transient);
    assert!(refusal.retry_after.is_some(), "503 with Retry-After");
    // Completed ids keep replaying while writes fail.
    let replay = rt.execute(call("r_done", json!({"label": "a"}))).await;
    assert!(replay.replayed, "{replay:?}");
    assert_eq!(replay.outcome, done.outcome);

    // Space comes back: the store reopens itself and serves new ids again, without a restart.
    std::fs::remove_file(&filler).unwrap();
    let recovered = async {
        for i in 0.. {
            let answer = rt
                .execute(call(&format!("r_after_{i}"), json!({"label": "b"})))
                .await;
            if answer.outcome.status() == 200 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(15), recovered)
        .await
        .expect("writes succeed again within seconds of the space coming back");
    // The reopened store still knows the running id: a redelivery waits, it does not run again.
    let redelivered = rt.execute(call("r_slow", slow.clone())).await;
    assert_eq!(
        failure(&redelivered.outcome),
        (503, FailureKind::InProgress),
        "the handler is still running"
    );
    let first = running.await.unwrap();
    assert_eq!(first.outcome.status(), 200);
    assert_eq!(effects.attempts("r_slow"), 1);
    // Nothing recorded is lost and the file is valid: a fresh store on it replays.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(Arc::strong_count(&rt), 1, "the only handle to the runtime");
    drop(rt);
    drop(store);
    let reopened = runtime(&effects).store(Arc::new(RedbStore::open(&path).expect("reopens")));
    let again = reopened
        .execute(call("r_done", json!({"label": "a"})))
        .await;
    assert!(again.replayed);
    assert_eq!(again.outcome, done.outcome);
    assert_eq!(effects.attempts("r_done"), 1);
    // Every call answered 200 while the disk filled is recorded (the last ones were kept in
    // memory while the disk was full and written once it was not): replayed, never run again.
    for id in &ran {
        let again = reopened.execute(call(id, json!({"label": big}))).await;
        assert!(again.replayed && !again.ran, "{id}: {:?}", again.outcome);
        assert_eq!(effects.attempts(id), 1, "{id}");
    }
}

#[test]
fn a_disk_too_full_for_the_journal_fails_the_open_cleanly() {
    let Some(disk) = Tmpfs::mount_or_skip("1m") else {
        return;
    };
    let path = disk.0.join("store.redb");
    let filler = disk.0.join("filler");
    let _ = std::fs::write(&filler, vec![0u8; 1 << 20]);
    // the journal is written in full when it is created: no room, no store (and no half-made
    // file that fails later)
    let err = RedbStore::open(&path).expect_err("no room for the journal");
    assert!(err.is_unavailable(), "{err}");
    eprintln!("open on a full disk: {err}");
    std::fs::remove_file(&filler).unwrap();
    let store = RedbStore::open(&path).expect("opens once there is room");
    assert_eq!(
        std::fs::metadata(RedbStore::journal_path(&path))
            .unwrap()
            .len(),
        512 * 1024
    );
    drop(store);
}
