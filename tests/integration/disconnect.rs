//! A caller that hangs up while the handler runs (the platform gave up, a proxy timed out, the
//! network dropped) must not cause a second side effect: the handler runs to completion, its
//! outcome is recorded, and the platform's retry replays it as soon as the handler is done.

use std::time::{Duration, Instant};

use actionkit::signature::stripe;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::harness::{SECRET, Server, epilot_signer, now, start};

/// Sends a complete request on a raw connection, then closes it after `after`, before the
/// answer: what a caller that gives up does.
async fn send_and_hang_up(
    server: &Server,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
    after: Duration,
) {
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        server.addr,
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    tokio::time::sleep(after).await;
    drop(stream);
}

/// Retries `retry` until it answers something other than `503 in_progress`, as a platform
/// does; returns the final answer and how long it took.
async fn retry_until_done<F, Fut>(retry: F) -> ((u16, Value), Duration)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = (u16, Value)>,
{
    let started = Instant::now();
    loop {
        let answer = retry().await;
        if answer.0 != 503 || started.elapsed() > Duration::from_secs(15) {
            return (answer, started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_hang_up_mid_handler_then_retry_runs_once() {
    let server = start().await;
    let path = "/stripe/effect/execute";
    let body = json!({"id": "hangup_stripe", "custom_input": {"label": "x", "sleep_ms": 300}});
    let bytes = serde_json::to_vec(&body).unwrap();
    let signature = stripe::sign(SECRET, now(), &bytes);
    send_and_hang_up(
        &server,
        path,
        &[("stripe-signature".to_owned(), signature)],
        &bytes,
        Duration::from_millis(100),
    )
    .await;

    let ((status, answer), waited) = retry_until_done(|| server.signed(path, &body)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"output": {"label": "x"}}));
    assert!(
        waited < Duration::from_secs(2),
        "the retry got the recorded answer as soon as the handler was done, not after the lease ({waited:?})"
    );
    assert_eq!(
        server.effects.attempts("hangup_stripe"),
        1,
        "the handler ran once"
    );
    assert_eq!(
        server.effects.done().get("hangup_stripe"),
        Some(&1),
        "one side effect"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epilot_hang_up_mid_handler_then_redelivery_runs_once() {
    let server = start().await;
    let signer = epilot_signer();
    let id = "msg_hangup_epilot";
    let body = json!({
        "type": "external_integration",
        "data": {"org_id": 1, "entity": {}, "action_config": {"custom_action_config": {"label": "x", "sleep_ms": 300}}}
    });
    let bytes = serde_json::to_vec(&body).unwrap();
    let headers = |timestamp: u64| {
        vec![
            ("webhook-id".to_owned(), id.to_owned()),
            ("webhook-timestamp".to_owned(), timestamp.to_string()),
            (
                "webhook-signature".to_owned(),
                signer.sign(id, timestamp, &bytes),
            ),
        ]
    };
    send_and_hang_up(
        &server,
        "/epilot/effect",
        &headers(now()),
        &bytes,
        Duration::from_millis(100),
    )
    .await;

    let redeliver = || async {
        let mut request = server
            .client
            .post(server.url("/epilot/effect"))
            .body(bytes.clone());
        for (name, value) in headers(now()) {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    };
    let ((status, answer), waited) = retry_until_done(redeliver).await;
    assert_eq!((status, answer), (200, json!({})));
    assert!(
        waited < Duration::from_secs(2),
        "replayed once the handler was done ({waited:?})"
    );
    assert_eq!(server.effects.attempts(id), 1, "the handler ran once");
    assert_eq!(server.effects.done().get(id), Some(&1), "one side effect");
    server.stop().await;
}
