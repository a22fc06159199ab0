//! Idempotency store throughput: `MemoryStore` against `RedbStore`, on the bare store
//! (claim + complete) and through `Runtime::execute` (decode + claim + handler + complete).
//!
//! One iteration is a batch of [`IDS`] fresh ids shared out among [`TASKS`] concurrent tokio
//! tasks on a multi-thread runtime; every id is claimed and completed once. Each criterion
//! routine call (one batch of iterations) gets a fresh store: a new in-memory map, or a new redb
//! file in the system's temporary directory, removed afterwards. Opening and closing stores is not
//! timed.
//!
//! After criterion's report, `cargo bench` also runs [`ROUNDS`] rounds that alternate the two
//! stores, so both see the same noise, and prints the median throughput of each and the ratio
//! redb / memory. Under `cargo test` criterion runs each benchmark once and the rounds are skipped.

mod common;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use actionkit::runtime::{Call, Runtime};
use actionkit::store::{
    Claim, IdempotencyStore, InputHash, MemoryStore, Recorded, RedbStats, RedbStore,
};
use actionkit::{Action, ActionError, Context};
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use serde::Deserialize;
use serde_json::{Value, json};

use common::{bench_mode, micros, quantile};

/// Ids per iteration.
const IDS: usize = 1_024;
/// Concurrent tasks sharing out the ids.
const TASKS: usize = 64;
/// Alternating rounds per (path, store) after criterion.
const ROUNDS: usize = 15;
/// The goal: redb's throughput at least this share of the bound the disk's `fdatasync` sets.
const BOUND_GOAL: f64 = 0.8;
/// Batches on one store in the steady-state run after the rounds.
const STEADY: u64 = 16;
/// The lease the runtime would ask for (deadline + grace).
const LEASE: Duration = Duration::from_secs(30);

/// Record a payment for a customer.
#[derive(Action, Deserialize, Debug)]
#[action(id = "bench_record", execute = record)]
struct BenchRecord {
    #[field(min_length = 1)]
    customer: String,
    amount: u32,
    note: Option<String>,
}

async fn record(ctx: Context, input: BenchRecord) -> Result<Value, ActionError> {
    Ok(json!({
        "customer": input.customer,
        "amount": input.amount,
        "noted": input.note.is_some(),
        "request_id": ctx.request_id(),
    }))
}

/// Which store a batch runs on.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Memory,
    Redb,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Memory => "memory",
            Kind::Redb => "redb",
        }
    }

    /// A fresh, empty store.
    fn open(self) -> Fresh {
        match self {
            Kind::Memory => Fresh {
                store: Some(Arc::new(MemoryStore::new())),
                redb: None,
                path: None,
            },
            Kind::Redb => {
                let path = temp_path();
                let store = Arc::new(RedbStore::open(&path).expect("a fresh redb store opens"));
                Fresh {
                    store: Some(store.clone()),
                    redb: Some(store),
                    path: Some(path),
                }
            }
        }
    }
}

/// A store for one batch; dropping it closes the store and removes its file.
struct Fresh {
    store: Option<Arc<dyn IdempotencyStore>>,
    redb: Option<Arc<RedbStore>>,
    path: Option<PathBuf>,
}

impl Fresh {
    fn store(&self) -> Arc<dyn IdempotencyStore> {
        self.store.clone().expect("open until dropped")
    }

    /// The redb writer's commits and operations so far.
    fn stats(&self) -> Option<RedbStats> {
        self.redb.as_ref().map(|redb| redb.stats())
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        // The redb writer thread is joined when the last handle goes, before the file is removed.
        drop(self.store.take());
        drop(self.redb.take());
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(RedbStore::journal_path(path));
            let _ = std::fs::remove_file(path);
        }
    }
}

fn temp_path() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "actionkit-bench-{}-{}.redb",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

/// What is measured: the bare store, or the runtime's execute path over it.
#[derive(Clone, Copy, Debug)]
enum Path {
    ClaimComplete,
    Execute,
}

impl Path {
    fn name(self) -> &'static str {
        match self {
            Path::ClaimComplete => "claim_complete",
            Path::Execute => "execute",
        }
    }
}

