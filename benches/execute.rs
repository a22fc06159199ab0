//! The whole Stripe execute path in-process: `Stripe-Signature` verification, body decoding and
//! input validation, the in-memory idempotency store, the handler, the JSON response, through
//! actionkit's router (`App::into_router`, called with `tower::ServiceExt::oneshot`), against a
//! hand-written axum router doing the same work with the same crates (`benches/shared/stripe.rs`).
//!
//! Every request carries a request id never used before, so each one runs the handler and is
//! recorded. Requests are built and signed before the clock starts. Both variants run as a task
//! of a tokio runtime, on a multi-thread runtime (one worker per core, as served) and on a
//! current-thread runtime (the framework's CPU cost alone). After criterion's report,
//! `cargo bench` also runs alternating rounds of both and prints the throughput ratio; under
//! `cargo test` criterion runs each variant once and the rounds are skipped.

#[allow(dead_code)] // `quantile` and `micros` serve the other benches
mod common;
#[path = "shared/stripe.rs"]
mod shared;

use std::future::Future;
use std::hint::black_box;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use criterion::{BenchmarkId, Criterion, Throughput};
use serde_json::Value;
use tower::ServiceExt as _;

use common::bench_mode;
use shared::{PATH, actionkit_router, baseline_router, signed_request};

/// Alternating rounds after criterion, and requests per round and variant.
const ROUNDS: usize = 21;
const BATCH: usize = 2_000;
/// The goal from the issue: actionkit's throughput at least this share of the baseline's.
const GOAL_RATIO: f64 = 0.95;

fn request(body: axum::body::Bytes, signature: &str) -> Request<Body> {
    Request::post(PATH)
        .header("content-type", "application/json")
        .header("stripe-signature", signature)
        .body(Body::from(body))
        .expect("a request")
}

fn requests(n: u64) -> Vec<Request<Body>> {
    (0..n)
        .map(|_| {
            let (body, signature) = signed_request();
            request(body, &signature)
        })
        .collect()
}

async fn call(router: &Router, request: Request<Body>) -> (StatusCode, axum::body::Bytes) {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a body");
    (status, body)
}

/// Runs every request through `router` one after another and returns the elapsed time.
async fn run_all(router: Router, requests: Vec<Request<Body>>) -> Duration {
    let start = Instant::now();
    for request in requests {
        let (status, body) = call(&router, request).await;
        debug_assert_eq!(status, StatusCode::OK);
        black_box(body);
    }
    start.elapsed()
}

struct Flavor {
    name: &'static str,
    tokio: tokio::runtime::Runtime,
    actionkit: Router,
    baseline: Router,
}

impl Flavor {
    fn new(name: &'static str, tokio: tokio::runtime::Runtime) -> Self {
        // Built inside the runtime, as a server builds its router.
        let (actionkit, baseline) = {
            let _entered = tokio.enter();
            (actionkit_router(), baseline_router())
        };
        Flavor {
            name,
            tokio,
            actionkit,
            baseline,
        }
    }

    fn all() -> [Flavor; 2] {
        let multi = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let current = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        [
            Flavor::new("multi_thread", multi),
            Flavor::new("current_thread", current),
        ]
    }

    /// Runs `future` as a task of the runtime, as a server's request task.
    fn run<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tokio
            .block_on(self.tokio.spawn(future))
            .expect("the bench task does not panic")
    }

    fn time(&self, router: &Router, n: u64) -> Duration {
        let requests = requests(n);
        self.run(run_all(router.clone(), requests))
    }
}

