//! The Stripe execute path over HTTP on 127.0.0.1: actionkit's server (`App::into_router` served
//! by `axum::serve`), the hand-written axum server of `benches/shared/stripe.rs`, and a Node.js
//! server using only `http` and `crypto` (`benches/node_server.js`, started as a child process on
//! a free port; skipped with a printed reason when `node` is absent).
//!
//! The load generator is a reqwest client on a current-thread runtime on the main thread:
//! `CONCURRENCY` tasks (so as many pooled keep-alive connections) share out a fixed number of
//! pre-signed requests, each with a fresh request id. Each Rust server runs on its own
//! multi-thread tokio runtime (two workers, one per core) whose threads record their ids when they
//! start, so the server's CPU time is the sum of `/proc/self/task/<tid>/schedstat` (on-CPU
//! nanoseconds) over its threads, before and after a round; Node's is the same sum over
//! `/proc/<pid>/task/*`. Client and servers share the two cores.
//!
//! Under `cargo bench`, `ROUNDS` rounds rotate the order of the servers; the medians and the
//! ratios of medians are printed. Under `cargo test` each server answers a few requests.

mod common;
#[path = "shared/stripe.rs"]
mod shared;

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use serde_json::Value;

use common::{bench_mode, micros, quantile};
use shared::{PATH, SECRET, actionkit_router, baseline_router, signed_request};

const CONCURRENCY: usize = 32;
const ROUNDS: usize = 5;
const REQUESTS: usize = 20_000;
const SMOKE_REQUESTS: usize = 64;

/// Where a server's CPU time is read.
enum Cpu {
    /// Threads of this process.
    Threads(Arc<Mutex<Vec<String>>>),
    /// A child process, all its threads.
    Process(u32),
}

impl Cpu {
    /// On-CPU nanoseconds so far (`None` when `/proc` does not say).
    fn nanos(&self) -> Option<u64> {
        let read = |path: &str| -> Option<u64> {
            std::fs::read_to_string(path)
                .ok()?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        };
        match self {
            Cpu::Threads(tids) => tids
                .lock()
                .unwrap()
                .iter()
                .map(|tid| read(&format!("/proc/self/task/{tid}/schedstat")))
                .sum(),
            Cpu::Process(pid) => std::fs::read_dir(format!("/proc/{pid}/task"))
                .ok()?
                .map(|task| {
                    let task = task.ok()?.file_name();
                    read(&format!(
                        "/proc/{pid}/task/{}/schedstat",
                        task.to_string_lossy()
                    ))
                })
                .sum(),
        }
    }
}

struct Target {
    name: &'static str,
    addr: SocketAddr,
    cpu: Cpu,
    /// Keeps the server alive: its runtime, or the child process.
    _runtime: Option<tokio::runtime::Runtime>,
    child: Option<Child>,
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Serves `router` on 127.0.0.1 from its own two-worker runtime whose threads are recorded.
fn rust_server(name: &'static str, router: fn() -> Router) -> Target {
    let tids = Arc::new(Mutex::new(Vec::new()));
    let record = tids.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .on_thread_start(move || {
            let link = std::fs::read_link("/proc/thread-self").expect("Linux /proc");
            let tid = link
                .file_name()
                .expect("…/task/<tid>")
                .to_string_lossy()
                .into_owned();
            record.lock().unwrap().push(tid);
        })
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    runtime.spawn(async move {
        let router = router();
        axum::serve(listener, router).await.expect("serves");
    });
    Target {
        name,
        addr,
        cpu: Cpu::Threads(tids),
        _runtime: Some(runtime),
        child: None,
    }
}

/// Starts `node benches/node_server.js` and reads the port it prints, or says why not.
fn node_server() -> Result<Target, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/node_server.js");
    let mut child = Command::new("node")
        .arg(script)
        .env("BENCH_SECRET", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("`node` could not be started ({e})"))?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .map_err(|e| format!("no port from node: {e}"))?;
    let port: u16 = line
        .trim()
        .parse()
        .map_err(|_| format!("node printed {line:?}, not a port"))?;
    let pid = child.id();
    Ok(Target {
        name: "node",
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        cpu: Cpu::Process(pid),
        _runtime: None,
        child: Some(child),
    })
}

struct Round {
    throughput: f64,
    p50: Duration,
    p99: Duration,
    /// Server CPU per request, µs.
    cpu: Option<f64>,
}

