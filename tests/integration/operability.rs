//! Operability: `GET /metrics` in the Prometheus text format, `GET /readyz` following the store,
//! and log lines as JSON or as text without colour codes when not written to a terminal.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actionkit::store::{
    CallbackQueue, Claim, IdempotencyStore, InputHash, JobLease, Lease, MemoryStore, PendingJob,
    Recorded, StoreError,
};
use async_trait::async_trait;
use serde_json::{Value, json};

use crate::harness::{config, start, start_with};
use crate::support::run_child;

fn input() -> Value {
    json!({"audience_id": "aud_customers", "template_id": "tpl_welcome", "template_variables": {"first_name": "Ada"}})
}

/// The value of the sample `name{labels}` (the whole line's prefix up to the value).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().expect("a number"))
}

#[tokio::test]
async fn metrics_count_calls_replays_and_durations_without_ids() {
    let server = start().await;
    assert_eq!(server.execute("req_metrics_1", input()).await.0, 200);
    assert_eq!(
        server.execute("req_metrics_1", input()).await.0,
        200,
        "a replay"
    );
    let (status, _) = server
        .signed(
            "/stripe/send_email/execute",
            &json!({"id": "req_metrics_2", "custom_input": {"audience_id": 1}}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _, _) = server
        .send(
            "/stripe/no_such_action/execute",
            b"{}",
            Some("t=1,v1=00".into()),
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = server
        .signed(
            "/stripe/send_email/get_form_state",
            &json!({"values": {}, "changed_field": null}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = server
        .signed(
            "/stripe/send_email/get_form_state",
            &json!({"values": {}, "changed_field": "no_such_field"}),
        )
        .await;
    assert_eq!(status, 400);

    let response = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    let ok = r#"actionkit_requests_total{platform="stripe",action="send_email",outcome="success",status="200"}"#;
    assert_eq!(
        sample(&text, ok),
        Some(2.0),
        "form-state calls are counted apart: {text}"
    );
    let form = r#"actionkit_form_state_requests_total{platform="stripe",action="send_email",outcome="success",status="200"}"#;
    assert_eq!(sample(&text, form), Some(1.0), "{text}");
    let form_bad = r#"actionkit_form_state_requests_total{platform="stripe",action="send_email",outcome="invalid_input",status="400"}"#;
    assert_eq!(sample(&text, form_bad), Some(1.0), "{text}");
    let form_count =
        r#"actionkit_form_state_duration_seconds_count{platform="stripe",action="send_email"}"#;
    assert_eq!(sample(&text, form_count), Some(2.0), "{text}");
    let bad = r#"actionkit_requests_total{platform="stripe",action="send_email",outcome="invalid_input",status="400"}"#;
    assert_eq!(sample(&text, bad), Some(1.0), "{text}");
    let unknown =
        r#"actionkit_requests_total{platform="stripe",action="",outcome="signature",status="401"}"#;
    assert_eq!(
        sample(&text, unknown),
        Some(1.0),
        "an unknown action is no label: {text}"
    );
    assert_eq!(
        sample(&text, "actionkit_replays_total"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "actionkit_store_errors_total"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "actionkit_callback_queue_depth"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "actionkit_callback_attempts_total"),
        Some(0.0),
        "registered, counted by the callback worker: {text}"
    );
    let count =
        r#"actionkit_request_duration_seconds_count{platform="stripe",action="send_email"}"#;
    assert_eq!(sample(&text, count), Some(3.0), "{text}");
    assert!(
        text.contains("# TYPE actionkit_request_duration_seconds histogram"),
        "{text}"
    );
    for private in ["req_metrics", "no_such_action", crate::harness::SECRET] {
        assert!(
            !text.contains(private),
            "`{private}` in the metrics: {text}"
        );
    }
    server.stop().await;
}

/// A memory store whose every call fails while `down` is set.
#[derive(Default)]
struct Flaky {
    inner: MemoryStore,
    down: AtomicBool,
}

impl Flaky {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::Relaxed) {
            Err(StoreError::unavailable("test", "the store is down"))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl IdempotencyStore for Flaky {
    async fn claim(
        &self,
        key: &str,
        input: &InputHash,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        self.check()?;
        self.inner.claim(key, input, lease).await
    }
    async fn complete(&self, lease: &Lease, outcome: &Recorded) -> Result<(), StoreError> {
        self.check()?;
        self.inner.complete(lease, outcome).await
    }
    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        self.check()?;
        self.inner.release(lease).await
    }
    async fn purge_expired(&self) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.purge_expired().await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.check()
    }
}

#[async_trait]
impl CallbackQueue for Flaky {
    async fn enqueue(&self, key: &str, payload: &[u8]) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.enqueue(key, payload).await
    }
    async fn claim_due(
        &self,
        lease: Duration,
    ) -> Result<Option<(PendingJob, JobLease)>, StoreError> {
        self.check()?;
        self.inner.claim_due(lease).await
    }
    async fn record_outcome(&self, lease: &JobLease, outcome: &[u8]) -> Result<(), StoreError> {
        self.check()?;
        self.inner.record_outcome(lease, outcome).await
    }
    async fn retry_later(&self, lease: &JobLease, delay: Duration) -> Result<(), StoreError> {
        self.check()?;
        self.inner.retry_later(lease, delay).await
    }
    async fn finish(&self, lease: &JobLease, delivered: bool) -> Result<(), StoreError> {
        self.check()?;
        self.inner.finish(lease, delivered).await
    }
    async fn pending(&self) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.pending().await
    }
}

#[tokio::test]
async fn readyz_follows_the_store_and_healthz_stays_live() {
    let store = Arc::new(Flaky::default());
    let server = start_with(config().store(store.clone())).await;
    let get = |path: &'static str| {
        let request = server.client.get(server.url(path));
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get("/readyz").await, 200);
    store.down.store(true, Ordering::Relaxed);
    assert_eq!(get("/readyz").await, 503);
    assert_eq!(
        get("/healthz").await,
        200,
        "liveness does not follow the store"
    );
    let (status, _) = server.execute("req_store_down", input()).await;
    assert_eq!(status, 503);
    let text = server.get_text("/metrics").await;
    let errors = sample(&text, "actionkit_store_errors_total").expect("counted");
    assert!(
        errors >= 2.0,
        "the refused readiness probe and the claim: {text}"
    );
    store.down.store(false, Ordering::Relaxed);
    assert_eq!(get("/readyz").await, 200);
    server.stop().await;
}