/// Both routers answer the same statuses and bodies: a fresh id, its replay, a bad signature,
/// an invalid input.
fn check_agreement(flavor: &Flavor) {
    let (body, signature) = signed_request();
    let bad_input =
        br#"{"id":"req_bad","custom_input":{"customer":"","amount":0,"currency":"eur"}}"#;
    let bad_input_sig = actionkit::signature::stripe::sign(
        shared::SECRET,
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
        bad_input,
    );
    let cases = move || {
        vec![
            request(body.clone(), &signature),
            request(body.clone(), &signature),
            request(body.clone(), "t=1,v1=00"),
            request(axum::body::Bytes::from_static(bad_input), &bad_input_sig),
        ]
    };
    let answers = |router: Router, cases: Vec<Request<Body>>| async move {
        let mut out = Vec::new();
        for case in cases {
            let (status, body) = call(&router, case).await;
            let json: Value = serde_json::from_slice(&body).expect("JSON");
            // Messages are worded differently; the status, the shape and the outputs agree.
            let json = match json.get("error") {
                Some(error) => error["type"].clone(),
                None => json,
            };
            out.push((status, json));
        }
        out
    };
    let ours = flavor.run(answers(flavor.actionkit.clone(), cases()));
    let theirs = flavor.run(answers(flavor.baseline.clone(), cases()));
    assert_eq!(ours, theirs, "the baseline answers what actionkit answers");
    assert_eq!(ours[0].0, StatusCode::OK);
    assert_eq!(ours[0], ours[1], "a replay answers the recorded outcome");
    assert_eq!(ours[2].0, StatusCode::UNAUTHORIZED);
    assert_eq!(ours[3].0, StatusCode::BAD_REQUEST);
}

fn criterion_run(c: &mut Criterion, flavors: &[Flavor]) {
    let mut group = c.benchmark_group("execute");
    group.throughput(Throughput::Elements(1));
    for flavor in flavors {
        group.bench_function(BenchmarkId::new("actionkit", flavor.name), |b| {
            b.iter_custom(|iters| flavor.time(&flavor.actionkit, iters));
        });
        group.bench_function(BenchmarkId::new("baseline", flavor.name), |b| {
            b.iter_custom(|iters| flavor.time(&flavor.baseline, iters));
        });
    }
    group.finish();
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Alternating rounds of `BATCH` requests of each variant (the order flips every round), so both
/// see the same noise; prints the medians and their ratio.
fn rounds(flavor: &Flavor) {
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut ratios = Vec::new();
    for round in 0..ROUNDS + 1 {
        let (a, b) = if round % 2 == 0 {
            let a = flavor.time(&flavor.actionkit, BATCH as u64);
            (a, flavor.time(&flavor.baseline, BATCH as u64))
        } else {
            let b = flavor.time(&flavor.baseline, BATCH as u64);
            (flavor.time(&flavor.actionkit, BATCH as u64), b)
        };
        if round == 0 {
            continue; // warm-up
        }
        let (a, b) = (
            BATCH as f64 / a.as_secs_f64(),
            BATCH as f64 / b.as_secs_f64(),
        );
        ours.push(a);
        theirs.push(b);
        ratios.push(a / b);
    }
    let (a, b, r) = (median(ours), median(theirs), median(ratios));
    println!(
        "\nexecute/{}: {ROUNDS} alternating rounds of {BATCH} requests each (medians)\n  actionkit {:>10.0} req/s  {:>7.2} µs/req\n  baseline  {:>10.0} req/s  {:>7.2} µs/req\n  actionkit / baseline throughput: {:.3}× (ratio of medians), {r:.3}× (median of per-round ratios)\n  goal ≥ {GOAL_RATIO}×: {}",
        flavor.name,
        a,
        1e6 / a,
        b,
        1e6 / b,
        a / b,
        if r >= GOAL_RATIO { "met" } else { "NOT met" },
    );
}

fn main() {
    let flavors = Flavor::all();
    for flavor in &flavors {
        check_agreement(flavor);
    }
    let mut criterion = Criterion::default().configure_from_args();
    criterion_run(&mut criterion, &flavors);
    criterion.final_summary();
    if bench_mode() {
        for flavor in &flavors {
            rounds(flavor);
        }
    }
}