/// Sends `n` fresh signed requests to `target`, `CONCURRENCY` at a time.
async fn load(client: &reqwest::Client, target: &Target, n: usize) -> Round {
    let url = format!("http://{}{PATH}", target.addr);
    let requests: Arc<Vec<(Bytes, String)>> = Arc::new((0..n).map(|_| signed_request()).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let cpu_before = target.cpu.nanos();
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (client, url, requests, next) =
            (client.clone(), url.clone(), requests.clone(), next.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((body, signature)) = requests.get(i) else {
                    break;
                };
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("stripe-signature", signature)
                    .body(body.clone())
                    .send()
                    .await
                    .expect("the server answers");
                let status = response.status();
                let bytes = response.bytes().await.expect("a body");
                latencies.push(sent.elapsed());
                assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
            }
            latencies
        });
    }
    let mut latencies = Vec::with_capacity(n);
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done.expect("no panic"));
    }
    let elapsed = start.elapsed();
    let cpu = match (cpu_before, target.cpu.nanos()) {
        (Some(a), Some(b)) => Some((b - a) as f64 / 1e3 / n as f64),
        _ => None,
    };
    latencies.sort_unstable();
    Round {
        throughput: n as f64 / elapsed.as_secs_f64(),
        p50: quantile(&latencies, 0.50),
        p99: quantile(&latencies, 0.99),
        cpu,
    }
}

/// Every server answers the same JSON to the same signed request.
async fn check_agreement(client: &reqwest::Client, targets: &[Target]) {
    let (body, signature) = signed_request();
    let mut answers = Vec::new();
    for target in targets {
        let response = client
            .post(format!("http://{}{PATH}", target.addr))
            .header("content-type", "application/json")
            .header("stripe-signature", &signature)
            .body(body.clone())
            .send()
            .await
            .expect("the server answers");
        assert_eq!(response.status(), 200, "{}", target.name);
        let json: Value = response.json().await.expect("JSON");
        answers.push(json);
    }
    for (target, answer) in targets.iter().zip(&answers) {
        assert_eq!(
            answer, &answers[0],
            "{} answers what {} answers",
            target.name, targets[0].name
        );
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut targets = vec![
        rust_server("actionkit", actionkit_router),
        rust_server("axum", baseline_router),
    ];
    match node_server() {
        Ok(node) => targets.push(node),
        Err(reason) => println!("http: skipping the Node.js server: {reason}"),
    }
    let client_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .expect("a client");
    client_runtime.block_on(check_agreement(&client, &targets));
    if !bench_mode() {
        for target in &targets {
            let round = client_runtime.block_on(load(&client, target, SMOKE_REQUESTS));
            println!(
                "http/{}: {SMOKE_REQUESTS} requests answered (smoke test, {:.0} req/s)",
                target.name, round.throughput
            );
        }
        return;
    }
    // Warm-up: connections opened, allocators and JIT warmed.
    for target in &targets {
        client_runtime.block_on(load(&client, target, REQUESTS / 4));
    }
    let mut rounds: Vec<Vec<Round>> = targets.iter().map(|_| Vec::new()).collect();
    for round in 0..ROUNDS {
        for k in 0..targets.len() {
            let i = (k + round) % targets.len();
            let result = client_runtime.block_on(load(&client, &targets[i], REQUESTS));
            rounds[i].push(result);
        }
    }
    println!(
        "\nhttp: {ROUNDS} rounds of {REQUESTS} requests per server, {CONCURRENCY} concurrent connections, order rotated each round (medians of the rounds)\n  {:<10} {:>10} {:>9} {:>9} {:>13}",
        "server", "req/s", "p50 µs", "p99 µs", "CPU µs/req"
    );
    let mut summary = Vec::new();
    for (target, rounds) in targets.iter().zip(&rounds) {
        let throughput = median(rounds.iter().map(|r| r.throughput).collect());
        let p50 = median(rounds.iter().map(|r| micros(r.p50)).collect());
        let p99 = median(rounds.iter().map(|r| micros(r.p99)).collect());
        let cpu = rounds
            .iter()
            .map(|r| r.cpu)
            .collect::<Option<Vec<_>>>()
            .map(median);
        println!(
            "  {:<10} {throughput:>10.0} {p50:>9.1} {p99:>9.1} {:>13}",
            target.name,
            cpu.map_or("n/a".to_owned(), |c| format!("{c:.1}"))
        );
        summary.push((target.name, throughput, cpu));
    }
    let (_, ours, our_cpu) = summary[0];
    let (_, axum, axum_cpu) = summary[1];
    println!(
        "  actionkit / axum throughput: {:.3}× (goal ≥ 0.95×)",
        ours / axum
    );
    if let (Some(a), Some(b)) = (our_cpu, axum_cpu) {
        println!(
            "  actionkit / axum server CPU per request: {:.3}× (goal ≤ 1.1×)",
            a / b
        );
    }
    if let Some(&(_, node, node_cpu)) = summary.get(2) {
        println!(
            "  actionkit / node throughput: {:.2}× (goal ≥ 1.6×)",
            ours / node
        );
        if let (Some(a), Some(n)) = (our_cpu, node_cpu) {
            println!("  node / actionkit server CPU per request: {:.2}×", n / a);
        }
    }
}
