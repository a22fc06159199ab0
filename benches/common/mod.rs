//! What both benches share: telling `cargo bench` from `cargo test`, and order statistics.

use std::time::Duration;

/// Whether the binary runs under `cargo bench` (which passes `--bench`) to measure: not as a
/// test under `cargo test --all-targets`, where criterion runs every benchmark once, nor under a
/// profiler (`--profile-time`). Otherwise the extra measured loops are skipped.
pub fn bench_mode() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a.starts_with("--profile-time"))
}

/// The `p` quantile (0 < p ≤ 1) of `sorted` by the nearest-rank method.
pub fn quantile<T: Copy>(sorted: &[T], p: f64) -> T {
    assert!(!sorted.is_empty(), "no samples");
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Microseconds, for printing.
pub fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
