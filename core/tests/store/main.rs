//! Stores: the shared conformance suite (idempotency records and the callback queue) run against
//! every store, plus each store's own tests (durability, crashes, several stores on one
//! database).
//!
//! Test names all contain `store`, so `cargo test -p actionkit-core store` runs exactly these.

/// Expands to one `#[tokio::test]` per conformance case. `$factory` is evaluated inside each
/// (async) test and gives an `Option` of a `conformance::StoreFactory`; `None` skips the test
/// (the expression says why).
macro_rules! conformance_tests {
    ($factory:expr) => {
        conformance_tests!(@cases $factory;
            acquire_then_replay, in_progress_while_leased, conflict_checked_first,
            release_frees_at_once, expired_lease_is_claimable, complete_is_idempotent_per_lease,
            retention_expiry, purge_removes_expired, keys_are_independent, concurrent_claims,
            queue_enqueue_dedupes, queue_claims_longest_due_first,
            queue_expired_lease_is_reclaimed, queue_outcome_survives,
            queue_retry_later_delays_and_counts, queue_finish_is_final,
            queue_purge_removes_finished, queue_concurrent_claims);
    };
    (@cases $factory:expr; $($case:ident),*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $case() {
            let Some(factory) = $factory else { return };
            actionkit_core::store::conformance::$case(&factory).await;
        }
    )*};
}

mod memory_store;
#[cfg(feature = "postgres")]
mod postgres_store;
#[cfg(feature = "redb")]
mod redb_store;
mod support;