/// Set by the log-format tests to run their child half, with the format to use.
const LOG_FORMAT_CHILD: &str = "ACTIONKIT_LOG_FORMAT_CHILD";

/// The child half of the log-format tests: sets logging up as a served binary does (from
/// `ACTIONKIT_LOG_FORMAT`, to stderr, which is a pipe here), then makes one call.
#[test]
fn log_format_child_entry() {
    if std::env::var_os(LOG_FORMAT_CHILD).is_none() {
        return;
    }
    actionkit::server::cli::init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = start().await;
        assert_eq!(server.execute("req_json_logged", input()).await.0, 200);
        server.stop().await;
    });
}

/// Runs the child with `ACTIONKIT_LOG_FORMAT=format`; its stderr.
fn child_logs(format: &str) -> String {
    let output = run_child(
        "operability::log_format_child_entry",
        &[
            (LOG_FORMAT_CHILD, "1"),
            ("ACTIONKIT_LOG_FORMAT", format),
            ("RUST_LOG", "info"),
        ],
    );
    let stderr = String::from_utf8(output.stderr).expect("UTF-8 logs");
    assert!(output.status.success(), "the child failed:\n{stderr}");
    stderr
}

#[test]
fn json_logs_are_one_object_per_line() {
    let logs = child_logs("json");
    let lines: Vec<Value> = logs
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let answered = lines
        .iter()
        .find(|l| l["message"] == "call answered")
        .unwrap_or_else(|| panic!("no `call answered` line: {logs}"));
    assert_eq!(answered["request_id"], "req_json_logged", "{answered}");
    assert_eq!(answered["outcome"], "success", "{answered}");
    assert_eq!(answered["level"], "INFO", "{answered}");
}

#[test]
fn text_logs_have_no_colour_codes_off_a_terminal() {
    let logs = child_logs("text");
    assert!(logs.contains("call answered"), "{logs}");
    assert!(!logs.contains('\u{1b}'), "escape codes in a pipe: {logs:?}");
}