type Job = Arc<dyn Fn(String) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// One id's work on `store` along `path`, given the id.
fn job(path: Path, store: Arc<dyn IdempotencyStore>) -> Job {
    match path {
        Path::ClaimComplete => {
            let input = InputHash([7; 32]);
            let body = axum::body::Bytes::from_static(
                br#"{"status":200,"output":{"customer":"cus_1","amount":1200}}"#,
            );
            Arc::new(move |request_id| {
                let store = store.clone();
                let body = body.clone();
                Box::pin(async move {
                    // The key the runtime would use.
                    let key = format!("test:bench_record:{request_id}");
                    let Ok(Claim::Acquired(lease)) = store.claim(&key, &input, LEASE).await else {
                        panic!("a fresh id is acquired");
                    };
                    let outcome = Recorded {
                        status: 200,
                        body,
                        recorded_at: SystemTime::now(),
                    };
                    store.complete(&lease, &outcome).await.expect("completes");
                })
            })
        }
        Path::Execute => {
            let runtime = Arc::new(Runtime::new(()).action::<BenchRecord>().store(store));
            let input = json!({"customer": "cus_1", "amount": 1200, "note": "monthly"});
            Arc::new(move |request_id| {
                let runtime = runtime.clone();
                let input = input.clone();
                Box::pin(async move {
                    let done = runtime
                        .execute(Call::new("bench_record", request_id, input))
                        .await;
                    assert!(
                        done.ran && done.outcome.status() == 200,
                        "{:?}",
                        done.outcome
                    );
                })
            })
        }
    }
}

/// Runs `iterations` batches of [`IDS`] fresh ids through `job` with [`TASKS`] tasks; the time
/// they took.
async fn batches(job: Job, iterations: u64) -> Duration {
    let start = Instant::now();
    for iteration in 0..iterations {
        let next = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let next = next.clone();
                let job = job.clone();
                tokio::spawn(async move {
                    loop {
                        let id = next.fetch_add(1, Ordering::Relaxed);
                        if id >= IDS {
                            break;
                        }
                        job(format!("{iteration}-{id}")).await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("no task panics");
        }
    }
    start.elapsed()
}

/// One timed batch of `iterations` on a fresh store; with redb, the writer's counters.
fn timed(
    tokio: &tokio::runtime::Runtime,
    path: Path,
    kind: Kind,
    iterations: u64,
) -> (Duration, Option<RedbStats>) {
    let fresh = kind.open();
    let job = job(path, fresh.store());
    let elapsed = tokio.block_on(batches(job, iterations));
    (elapsed, fresh.stats())
}

/// Ids per second.
fn throughput(ids: u64, elapsed: Duration) -> f64 {
    ids as f64 / elapsed.as_secs_f64()
}

fn criterion_run(c: &mut Criterion, tokio: &tokio::runtime::Runtime) {
    let mut group = c.benchmark_group("store");
    group
        .throughput(Throughput::Elements(IDS as u64))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for path in [Path::ClaimComplete, Path::Execute] {
        let mut totals = Vec::new();
        for kind in [Kind::Memory, Kind::Redb] {
            let mut ids = 0;
            let mut elapsed = Duration::ZERO;
            group.bench_function(BenchmarkId::new(path.name(), kind.name()), |b| {
                b.iter_custom(|iterations| {
                    let (took, _) = timed(tokio, path, kind, iterations);
                    ids += iterations * IDS as u64;
                    elapsed += took;
                    took
                });
            });
            totals.push(throughput(ids, elapsed));
        }
        if bench_mode() {
            println!(
                "{}: over criterion's iterations (warm-up included) memory {:.0} ids/s, redb {:.0} ids/s, redb/memory {:.2}x",
                path.name(),
                totals[0],
                totals[1],
                totals[1] / totals[0]
            );
        }
    }
    group.finish();
}

/// The median latency of rewriting a 4 KiB block in place + `fdatasync`, on a file beside the
/// stores: what one durable commit costs at least on this disk, now. (In place, as a database
/// rewrites its pages: appending would also sync the file's growing size, which is slower.)
fn fdatasync_latency(samples: usize) -> Duration {
    use std::os::unix::fs::FileExt as _;
    let path = temp_path();
    let file = std::fs::File::create(&path).expect("a temporary file");
    let block = [0u8; 4096];
    file.write_all_at(&block, 0).expect("write");
    file.sync_all().expect("fsync");
    let mut took: Vec<Duration> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            file.write_all_at(&block, 0).expect("write");
            file.sync_data().expect("fdatasync");
            start.elapsed()
        })
        .collect();
    drop(file);
    let _ = std::fs::remove_file(&path);
    took.sort_unstable();
    quantile(&took, 0.5)
}

