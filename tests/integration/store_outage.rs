//! A real PostgreSQL goes away while a handler runs and comes back: the outcome the store could
//! not take is kept, redeliveries meanwhile replay it, and it reaches the database as soon as the
//! database answers again — the side effect runs once. The outage is made by a TCP proxy between
//! the store and the database that the test cuts (dropping every connection and refusing new
//! ones) and restores.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actionkit::store::{Claim, IdempotencyStore, InputHash, PostgresStore};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::runtime::{Effect, Effects};
use crate::support::postgres_url;

/// A TCP proxy to `upstream` that can be cut and restored.
struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    _accept: JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (flag, held) = (up.clone(), links.clone());
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if !flag.load(Ordering::SeqCst) {
                    continue; // dropped: the database is unreachable
                }
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                held.lock().unwrap().push(link);
            }
        });
        Proxy {
            addr,
            up,
            links,
            _accept: accept,
        }
    }

    /// Drops every connection and refuses new ones.
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// `url` with its host and port replaced by `addr`.
fn through(url: &str, addr: SocketAddr) -> (String, SocketAddr) {
    let rest = url.strip_prefix("postgres://").expect("a postgres:// URL");
    let (user, rest) = rest.split_once('@').expect("user@host");
    let (hostport, path) = rest.split_once('/').unwrap_or((rest, ""));
    let upstream: SocketAddr = hostport.parse().expect("host:port of the test database");
    (format!("postgres://{user}@{addr}/{path}"), upstream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_mid_handler_loses_no_outcome_and_runs_nothing_twice() {
    let Some(url) = postgres_url("store_outage") else {
        return;
    };
    let (_, upstream) = through(&url, "127.0.0.1:1".parse().unwrap());
    let proxy = Proxy::start(upstream).await;
    let (proxied, _) = through(&url, proxy.addr);
    let table = format!("outage_{}", std::process::id());
    let store = Arc::new(
        PostgresStore::builder(&proxied)
            .table(&table)
            .connect()
            .await
            .expect("the store connects through the proxy"),
    );
    let effects = Effects::default();
    let rt = Arc::new(
        actionkit::runtime::Runtime::new(effects.clone())
            .action::<Effect>()
            .store(store.clone()),
    );
    let input = json!({"label": "pg", "sleep_ms": 800});
    let call = |input: &serde_json::Value| {
        actionkit::runtime::Call::new("effect", "r_pg_outage", input.clone())
    };

    // The handler starts; the database goes away while it runs.
    let running = {
        let (rt, call) = (rt.clone(), call(&input));
        tokio::spawn(async move { rt.execute(call).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    proxy.cut();
    let first = running.await.unwrap();
    assert_eq!(
        first.outcome.status(),
        200,
        "the side effect happened: it is answered"
    );
    // Still down: a redelivery replays the kept outcome.
    let again = rt.execute(call(&input)).await;
    assert!(again.replayed && !again.ran, "{again:?}");
    assert_eq!(again.outcome, first.outcome);

    // The database comes back: the outcome reaches it within seconds (well before the lease).
    proxy.restore();
    let direct = PostgresStore::builder(&url)
        .table(&table)
        .connect()
        .await
        .expect("a second store, straight to the database");
    let recorded = async {
        loop {
            // Another input's claim answers `Conflict` once the outcome is recorded there.
            match direct
                .claim(
                    "test:effect:r_pg_outage",
                    &InputHash([0; 32]),
                    Duration::from_secs(1),
                )
                .await
            {
                Ok(Claim::Conflict) => return,
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), recorded)
        .await
        .expect("the kept outcome is recorded once the database answers");
    let replayed = rt.execute(call(&input)).await;
    assert!(replayed.replayed && !replayed.ran);
    assert_eq!(effects.attempts("r_pg_outage"), 1, "one side effect");
}
