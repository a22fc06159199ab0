//! `PostgresStore` against a real server: the conformance suite, several stores (connections) on
//! one table, connection trouble.
//!
//! The server comes from `ACTIONKIT_TEST_POSTGRES` (set by `shared/scripts/with-postgres`). When
//! it is unset the tests say so and pass, except under CI (`CI` set), where they fail. Each test
//! works in a schema of its own, dropped at the end, so reruns and parallel tests never meet.

use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actionkit_core::store::conformance::{
    self, LONG_LEASE, SHORT_LEASE, acquire, claim, claim_due, claim_job, enqueue, outcome, pending,
};
use actionkit_core::store::{CallbackQueue, Claim, IdempotencyStore, PostgresStore, StoreError};
use tokio_postgres::NoTls;

/// The test server's URL, or `None` (with the reason printed) when there is none.
fn server_url(test: &str) -> Option<String> {
    match std::env::var("ACTIONKIT_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "{test}: ACTIONKIT_TEST_POSTGRES must be set in CI (run under shared/scripts/with-postgres)"
            )
        }
        _ => {
            // Straight to stderr: libtest captures `eprintln!` of passing tests, and a skip
            // should be seen.
            let _ = writeln!(
                std::io::stderr(),
                "skipping {test}: ACTIONKIT_TEST_POSTGRES is not set; run under \
                 shared/scripts/with-postgres to test the PostgreSQL store"
            );
            None
        }
    }
}

/// A schema of its own for one test, dropped (with every table in it) on drop.
struct Schema {
    url: String,
    name: String,
    tables: AtomicUsize,
}

impl Schema {
    async fn create(test: &str) -> Option<Arc<Self>> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let url = server_url(test)?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!(
            "actionkit_test_{}_{nanos}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        admin(&url, &format!("CREATE SCHEMA \"{name}\"")).await;
        Some(Arc::new(Self {
            url,
            name,
            tables: AtomicUsize::new(0),
        }))
    }

    /// A new, unused table name in this schema.
    fn next_table(&self) -> String {
        format!(
            "{}.t{}",
            self.name,
            self.tables.fetch_add(1, Ordering::Relaxed)
        )
    }

    async fn store(&self, table: &str, retention: Duration) -> PostgresStore {
        PostgresStore::builder(&self.url)
            .table(table)
            .retention(retention)
            .connect()
            .await
            .unwrap_or_else(|e| panic!("connect to the test server: {e}"))
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let (url, sql) = (
            self.url.clone(),
            format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name),
        );
        // Drop may run inside a runtime; clean up on a thread with a runtime of its own.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(admin(&url, &sql))
        })
        .join();
    }
}

/// Runs `sql` on a connection of its own.
async fn admin(url: &str, sql: &str) {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("connect to the test server");
    let connection = tokio::spawn(connection);
    client
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("`{sql}`: {e}"));
    drop(client);
    let _ = connection.await;
}

/// A factory of stores, each on a new table of a new schema.
async fn factory(
    test: &str,
) -> Option<impl Fn(Duration) -> std::pin::Pin<Box<dyn Future<Output = PostgresStore>>>> {
    let schema = Schema::create(test).await?;
    Some(move |retention| {
        let schema = schema.clone();
        Box::pin(async move {
            let table = schema.next_table();
            schema.store(&table, retention).await
        }) as std::pin::Pin<Box<dyn Future<Output = PostgresStore>>>
    })
}

conformance_tests!(factory("postgres_store conformance").await);

/// Two stores (two connections, as two replicas would have) on one table race for the same 100
/// ids, 5 claims each: every id is acquired exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_two_stores_share_one_table() {
    let Some(schema) = Schema::create("postgres_store_two_stores_share_one_table").await else {
        return;
    };
    let table = schema.next_table();
    // connecting at once also races the table creation
    let (a, b) = tokio::join!(
        schema.store(&table, Duration::from_secs(3600)),
        schema.store(&table, Duration::from_secs(3600))
    );
    let (a, b): (Arc<dyn IdempotencyStore>, Arc<dyn IdempotencyStore>) = (Arc::new(a), Arc::new(b));
    conformance::concurrent_claims_on(&[a.clone(), b.clone()], 100, 5).await;

    // a crashed replica's lease is taken over by the other one, and its late answer is refused
    let crashed = acquire(&*a, "evt_replica_crash", 1, SHORT_LEASE).await;
    assert!(matches!(
        claim(&*b, "evt_replica_crash", 1, LONG_LEASE).await,
        Claim::InProgress { .. }
    ));
    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(100)).await;
    let successor = acquire(&*b, "evt_replica_crash", 1, LONG_LEASE).await;
    assert!(
        a.complete(&crashed, &outcome(200, b"late"))
            .await
            .unwrap_err()
            .is_lease_lost()
    );
    let recorded = outcome(200, b"successor");
    b.complete(&successor, &recorded).await.unwrap();
    assert_eq!(
        claim(&*a, "evt_replica_crash", 1, LONG_LEASE).await,
        Claim::Replay(recorded)
    );
    assert_eq!(
        claim(&*a, "evt_replica_crash", 2, LONG_LEASE).await,
        Claim::Conflict
    );
}

