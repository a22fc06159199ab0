//! epilot `wait_for_callback`: answered at once, the work done afterwards, the flow resumed by a
//! POST to the callback URL — retried while the receiver fails, across a restart, and with
//! PostgreSQL picked up by another replica.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actionkit::server::ServerConfig;
use actionkit::store::{RedbStore, Store};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Server, config, epilot_signer, now, start_on, start_with};
use crate::support::{postgres_url, temp_path};

/// A local stand-in for epilot's resume endpoint: records every POST, fails while `failing`.
#[derive(Clone, Default)]
struct Receiver {
    bodies: Arc<Mutex<Vec<Value>>>,
    calls: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
}

impl Receiver {
    async fn start(self) -> String {
        async fn resume(State(receiver): State<Receiver>, body: Bytes) -> StatusCode {
            let body: Value = serde_json::from_slice(&body).expect("the callback body is JSON");
            receiver.calls.fetch_add(1, Ordering::SeqCst);
            if receiver.failing.load(Ordering::SeqCst) {
                return StatusCode::SERVICE_UNAVAILABLE;
            }
            receiver.bodies.lock().unwrap().push(body);
            StatusCode::OK
        }
        let app = axum::Router::new()
            .route("/executions:resume", axum::routing::post(resume))
            .with_state(self);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/executions:resume")
    }

    fn resumed(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }
}

fn paused_event(callback: &str, resume_token: &str) -> Value {
    json!({
        "type": "external_integration",
        "data": {
            "org_id": "20000331",
            "action_config": {"custom_action_config": {
                "audience_id": "aud_customers", "template_id": "tpl_welcome", "template_variables": {"first_name": "Ada"}
            }},
            "execution_id": "exe_1",
            "execution_status": "paused",
            "exection_action_id": "act_1",
            "resume_token": resume_token,
            "callback_post_url": callback
        }
    })
}

