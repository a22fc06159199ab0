//! Stripe's envelopes are tolerant (the remote-function body is not published): unknown
//! top-level keys are accepted and ignored, `get_form_state` takes a `context`, known camelCase
//! slips get a helpful 400; handlers read the execution context typed.

use std::sync::Arc;

use actionkit::platform::stripe::{Stripe, StripeContext};
use actionkit::prelude::*;
use actionkit::server::ServerConfig;
use actionkit::signature::stripe;
use actionkit::store::MemoryStore;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::harness::{SECRET, now, start};

fn welcome() -> Value {
    json!({"audience_id": "aud_customers", "template_id": "tpl_welcome", "template_variables": {"first_name": "Ada"}})
}

#[tokio::test]
async fn unknown_top_level_keys_are_accepted_and_ignored() {
    let server = start().await;
    let execute = json!({
        "id": "req_tolerant", "custom_input": welcome(), "livemode": false, "object": "remote_function_call",
        "account": "acct_1", "context": {"stripe_context": "acct_1"},
    });
    let (status, body) = server.signed("/stripe/send_email/execute", &execute).await;
    assert_eq!(status, 200, "{body}");
    let again = server.signed("/stripe/send_email/execute", &execute).await;
    assert_eq!(again, (status, body), "replayed like any other call");
    assert_eq!(server.outbox_lines().len(), 1);

    let form = json!({"values": {}, "changed_field": null, "context": {"stripe_context": "acct_1", "livemode": false}, "livemode": false});
    let (status, body) = server
        .signed("/stripe/send_email/get_form_state", &form)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["config"]["segment_id"]["disabled"], true);

    // The input itself stays strict.
    let mut input = welcome();
    input["unexpected"] = json!(1);
    let (status, body) = server
        .signed(
            "/stripe/send_email/execute",
            &json!({"id": "req_strict", "custom_input": input, "livemode": true}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "/unexpected");
    server.stop().await;
}

#[tokio::test]
async fn camel_case_slips_get_a_helpful_400() {
    let server = start().await;
    for (path, body, right) in [
        (
            "/stripe/send_email/execute",
            json!({"id": "req_camel", "customInput": welcome()}),
            "custom_input",
        ),
        (
            "/stripe/send_email/get_form_state",
            json!({"values": {}, "changedField": null}),
            "changed_field",
        ),
    ] {
        let (status, answer) = server.signed(path, &body).await;
        assert_eq!(status, 400, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("snake_case") && message.contains(&format!("`{right}`")),
            "{message}"
        );
    }
    assert!(server.outbox_lines().is_empty());
    server.stop().await;
}

/// Answers with the execution context it was given.
#[derive(Action, Serialize, Deserialize, Debug)]
#[action(id = "who_am_i", execute = who_am_i)]
struct WhoAmI {}

async fn who_am_i(ctx: Context, _: WhoAmI) -> Result<Value, ActionError> {
    let context = ctx
        .extension::<StripeContext>()
        .cloned()
        .unwrap_or_default();
    Ok(json!({
        "account": context.account(),
        "livemode": context.livemode(),
        "kind": context.kind(),
        "invocation_id": context.invocation_id(),
        "clock_time": context.clock_time(),
        "extra": context.to_value()["extra"],
    }))
}

#[tokio::test]
async fn handlers_read_the_typed_execution_context() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = ServerConfig::new()
        .platform(Stripe::new([SECRET]).unwrap())
        .store(Arc::new(MemoryStore::new()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(async move {
        App::new(())
            .action::<WhoAmI>()
            .serve_on(listener, &config, async move {
                let _ = stopped.await;
            })
            .await
    });
    let client = reqwest::Client::new();
    let call = |id: &str, context: Value| {
        let body =
            serde_json::to_vec(&json!({"id": id, "custom_input": {}, "context": context})).unwrap();
        let request = client
            .post(format!("http://{addr}/stripe/who_am_i/execute"))
            .header("content-type", "application/json")
            .header("Stripe-Signature", stripe::sign(SECRET, now(), &body))
            .body(body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = call(
        "req_ctx",
        json!({"type": "remote_function", "id": "inv_1", "livemode": false, "stripe_context": "acct_9", "clock_time": "2026-11-30T12:00:00Z", "extra": "kept"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["output"],
        json!({"account": "acct_9", "livemode": false, "kind": "remote_function", "invocation_id": "inv_1", "clock_time": "2026-11-30T12:00:00Z", "extra": "kept"})
    );
    // The SDK's camelCase spelling, mistyped fields, a context that is not an object, none.
    let (status, body) = call(
        "req_camel",
        json!({"stripeContext": "acct_7", "livemode": "no", "id": true}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["output"]["account"], "acct_7");
    assert_eq!(body["output"]["livemode"], Value::Null);
    assert_eq!(body["output"]["invocation_id"], Value::Null);
    for (id, context) in [("req_list", json!(["acct_1"])), ("req_null", Value::Null)] {
        let (status, body) = call(id, context).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["output"]["account"], Value::Null);
    }
    stop.send(()).unwrap();
    served.await.unwrap().unwrap();
}
