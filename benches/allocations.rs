//! Heap allocations per request on the Stripe execute path, actionkit's router against the
//! hand-written axum router of `benches/shared/stripe.rs`: the same requests as `execute` (built
//! and signed before counting), through `tower::ServiceExt::oneshot` on a current-thread
//! runtime, counted by a global allocator that wraps the system one.
//!
//! Allocation counts do not vary with machine load, so this is the steady figure behind the
//! noisy timings of `execute` and `http`. Under `cargo bench` it counts 2 000 requests of each;
//! under `cargo test` 20, and checks that both routers answer 200.

#[allow(dead_code)] // the helpers other benches use
mod common;
#[path = "shared/stripe.rs"]
mod shared;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt as _;

/// The system allocator, counting.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static REALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to `System`; the counters are plain atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is `System.alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with `layout`, as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        REALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `dealloc`, and `new_size` is the caller's valid size.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Counts per request over `n` requests through `router`: (allocations, reallocations, bytes).
fn count(runtime: &tokio::runtime::Runtime, router: &Router, n: u64) -> (f64, f64, f64) {
    let requests: Vec<Request<Body>> = (0..n)
        .map(|_| {
            let (body, signature) = shared::signed_request();
            Request::post(shared::PATH)
                .header("content-type", "application/json")
                .header("stripe-signature", signature)
                .body(Body::from(body))
                .expect("a request")
        })
        .collect();
    let before = (
        ALLOCATIONS.load(Ordering::Relaxed),
        REALLOCATIONS.load(Ordering::Relaxed),
        BYTES.load(Ordering::Relaxed),
    );
    runtime.block_on(async {
        for request in requests {
            let response = router.clone().oneshot(request).await.expect("infallible");
            assert_eq!(response.status(), StatusCode::OK);
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("a body");
            std::hint::black_box(body);
        }
    });
    let per = |after: u64, before: u64| (after - before) as f64 / n as f64;
    (
        per(ALLOCATIONS.load(Ordering::Relaxed), before.0),
        per(REALLOCATIONS.load(Ordering::Relaxed), before.1),
        per(BYTES.load(Ordering::Relaxed), before.2),
    )
}

fn main() {
    let n = if common::bench_mode() { 2_000 } else { 20 };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let (actionkit, baseline) = {
        let _entered = runtime.enter();
        (shared::actionkit_router(), shared::baseline_router())
    };
    // Warm both up (thread-local buffers, lazily built schemas, the maps' first growth).
    count(&runtime, &actionkit, 20);
    count(&runtime, &baseline, 20);
    println!("allocations: {n} Stripe execute requests each, current-thread runtime (per request)");
    println!("  router       allocations  reallocations   bytes");
    for (name, router) in [("actionkit", &actionkit), ("baseline", &baseline)] {
        let (allocations, reallocations, bytes) = count(&runtime, router, n);
        println!("  {name:<10} {allocations:>13.1} {reallocations:>14.1} {bytes:>7.0}");
    }
}