async fn deliver(server: &Server, id: &str, body: &Value) -> (u16, Value) {
    let bytes = serde_json::to_vec(body).unwrap();
    let timestamp = now();
    let response = server
        .client
        .post(server.url("/epilot/send_email"))
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header(
            "webhook-signature",
            epilot_signer().sign(id, timestamp, &bytes),
        )
        .body(bytes)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

fn fast(config: ServerConfig) -> ServerConfig {
    config.platform(crate::harness::epilot().callback_retry(
        actionkit::platform::epilot::callback::RetryPolicy {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(100),
            attempts: 1000,
        },
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flow_is_resumed_after_the_answer() {
    let receiver = Receiver::default();
    let url = receiver.clone().start().await;
    let server = start_with(fast(config())).await;
    let (status, body) = deliver(&server, "msg_wait", &paused_event(&url, "rt_1")).await;
    assert_eq!((status, body), (200, json!({})), "answered at once");
    eventually("the resume POST", || !receiver.resumed().is_empty()).await;
    assert_eq!(receiver.resumed(), [json!({"resume_token": "rt_1"})]);
    assert_eq!(server.outbox_lines().len(), 1, "the work was done");
    let (status, _) = deliver(&server, "msg_wait", &paused_event(&url, "rt_1")).await;
    assert_eq!(status, 200, "a redelivery is accepted");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.resumed().len(), 1, "and resumes nothing twice");
    assert_eq!(server.outbox_lines().len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_config_is_refused_before_anything_is_queued() {
    let receiver = Receiver::default();
    let url = receiver.clone().start().await;
    let server = start_with(fast(config())).await;
    let mut event = paused_event(&url, "rt_bad");
    event["data"]["action_config"]["custom_action_config"] =
        json!({"audience_id": 5, "template_id": "tpl_welcome"});
    let (status, body) = deliver(&server, "msg_bad", &event).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error_output"]["error_info"]["details"][0]["field"],
        "/audience_id"
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(receiver.resumed().is_empty() && server.outbox_lines().is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_survives_a_restart_between_answer_and_resume() {
    let receiver = Receiver::default();
    receiver.failing.store(true, Ordering::SeqCst);
    let url = receiver.clone().start().await;
    let path = temp_path("callbacks.redb");

    let store: Arc<dyn Store> = Arc::new(RedbStore::open(&path).unwrap());
    let first = start_with(fast(config()).store(store.clone())).await;
    let outbox = first.outbox.clone();
    let (status, _) = deliver(&first, "msg_restart", &paused_event(&url, "rt_restart")).await;
    assert_eq!(status, 200);
    eventually("a failed resume attempt", || {
        receiver.calls.load(Ordering::SeqCst) >= 2
    })
    .await;
    first.stop().await;
    drop(store);

    receiver.failing.store(false, Ordering::SeqCst);
    let store: Arc<dyn Store> = Arc::new(RedbStore::open(&path).expect("reopen after the restart"));
    let second = start_on(fast(config()).store(store), outbox).await;
    eventually("the resume after the restart", || {
        !receiver.resumed().is_empty()
    })
    .await;
    assert_eq!(receiver.resumed(), [json!({"resume_token": "rt_restart"})]);
    assert_eq!(
        second.outbox_lines().len(),
        1,
        "the handler ran once across the restart"
    );
    second.stop().await;
    let _ = std::fs::remove_file(RedbStore::journal_path(&path));
    let _ = std::fs::remove_file(path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_replicas_work_is_picked_up_by_another_with_postgres() {
    let Some(url) = postgres_url("a_crashed_replicas_work_is_picked_up_by_another_with_postgres")
    else {
        return;
    };
    let table = format!(
        "ak_callbacks_{}_{}",
        std::process::id(),
        crate::support::unique()
    );
    let connect = || async {
        let store = actionkit::store::PostgresStore::builder(url.clone())
            .table(table.clone())
            .connect()
            .await
            .unwrap();
        Arc::new(store) as Arc<dyn Store>
    };
    let receiver = Receiver::default();
    receiver.failing.store(true, Ordering::SeqCst);
    let callback = receiver.clone().start().await;
    let first = start_with(fast(config()).store(connect().await)).await;
    let outbox = first.outbox.clone();
    deliver(&first, "msg_pg", &paused_event(&callback, "rt_pg")).await;
    eventually("a failed resume attempt", || {
        receiver.calls.load(Ordering::SeqCst) >= 1
    })
    .await;
    first.stop().await;

    receiver.failing.store(false, Ordering::SeqCst);
    let second = start_on(fast(config()).store(connect().await), outbox).await;
    eventually("the other replica's resume", || {
        !receiver.resumed().is_empty()
    })
    .await;
    assert_eq!(receiver.resumed(), [json!({"resume_token": "rt_pg"})]);
    assert_eq!(second.outbox_lines().len(), 1);
    second.stop().await;
}

/// A resume endpoint answering `status` to every POST, counting them.
async fn answering(status: u16) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let app = axum::Router::new().route(
        "/executions:resume",
        axum::routing::post(move |body: Bytes| {
            let counted = counted.clone();
            async move {
                let body: Value = serde_json::from_slice(&body).expect("JSON");
                assert_eq!(body, json!({"resume_token": format!("rt_{status}")}));
                counted.fetch_add(1, Ordering::SeqCst);
                StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/executions:resume"), calls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_resume_tokens_are_given_up_at_once_and_others_retried() {
    for status in [200, 400, 403, 404, 429, 500] {
        let (url, calls) = answering(status).await;
        let store: Arc<dyn Store> = Arc::new(actionkit::store::MemoryStore::new());
        let server = start_with(fast(config()).store(store.clone())).await;
        let (answered, _) = deliver(
            &server,
            &format!("msg_{status}"),
            &paused_event(&url, &format!("rt_{status}")),
        )
        .await;
        assert_eq!(answered, 200);
        if status == 429 || status == 500 {
            eventually("retried resume attempts", || {
                calls.load(Ordering::SeqCst) >= 3
            })
            .await;
            assert_eq!(
                store.pending().await.unwrap(),
                1,
                "HTTP {status}: still queued"
            );
        } else {
            eventually("the resume attempt", || calls.load(Ordering::SeqCst) >= 1).await;
            // the fast retry policy would have tried several more times by now
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert_eq!(
                calls.load(Ordering::SeqCst),
                1,
                "HTTP {status}: one attempt"
            );
            assert_eq!(store.pending().await.unwrap(), 0, "HTTP {status}: finished");
        }
        assert_eq!(
            server.outbox_lines().len(),
            1,
            "HTTP {status}: the work ran once"
        );
        server.stop().await;
    }
}
