//! End to end on the epilot route: Standard Webhooks signatures (`v1a` Ed25519 and `v1` HMAC),
//! the typed event in the handler's context, redelivery dedupe, epilot's response conventions.

use actionkit::signature::standard_webhooks::WebhookSigningKey;
use serde_json::{Value, json};

use crate::harness::{Server, WEBHOOK_SECRET, epilot_signer, now, start};

fn event(config: Value) -> Value {
    json!({
        "type": "external_integration",
        "timestamp": "2025-09-17T16:57:16.468Z",
        "data": {
            "org_id": 20000331,
            "entity": {"_id": "ent_1", "_schema": "contact", "email": ["ada@example.com"]},
            "action_config": {"app_id": "app_1", "component_id": "cmp_1", "name": "Send", "description": "", "app_name": "Mailer", "custom_action_config": config},
            "app_config": {"type": "external_integration"},
            "app_options": {"api_key": "k_live_1"},
            "execution_id": "exe_1",
            "execution_status": "in_progress",
            "exection_action_id": "act_1",
            "trigger_event": "{\"type\": \"contact.created\"}",
            "some_future_field": true
        }
    })
}

fn welcome() -> Value {
    json!({"audience_id": "aud_customers", "template_id": "tpl_welcome", "template_variables": {"first_name": "Ada"}})
}

/// POSTs `body` to `/epilot/<action>` signed by `signer` as webhook `id`, at `timestamp`.
async fn deliver(
    server: &Server,
    action: &str,
    id: &str,
    body: &Value,
    signer: &WebhookSigningKey,
    timestamp: u64,
) -> (u16, Value) {
    let bytes = serde_json::to_vec(body).unwrap();
    let response = server
        .client
        .post(server.url(&format!("/epilot/{action}")))
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signer.sign(id, timestamp, &bytes))
        .header("x-epilot-token", "ey.short.lived.token")
        .body(bytes)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn a_signed_call_runs_once_and_answers_empty() {
    let server = start().await;
    let signer = epilot_signer();
    let first = deliver(
        &server,
        "send_email",
        "msg_1",
        &event(welcome()),
        &signer,
        now(),
    )
    .await;
    assert_eq!(first, (200, json!({})));
    let again = deliver(
        &server,
        "send_email",
        "msg_1",
        &event(welcome()),
        &signer,
        now(),
    )
    .await;
    assert_eq!(again, first, "a redelivery replays");
    let lines = server.outbox_lines();
    assert_eq!(lines.len(), 1, "one email for one webhook-id");
    assert_eq!(lines[0]["request_id"], "msg_1");
    server.stop().await;
}

#[tokio::test]
async fn the_handler_sees_the_typed_event_with_its_token_redacted() {
    let server = start().await;
    let (status, _) = deliver(
        &server,
        "effect",
        "msg_ctx",
        &event(json!({"label": "x"})),
        &epilot_signer(),
        now(),
    )
    .await;
    assert_eq!(status, 200);
    let seen = &server.effects.events()["msg_ctx"];
    assert!(seen.contains("org_id: \"20000331\""), "{seen}");
    assert!(
        seen.contains("execution_action_id: Some(\"act_1\")"),
        "{seen}"
    );
    assert!(
        seen.contains("trigger={\"type\":\"contact.created\"}"),
        "string trigger events are parsed: {seen}"
    );
    assert!(
        seen.contains("token_len=20"),
        "the token reaches the handler: {seen}"
    );
    assert!(
        !seen.contains("ey.short.lived.token"),
        "but never its Debug output: {seen}"
    );
    server.stop().await;
}

#[tokio::test]
async fn skip_and_failures_follow_epilot_conventions() {
    let server = start().await;
    let signer = epilot_signer();
    let skip = deliver(
        &server,
        "effect",
        "msg_skip",
        &event(json!({"label": "x", "mode": "skip"})),
        &signer,
        now(),
    )
    .await;
    assert_eq!(skip, (200, json!({"skip_reason": "nothing to do"})));

    let (status, body) = deliver(
        &server,
        "send_email",
        "msg_bad",
        &event(json!({"audience_id": "aud_customers"})),
        &signer,
        now(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error_output"]["error_info"]["details"][0]["field"],
        "/template_id"
    );
    assert_eq!(
        body["error_output"]["error_info"]["details"][0]["error_type"],
        "invalid_input"
    );
    assert!(
        body["error_output"]["error_reason"]
            .as_str()
            .unwrap()
            .contains("template_id")
    );

    let mut outage = welcome();
    outage["template_id"] = json!("tpl_status");
    let (status, body) = deliver(
        &server,
        "send_email",
        "msg_outage",
        &event(outage),
        &signer,
        now(),
    )
    .await;
    assert_eq!(
        (
            status,
            body["error_output"]["error_info"]["details"][0]["error_type"].as_str()
        ),
        (503, Some("transient"))
    );
    assert!(server.outbox_lines().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn forged_stale_and_ambiguous_signatures_are_401() {
    let server = start().await;
    let body = serde_json::to_vec(&event(welcome())).unwrap();
    let forged = WebhookSigningKey::ed25519_from_seed([1; 32]);
    let cases = [
        deliver(
            &server,
            "send_email",
            "f1",
            &event(welcome()),
            &forged,
            now(),
        )
        .await,
        deliver(
            &server,
            "send_email",
            "f2",
            &event(welcome()),
            &epilot_signer(),
            now() - 330,
        )
        .await,
        deliver(
            &server,
            "send_email",
            "f3",
            &event(welcome()),
            &epilot_signer(),
            now() + 330,
        )
        .await,
    ];
    for (status, json) in cases {
        assert_eq!(status, 401);
        assert_eq!(
            json["error_output"]["error_info"]["details"][0]["error_type"],
            "signature"
        );
    }
    let timestamp = now();
    let good = epilot_signer().sign("f4", timestamp, &body);
    let send = |headers: Vec<(&'static str, String)>| {
        let mut request = server
            .client
            .post(server.url("/epilot/send_email"))
            .body(body.clone());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let duplicate = send(vec![
        ("webhook-id", "f4".into()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", good.clone()),
        ("webhook-signature", good.clone()),
    ])
    .await
    .unwrap();
    assert_eq!(
        duplicate.status(),
        401,
        "a repeated signature header is refused"
    );
    let unknown_version = send(vec![
        ("webhook-id", "f4".into()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", good.replacen("v1a,", "v2,", 1)),
    ])
    .await
    .unwrap();
    assert_eq!(
        unknown_version.status(),
        401,
        "unknown versions are ignored, leaving nothing to verify"
    );
    let missing = send(vec![("webhook-id", "f4".into())]).await.unwrap();
    assert_eq!(missing.status(), 401);
    assert!(server.outbox_lines().is_empty(), "nothing ran");
    server.stop().await;
}

#[tokio::test]
async fn a_v1_hmac_sender_is_trusted_too() {
    let server = start().await;
    let hmac = WebhookSigningKey::hmac_secret(WEBHOOK_SECRET).unwrap();
    let (status, _) = deliver(
        &server,
        "send_email",
        "msg_v1",
        &event(welcome()),
        &hmac,
        now(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(server.outbox_lines().len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn stripe_and_epilot_ids_do_not_collide() {
    let server = start().await;
    deliver(
        &server,
        "send_email",
        "same_id",
        &event(welcome()),
        &epilot_signer(),
        now(),
    )
    .await;
    let (status, _) = server.execute("same_id", welcome()).await;
    assert_eq!(status, 200);
    assert_eq!(
        server.outbox_lines().len(),
        2,
        "idempotency keys are per platform"
    );
    server.stop().await;
}
