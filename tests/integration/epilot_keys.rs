//! epilot's signing key discovered from a key URL (a fake of epilot's well-known endpoint on
//! loopback): fetched in the background, `503` before any key is known, fetched again when a
//! signature matches no cached key (rotation), and a server that keeps serving through an
//! outage or a malformed answer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actionkit::platform::epilot::{Epilot, KeyRefresh};
use actionkit::signature::standard_webhooks::WebhookSigningKey;
use axum::extract::State;
use axum::http::{StatusCode, header};
use serde_json::{Value, json};

use crate::harness::{Server, config, now, start_with};

/// A stand-in for `https://cdn.app.sls.epilot.io/v1/.well-known/public-key`: answers whatever
/// status and body it is set to, counting requests.
#[derive(Clone)]
struct KeyEndpoint {
    answer: Arc<Mutex<(u16, String)>>,
    hits: Arc<AtomicUsize>,
}

impl KeyEndpoint {
    async fn start(status: u16, body: String) -> (Self, String) {
        let endpoint = KeyEndpoint {
            answer: Arc::new(Mutex::new((status, body))),
            hits: Arc::default(),
        };
        async fn key(
            State(endpoint): State<KeyEndpoint>,
        ) -> (StatusCode, [(header::HeaderName, &'static str); 1], String) {
            endpoint.hits.fetch_add(1, Ordering::SeqCst);
            let (status, body) = endpoint.answer.lock().unwrap().clone();
            (
                StatusCode::from_u16(status).unwrap(),
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
        }
        let app = axum::Router::new()
            .route("/v1/.well-known/public-key", axum::routing::get(key))
            .with_state(endpoint.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (endpoint, format!("http://{addr}/v1/.well-known/public-key"))
    }

    fn answer(&self, status: u16, body: String) {
        *self.answer.lock().unwrap() = (status, body);
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// The JSON epilot serves: the signer's public key as a PEM SPKI block. An Ed25519 SPKI is a
/// fixed 12-byte header (`MCowBQYDK2VwAyEA` in base64, a whole number of base64 groups) and the
/// 32-byte key, so the PEM body is that header followed by the `whpk_` base64.
fn key_json(signer: &WebhookSigningKey) -> String {
    let public = signer.public_key().expect("ed25519");
    let raw = public.strip_prefix("whpk_").expect("whpk_");
    json!({
        "public_key": format!("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA{raw}\n-----END PUBLIC KEY-----\n"),
        "algorithm": "ed25519",
        "issuer": "epilot",
    })
    .to_string()
}

fn signer(seed: u8) -> WebhookSigningKey {
    WebhookSigningKey::ed25519_from_seed([seed; 32])
}

/// A server whose epilot key is discovered at `url`, asking at most every `min_interval`.
async fn serve(url: &str, min_interval: Duration) -> Server {
    let epilot = Epilot::discover(url)
        .expect("a loopback URL")
        .key_refresh(KeyRefresh {
            every: Duration::from_secs(3600),
            min_interval,
            timeout: Duration::from_secs(2),
        });
    start_with(config().platform(epilot)).await
}

fn event() -> Value {
    json!({
        "type": "external_integration",
        "data": {
            "org_id": "20000331",
            "action_config": {"custom_action_config": {
                "audience_id": "aud_customers", "template_id": "tpl_welcome", "template_variables": {"first_name": "Ada"}
            }}
        }
    })
}

async fn deliver(server: &Server, id: &str, signer: &WebhookSigningKey) -> (u16, Value) {
    let bytes = serde_json::to_vec(&event()).unwrap();
    let timestamp = now();
    let response = server
        .client
        .post(server.url("/epilot/send_email"))
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signer.sign(id, timestamp, &bytes))
        .body(bytes)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Delivers until the answer is not `503`; gives back every status seen.
async fn deliver_until_not_503(server: &Server, id: &str, signer: &WebhookSigningKey) -> Vec<u16> {
    let mut seen = Vec::new();
    for _ in 0..200 {
        let (status, _) = deliver(server, id, signer).await;
        seen.push(status);
        if status != 503 {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("still 503 after {} deliveries", seen.len());
}

fn explanation(body: &Value) -> &str {
    body["error_output"]["error_info"]["details"][0]["explanation"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discovered_key_verifies_and_a_rotated_key_is_fetched_on_the_first_mismatch() {
    let (old, new) = (signer(1), signer(2));
    let (endpoint, url) = KeyEndpoint::start(200, key_json(&old)).await;
    let server = serve(&url, Duration::from_secs(1)).await;

    let seen = deliver_until_not_503(&server, "msg_old", &old).await;
    assert_eq!(
        seen.last(),
        Some(&200),
        "the fetched key verifies: {seen:?}"
    );
    assert_eq!(endpoint.hits(), 1, "fetched once at start-up");
    assert_eq!(server.outbox_lines().len(), 1);

    // epilot rotates its key; the server has not asked for one within `min_interval`
    tokio::time::sleep(Duration::from_millis(1100)).await;
    endpoint.answer(200, key_json(&new));
    let (status, body) = deliver(&server, "msg_new", &new).await;
    assert_eq!(
        status, 503,
        "a signature no cached key matches is retryable while the key is fetched again: {body}"
    );
    let seen = deliver_until_not_503(&server, "msg_new", &new).await;
    assert_eq!(
        seen.last(),
        Some(&200),
        "the rotated key verifies: {seen:?}"
    );
    assert_eq!(endpoint.hits(), 2, "one fetch for the mismatch");
    assert_eq!(server.outbox_lines().len(), 2);

    // a signature from the retired key, just after a fetch: refused, and no fetch is asked for
    let (status, body) = deliver(&server, "msg_stale", &old).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(endpoint.hits(), 2, "rate-limited");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_get_503_until_the_key_url_answers_and_the_server_keeps_serving() {
    let signer = signer(3);
    let (endpoint, url) = KeyEndpoint::start(503, "upstream down".into()).await;
    let server = serve(&url, Duration::from_millis(100)).await;

    for id in ["msg_early_1", "msg_early_2"] {
        let (status, body) = deliver(&server, id, &signer).await;
        assert_eq!(status, 503, "retryable, not 401: {body}");
        assert!(
            explanation(&body).contains("not known yet"),
            "the answer says why: {body}"
        );
    }
    let health = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "the server serves through the outage");
    let (status, _) = server
        .execute("req_during_outage", json!({"audience_id": "aud_customers", "template_id": "tpl_welcome", "template_variables": {"first_name": "Ada"}}))
        .await;
    assert_eq!(status, 200, "Stripe is not affected");

    let before = endpoint.hits();
    assert!(before >= 1, "the worker tried");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(endpoint.hits() > before, "and keeps trying with a backoff");

    endpoint.answer(200, key_json(&signer));
    let seen = deliver_until_not_503(&server, "msg_early_1", &signer).await;
    assert_eq!(seen.last(), Some(&200), "{seen:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_starts_and_stops_with_the_key_url_unreachable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/v1/.well-known/public-key",
        closed.local_addr().unwrap()
    );
    drop(closed);
    let server = serve(&url, Duration::from_millis(100)).await;
    let (status, _) = deliver(&server, "msg_offline", &signer(4)).await;
    assert_eq!(status, 503);
    let stopping = tokio::time::timeout(Duration::from_secs(5), server.stop());
    stopping
        .await
        .expect("the key fetcher stops with the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_key_answer_is_not_trusted() {
    let signer = signer(5);
    for body in [
        "<html>not json</html>".to_owned(),
        json!({"key": "-----BEGIN PUBLIC KEY-----"}).to_string(),
        json!({"public_key": "not a key"}).to_string(),
        json!({"public_key": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}).to_string(),
    ] {
        let (endpoint, url) = KeyEndpoint::start(200, body.clone()).await;
        let server = serve(&url, Duration::from_millis(100)).await;
        for _ in 0..50 {
            if endpoint.hits() > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(endpoint.hits() > 0, "fetched");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (status, answer) = deliver(&server, "msg_malformed", &signer).await;
        assert_eq!(status, 503, "{body}: {answer}");
        server.stop().await;
    }
}