/// Two stores (two connections, as two replicas would have) share one jobs table: concurrent
/// claimers never take the same job, and a crashed replica's job is picked up by the other one,
/// outcome and all, while the crashed replica's late calls are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_queue_two_stores_share_one_table() {
    let Some(schema) = Schema::create("postgres_store_queue_two_stores_share_one_table").await
    else {
        return;
    };
    let table = schema.next_table();
    let (a, b) = tokio::join!(
        schema.store(&table, Duration::from_secs(3600)),
        schema.store(&table, Duration::from_secs(3600))
    );
    let (a, b): (Arc<dyn CallbackQueue>, Arc<dyn CallbackQueue>) = (Arc::new(a), Arc::new(b));
    conformance::queue_concurrent_claims_on(&[a.clone(), b.clone()], 50).await;
    // more claimers than connections: each connection pipelines two of them
    conformance::queue_concurrent_claims_on(&[a.clone(), b.clone(), a.clone(), b.clone()], 200)
        .await;

    assert!(enqueue(&*a, "job_replica_crash", b"work").await);
    assert!(!enqueue(&*b, "job_replica_crash", b"redelivered").await);
    let (_, crashed) = claim_job(&*a, SHORT_LEASE).await;
    a.record_outcome(&crashed, b"ran on a").await.unwrap();
    assert!(
        claim_due(&*b, LONG_LEASE).await.is_none(),
        "a's lease is live"
    );
    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(100)).await;
    let (job, successor) = claim_job(&*b, LONG_LEASE).await;
    assert_eq!(job.key, "job_replica_crash");
    assert_eq!(job.payload, b"work");
    assert_eq!(job.outcome.as_deref(), Some(&b"ran on a"[..]));
    assert!(a.finish(&crashed, true).await.unwrap_err().is_lease_lost());
    assert!(
        a.retry_later(&crashed, Duration::ZERO)
            .await
            .unwrap_err()
            .is_lease_lost()
    );
    assert_eq!(pending(&*a).await, 1);
    b.finish(&successor, true).await.unwrap();
    assert_eq!(pending(&*a).await, 0);

    // the jobs live in `<table>_jobs`, beside the records
    let (client, connection) = tokio_postgres::connect(&schema.url, NoTls).await.unwrap();
    let connection = tokio::spawn(connection);
    let row = client
        .query_one("SELECT to_regclass($1)::text", &[&format!("{table}_jobs")])
        .await
        .unwrap();
    let found: Option<String> = row.get(0);
    assert!(found.is_some(), "no table {table}_jobs");
    drop(client);
    let _ = connection.await;
}

/// The default table through `open`, as `ACTIONKIT_STORE=postgres://…` would build it.
#[tokio::test]
async fn postgres_store_opens_from_the_setting() {
    let Some(url) = server_url("postgres_store_opens_from_the_setting") else {
        return;
    };
    let store = actionkit_core::store::open(&url)
        .await
        .expect("open postgres://");
    let key = format!(
        "evt_open_{}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let lease = acquire(&*store, &key, 1, LONG_LEASE).await;
    store.release(&lease).await.unwrap();
    // the same store is the callback queue
    assert!(enqueue(&*store, &key, b"").await);
    let (job, lease) = claim_job(&*store, LONG_LEASE).await;
    assert_eq!(job.key, key);
    store.finish(&lease, true).await.unwrap();
}

#[tokio::test]
async fn postgres_store_unreachable_server_is_unavailable() {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    let err = PostgresStore::connect("postgres://postgres@127.0.0.1:1/postgres")
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    eprintln!("unreachable: {err}");
    let err = PostgresStore::builder("postgres://postgres@127.0.0.1:1/postgres")
        .table("no-dashes")
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidConfig(_)), "{err}");
}

/// A connection killed under the store: calls fail as `Unavailable`, never hang or panic, and the
/// store reconnects by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_reconnects_after_losing_its_connection() {
    let Some(schema) =
        Schema::create("postgres_store_reconnects_after_losing_its_connection").await
    else {
        return;
    };
    let app = format!("actionkit_reconnect_{}", schema.name);
    let url = format!("{}?application_name={app}", schema.url);
    let store = PostgresStore::builder(&url)
        .table(schema.next_table())
        .connect()
        .await
        .unwrap();
    let lease = acquire(&store, "evt_before", 1, LONG_LEASE).await;

    admin(
        &schema.url,
        &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{app}'"),
    )
    .await;
    let mut recovered = false;
    for _ in 0..20 {
        match store
            .claim("evt_after", &conformance::hash(1), LONG_LEASE)
            .await
        {
            Ok(Claim::Acquired(_)) => {
                recovered = true;
                break;
            }
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) => {
                assert!(e.is_unavailable(), "{e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    assert!(recovered, "the store reconnects");
    // the lease taken before the outage still owns its id
    store
        .complete(&lease, &outcome(200, b"after reconnect"))
        .await
        .unwrap();
}
