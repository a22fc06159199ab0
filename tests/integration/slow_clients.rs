//! Slow and abusive clients against the real server, over raw TCP: half a request head, a body
//! that never arrives, an idle keep-alive connection and more connections than the cap are all
//! closed (or let in) within the configured limits, while normal requests keep being answered.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{Server, config, start_with};

/// Reads until the server closes the connection (or resets it); everything read, and when.
/// Panics if it is still open after `limit`.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut read = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + limit).into(), stream.read(&mut buf)).await {
            Err(_) => panic!(
                "the connection is still open after {limit:?}; read {:?}",
                String::from_utf8_lossy(&read)
            ),
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => read.extend_from_slice(&buf[..n]),
        }
    }
    (
        String::from_utf8_lossy(&read).into_owned(),
        started.elapsed(),
    )
}

/// A normal signed call is answered while the slow ones hang on.
async fn still_serving(server: &Server, id: &str) {
    let input = json!({"audience_id": "aud_customers", "template_id": "tpl_welcome", "template_variables": {"first_name": "Ada"}});
    let (status, body) = server.execute(id, input).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn half_a_request_head_is_closed_after_the_header_timeout() {
    let server = start_with(config().header_timeout(Duration::from_millis(400))).await;
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"POST /stripe/send_email/execute HTTP/1.1\r\nHost: localhost\r\nContent-")
        .await
        .unwrap();
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    still_serving(&server, "req_slow_head").await;
    let (read, after) = read_until_closed(&mut slow, Duration::from_secs(3)).await;
    assert!(
        after >= Duration::from_millis(300),
        "closed too early: {after:?}"
    );
    assert!(!read.contains("200"), "{read}");
    let (_, after) = read_until_closed(&mut silent, Duration::from_secs(3)).await;
    assert!(
        after < Duration::from_secs(3),
        "a connection that sends nothing is closed too"
    );
    still_serving(&server, "req_slow_head_after").await;
    server.stop().await;
}

#[tokio::test]
async fn a_body_that_never_arrives_is_answered_408_and_closed() {
    let server = start_with(
        config()
            .body_limit(1 << 20)
            .body_timeout(Duration::from_millis(400)),
    )
    .await;
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(
        b"POST /stripe/send_email/execute HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{",
    )
    .await
    .unwrap();
    still_serving(&server, "req_slow_body").await;
    let (read, after) = read_until_closed(&mut slow, Duration::from_secs(3)).await;
    assert!(read.starts_with("HTTP/1.1 408"), "{read}");
    assert!(
        read.to_ascii_lowercase().contains("connection: close"),
        "{read}"
    );
    assert!(
        after >= Duration::from_millis(300),
        "answered too early: {after:?}"
    );
    still_serving(&server, "req_slow_body_after").await;
    server.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    // The idle limit is its own: shorter than the head limit here, and longer in the next test.
    let server = start_with(
        config()
            .header_timeout(Duration::from_secs(5))
            .idle_timeout(Duration::from_millis(400)),
    )
    .await;
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let (read, after) = read_until_closed(&mut idle, Duration::from_secs(3)).await;
    assert!(read.starts_with("HTTP/1.1 200"), "answered first: {read}");
    assert!(
        after >= Duration::from_millis(300),
        "closed too early: {after:?}"
    );
    still_serving(&server, "req_idle").await;
    server.stop().await;
}

#[tokio::test]
async fn a_kept_alive_connection_may_wait_longer_than_the_header_timeout() {
    let server = start_with(
        config()
            .header_timeout(Duration::from_millis(300))
            .idle_timeout(Duration::from_secs(5)),
    )
    .await;
    let mut kept = TcpStream::connect(server.addr).await.unwrap();
    let request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let mut buf = [0u8; 4096];
    for _ in 0..2 {
        kept.write_all(request).await.unwrap();
        let n = tokio::time::timeout(Duration::from_secs(2), kept.read(&mut buf))
            .await
            .expect("answered")
            .unwrap();
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 200"),
            "{:?}",
            String::from_utf8_lossy(&buf[..n])
        );
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_others_close() {
    let server = start_with(
        config()
            .max_connections(2)
            .header_timeout(Duration::from_millis(500)),
    )
    .await;
    let mut holders = Vec::new();
    for _ in 0..2 {
        let mut holder = TcpStream::connect(server.addr).await.unwrap();
        holder.write_all(b"GET /hea").await.unwrap();
        holders.push(holder);
    }
    // Let the server accept both before the next one arrives.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let waiting = reqwest::Client::new();
    let response = tokio::time::timeout(
        Duration::from_secs(5),
        waiting.get(server.url("/healthz")).send(),
    )
    .await
    .expect("answered once the holders are closed")
    .expect("a response");
    assert_eq!(response.status(), 200);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250),
        "the third connection waited for a free slot: {waited:?}"
    );
    for mut holder in holders {
        read_until_closed(&mut holder, Duration::from_secs(2)).await;
    }
    still_serving(&server, "req_cap").await;
    server.stop().await;
}
