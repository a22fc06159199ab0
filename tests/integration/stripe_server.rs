//! End to end: the real server on 127.0.0.1, real signed HTTP requests, every row of the status
//! table, replays, graceful shutdown, nesting, and the export files.

use std::time::Duration;

use actionkit::server::ServerConfig;
use actionkit::signature::stripe;
use serde_json::{Value, json};

use crate::harness::{SECRET, app, config, now, start, start_with};
use crate::support::temp_path;

fn welcome(first_name: &str) -> Value {
    json!({"audience_id": "aud_customers", "template_id": "tpl_welcome", "template_variables": {"first_name": first_name}, "message": "Hi"})
}

#[tokio::test]
async fn the_form_cascade_over_http() {
    let server = start().await;
    let (status, body) = server
        .signed(
            "/stripe/send_email/get_form_state",
            &json!({"values": {}, "changed_field": null}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["config"]["segment_id"]["disabled"], true);
    assert_eq!(
        body["config"]["audience_id"]["options"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let change = json!({"values": {"audience_id": "aud_partners", "segment_id": "seg_active"}, "changed_field": "audience_id"});
    let (status, body) = server
        .signed("/stripe/send_email/get_form_state", &change)
        .await;
    assert_eq!(status, 200, "a failing look-up does not fail the request");
    assert_eq!(body["values"]["segment_id"], Value::Null);
    assert_eq!(
        body["config"]["segment_id"]["error"],
        "the segments of Partners cannot be loaded right now"
    );
    server.stop().await;
}

#[tokio::test]
async fn execute_then_replay_sends_once() {
    let server = start().await;
    let first = server.execute("req_replay", welcome("Ada")).await;
    assert_eq!(
        first,
        (
            200,
            json!({"output": {"delivered": 1, "template_id": "tpl_welcome"}})
        )
    );
    let again = server.execute("req_replay", welcome("Ada")).await;
    assert_eq!(again, first, "a retry replays the recorded status and body");
    let lines = server.outbox_lines();
    assert_eq!(lines.len(), 1, "one email for one request id");
    assert_eq!(lines[0]["request_id"], "req_replay");
    assert_eq!(lines[0]["variables"]["first_name"], "Ada");
    server.stop().await;
}

#[tokio::test]
async fn signature_failures_are_401() {
    let server = start().await;
    let body = serde_json::to_vec(&json!({"id": "sig", "custom_input": welcome("A")})).unwrap();
    let path = "/stripe/send_email/execute";
    let cases = [
        (None, "missing `Stripe-Signature` header"),
        (Some("garbage".to_owned()), ""),
        (Some(stripe::sign("whsec_wrong", now(), &body)), ""),
        (Some(stripe::sign(SECRET, now() - 330, &body)), ""),
        (Some(stripe::sign(SECRET, now() + 330, &body)), ""),
    ];
    for (signature, message) in cases {
        let (status, json, _) = server.send(path, &body, signature.clone()).await;
        assert_eq!(
            (status, json["error"]["type"].as_str()),
            (401, Some("signature")),
            "{signature:?}"
        );
        assert!(json["error"]["message"].as_str().unwrap().contains(message));
        assert!(!json.to_string().contains(SECRET));
    }
    let tampered = stripe::sign(SECRET, now(), &body);
    let mut other = body.clone();
    other[10] ^= 1;
    let (status, _, _) = server.send(path, &other, Some(tampered)).await;
    assert_eq!(status, 401, "a changed body fails verification");
    assert!(server.outbox_lines().is_empty(), "nothing ran");
    server.stop().await;
}

#[tokio::test]
async fn invalid_bodies_are_400_with_the_field() {
    let server = start().await;
    let path = "/stripe/send_email/execute";
    let raw = |bytes: &[u8]| {
        let bytes = bytes.to_vec();
        let signature = stripe::sign(SECRET, now(), &bytes);
        (bytes, signature)
    };
    let (bytes, signature) = raw(b"not json");
    let (status, json, _) = server.send(path, &bytes, Some(signature)).await;
    assert_eq!(
        (status, json["error"]["type"].as_str()),
        (400, Some("invalid_input"))
    );
    let cases = [
        (
            json!({"id": "b1", "customInput": welcome("A")}),
            None,
            "snake_case",
        ),
        (json!({"custom_input": welcome("A")}), None, "missing `id`"),
        (
            json!({"id": "b2", "custom_input": [1]}),
            None,
            "must be an object",
        ),
        (
            json!({"id": "b3", "custom_input": {"audience_id": "a"}}),
            Some("/template_id"),
            "missing required field `template_id`",
        ),
        (
            json!({"id": "b4", "custom_input": {"audience_id": 1, "template_id": "t"}}),
            Some("/audience_id"),
            "expected a string",
        ),
        (
            json!({"id": "b5", "custom_input": {"audience_id": "a", "template_id": "t", "cc": "x"}}),
            Some("/cc"),
            "unknown field `cc`",
        ),
    ];
    for (body, field, message) in cases {
        let (status, json) = server.signed(path, &body).await;
        assert_eq!(
            (status, json["error"]["type"].as_str()),
            (400, Some("invalid_input")),
            "{body}"
        );
        assert_eq!(json["error"]["field"].as_str(), field, "{body}");
        assert!(
            json["error"]["message"].as_str().unwrap().contains(message),
            "{json}"
        );
    }
    assert!(server.outbox_lines().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn handler_failures_map_to_their_classes() {
    let server = start().await;
    let mut unknown_template = welcome("A");
    unknown_template["template_id"] = json!("tpl_nope");
    let (status, json) = server.execute("perm", unknown_template).await;
    assert_eq!(
        (
            status,
            json["error"]["type"].as_str(),
            json["error"]["field"].as_str()
        ),
        (422, Some("permanent"), Some("/template_id"))
    );

    let mut missing_var = welcome("A");
    missing_var["template_variables"] = json!({});
    let (status, json) = server.execute("perm2", missing_var).await;
    assert_eq!(
        (status, json["error"]["field"].as_str()),
        (422, Some("/template_variables/first_name"))
    );

    let mut outage = welcome("A");
    outage["template_id"] = json!("tpl_status");
    let body = serde_json::to_vec(&json!({"id": "trans", "custom_input": outage})).unwrap();
    let (status, json, headers) = server
        .send(
            "/stripe/send_email/execute",
            &body,
            Some(stripe::sign(SECRET, now(), &body)),
        )
        .await;
    assert_eq!(
        (status, json["error"]["type"].as_str()),
        (503, Some("transient"))
    );
    assert_eq!(headers["retry-after"], "30");
    assert!(server.outbox_lines().is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_failures_keep_the_server_up() {
    let server = start().await;
    let effect = |id: &str, input: Value| json!({"id": id, "custom_input": input});
    let path = "/stripe/effect/execute";
    let (status, json) = server
        .signed(
            path,
            &effect("boom", json!({"label": "x", "mode": "panic"})),
        )
        .await;
    assert_eq!(
        (status, json["error"]["type"].as_str()),
        (500, Some("internal"))
    );
    let (status, json) = server
        .signed(
            path,
            &effect(
                "slow",
                json!({"label": "x", "mode": "slow", "sleep_ms": 2000}),
            ),
        )
        .await;
    assert_eq!(
        (status, json["error"]["type"].as_str()),
        (504, Some("timeout"))
    );

    let slow = effect("dup", json!({"label": "x", "sleep_ms": 300}));
    let (first, second) = tokio::join!(server.signed(path, &slow), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let bytes = serde_json::to_vec(&slow).unwrap();
        server
            .send(path, &bytes, Some(stripe::sign(SECRET, now(), &bytes)))
            .await
    });
    assert_eq!(first.0, 200);
    assert_eq!(
        (second.0, second.1["error"]["type"].as_str()),
        (503, Some("in_progress"))
    );
    assert!(second.2.contains_key("retry-after"));

    let (status, json) = server
        .signed(path, &effect("dup", json!({"label": "other"})))
        .await;
    assert_eq!(
        (status, json["error"]["type"].as_str()),
        (409, Some("idempotency_conflict"))
    );

    let (status, _) = server
        .signed(path, &effect("after", json!({"label": "ok"})))
        .await;
    assert_eq!(status, 200, "the server kept serving");
    server.stop().await;
}

#[tokio::test]
async fn routes_sizes_and_health() {
    let server = start().await;
    let (status, json) = server
        .signed(
            "/stripe/no_such_action/execute",
            &json!({"id": "x", "custom_input": {}}),
        )
        .await;
    assert_eq!(
        (status, json["error"]["type"].as_str()),
        (404, Some("not_found"))
    );
    let (status, json) = server.signed("/elsewhere", &json!({})).await;
    assert_eq!(
        (status, json["error"]["type"].as_str()),
        (404, Some("not_found"))
    );
    let big = json!({"id": "big", "custom_input": {"message": "x".repeat(70 * 1024)}});
    let (status, json) = server.signed("/stripe/send_email/execute", &big).await;
    assert_eq!(
        (status, json["error"]["type"].as_str()),
        (413, Some("too_large"))
    );
    let health = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(
        health.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );
    let wrong_method = server
        .client
        .get(server.url("/stripe/send_email/execute"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    server.stop().await;
}

#[tokio::test]
async fn no_secret_means_every_request_is_refused() {
    let server = start_with(ServerConfig::new()).await;
    let (status, json) = server
        .signed(
            "/stripe/send_email/execute",
            &json!({"id": "x", "custom_input": welcome("A")}),
        )
        .await;
    assert_eq!(
        (status, json["error"]["type"].as_str()),
        (401, Some("signature"))
    );
    assert!(server.outbox_lines().is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_requests() {
    let mut server = start().await;
    let body = json!({"id": "inflight", "custom_input": {"label": "x", "sleep_ms": 300}});
    let bytes = serde_json::to_vec(&body).unwrap();
    let request = server
        .client
        .post(server.url("/stripe/effect/execute"))
        .header("Stripe-Signature", stripe::sign(SECRET, now(), &bytes))
        .body(bytes)
        .send();
    let in_flight = tokio::spawn(request);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = server.stop.take().unwrap().send(());
    let response = in_flight
        .await
        .unwrap()
        .expect("answered despite the shutdown");
    assert_eq!(response.status(), 200);
    (&mut server.done).await.unwrap().unwrap();
    assert!(
        reqwest::get(server.url("/healthz")).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn the_router_nests_into_an_existing_app() {
    let outbox = temp_path("outbox.jsonl");
    let (actions, background) = app(&outbox).into_router(&config());
    assert!(
        !background.is_empty(),
        "epilot's callback worker is handed over"
    );
    let user_app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "home" }))
        .nest("/actions", actions);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, user_app).await });
    let body =
        serde_json::to_vec(&json!({"id": "nested", "custom_input": welcome("Ada")})).unwrap();
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/actions/stripe/send_email/execute"))
        .header("Stripe-Signature", stripe::sign(SECRET, now(), &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        reqwest::get(format!("http://{addr}/"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "home"
    );
}