/// Alternating rounds of one batch each, fresh store per round; prints medians, the ratio, how
/// the redb writer grouped the operations into commits, and redb against the bound the disk
/// sets: with one durable commit per id at most, [`TASKS`] concurrent ids finish at most once per
/// `fdatasync`, so `TASKS / fdatasync latency` ids/s (the latency measured between the rounds).
fn rounds(tokio: &tokio::runtime::Runtime) {
    println!(
        "\nstore throughput, {ROUNDS} alternating rounds of {IDS} ids over {TASKS} tasks, fresh store per round (median):"
    );
    println!(
        "  {:<15} {:>13} {:>11} {:>12} {:>11} {:>11} {:>12} {:>11} {:>11}  goal: redb/bound >= {BOUND_GOAL}x",
        "path",
        "memory ids/s",
        "redb ids/s",
        "redb/memory",
        "redb µs/id",
        "ops/commit",
        "ids/durable",
        "bound ids/s",
        "redb/bound"
    );
    let mut journals = Vec::new();
    for path in [Path::ClaimComplete, Path::Execute] {
        let mut memory = Vec::with_capacity(ROUNDS);
        let mut redb = Vec::with_capacity(ROUNDS);
        let mut syncs = Vec::with_capacity(ROUNDS);
        let (mut commits, mut durable, mut ops) = (0, 0, 0);
        let (mut writes, mut write_time, mut checkpoints) = (0, Duration::ZERO, 0);
        for _ in 0..ROUNDS {
            let (took, _) = timed(tokio, path, Kind::Memory, 1);
            memory.push(throughput(IDS as u64, took));
            syncs.push(fdatasync_latency(16));
            let (took, stats) = timed(tokio, path, Kind::Redb, 1);
            redb.push(throughput(IDS as u64, took));
            let stats = stats.expect("a redb store has stats");
            commits += stats.commits;
            durable += stats.durable_commits;
            ops += stats.ops;
            writes += stats.journal_writes;
            write_time += stats.journal_write_time;
            checkpoints += stats.checkpoints;
        }
        journals.push((path, writes, write_time, checkpoints));
        memory.sort_unstable_by(f64::total_cmp);
        redb.sort_unstable_by(f64::total_cmp);
        syncs.sort_unstable();
        let (memory, redb) = (quantile(&memory, 0.5), quantile(&redb, 0.5));
        let bound = TASKS as f64 / quantile(&syncs, 0.5).as_secs_f64();
        println!(
            "  {:<15} {:>13.0} {:>11.0} {:>11.3}x {:>11.1} {:>11.1} {:>12.1} {:>11.0} {:>10.2}x  {}",
            path.name(),
            memory,
            redb,
            redb / memory,
            micros(Duration::from_secs_f64(1.0 / redb)),
            ops as f64 / commits.max(1) as f64,
            (IDS * ROUNDS) as f64 / durable.max(1) as f64,
            bound,
            redb / bound,
            if redb / bound >= BOUND_GOAL {
                "met"
            } else {
                "NOT met"
            },
        );
    }
    println!(
        "  (fdatasync of 4 KiB beside the stores: median {:.0} µs)",
        micros(fdatasync_latency(64))
    );
    // A fresh store per round never fills its journal: one longer run per path on one store
    // shows what the checkpoints cost once it does.
    println!("  steady state, {STEADY} batches of {IDS} ids on one redb store each:");
    for path in [Path::ClaimComplete, Path::Execute] {
        let before = fdatasync_latency(32);
        let (took, stats) = timed(tokio, path, Kind::Redb, STEADY);
        // the disk's sync cost moves: the mean of one median taken before and one after
        let sync = (before + fdatasync_latency(32)) / 2;
        let stats = stats.expect("a redb store has stats");
        let ids = STEADY * IDS as u64;
        let redb = throughput(ids, took);
        let bound = TASKS as f64 / sync.as_secs_f64();
        println!(
            "  {:<15} {redb:>11.0} ids/s, {} checkpoints, {:.1} ids/durable, bound {bound:.0} ids/s, redb/bound {:.2}x",
            path.name(),
            stats.checkpoints,
            ids as f64 / stats.durable_commits.max(1) as f64,
            redb / bound,
        );
    }
    for (path, writes, time, checkpoints) in journals {
        println!(
            "  ({}: redb's journal wrote {writes} groups, mean write + fdatasync {:.0} µs; {checkpoints} checkpoints over {ROUNDS} fresh stores, one at each open)",
            path.name(),
            micros(time / u32::try_from(writes.max(1)).unwrap_or(u32::MAX)),
        );
    }
}

fn main() {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut criterion = Criterion::default().configure_from_args();
    criterion_run(&mut criterion, &tokio);
    criterion.final_summary();
    if bench_mode() {
        rounds(&tokio);
    }
}
