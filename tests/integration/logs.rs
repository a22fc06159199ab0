//! What the server logs: outcomes with request id, action and latency, and never a secret, a
//! signature or a bearer token.

use std::io::Write;

use serde_json::json;

use crate::harness::{SECRET, epilot_signer, now, start};
use crate::support::{in_logging_child, run_child};

/// Set by `logs_name_the_request_but_never_a_secret` to run the child half of that test.
const LOGS_CHILD: &str = "ACTIONKIT_LOGS_CHILD";

/// The child half of `logs_name_the_request_but_never_a_secret`: in a process of its own, so its
/// global log subscriber sees every event (tracing caches callsite interest per process, which
/// makes a thread-local subscriber unreliable beside other tests). Without the variable it does
/// nothing; the parent test is the one that asserts.
#[test]
fn logs_child_entry() {
    in_logging_child(LOGS_CHILD, || async {
        let server = start().await;
        let input = json!({"audience_id": "aud_customers", "template_id": "tpl_welcome", "template_variables": {"first_name": "Ada"}});
        // Stripe's execution context names the account; `livemode` at the top level is a key
        // the envelope does not know.
        let execute = json!({"id": "req_logged", "custom_input": input, "livemode": false, "context": {"stripe_context": "acct_logged", "livemode": false}});
        let (status, _) = server.signed("/stripe/send_email/execute", &execute).await;
        assert_eq!(status, 200);
        let body = serde_json::to_vec(&json!({"type": "external_integration", "data": {"org_id": "1", "action_config": {"custom_action_config": input}}})).unwrap();
        let timestamp = now();
        let signature = epilot_signer().sign("msg_logged", timestamp, &body);
        let response = server
            .client
            .post(server.url("/epilot/send_email"))
            .header("webhook-id", "msg_logged")
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", &signature)
            .header("x-epilot-token", "ey.super.secret.token")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let (status, _) = server
            .signed(
                "/stripe/send_email/execute",
                &json!({"id": "req_bad", "custom_input": {"audience_id": 1}}),
            )
            .await;
        assert_eq!(status, 400);
        server.stop().await;
        writeln!(
            std::io::stdout().lock(),
            "signature-under-test: {signature}"
        )
        .unwrap();
    });
}

#[test]
fn logs_name_the_request_but_never_a_secret() {
    let output = run_child("logs::logs_child_entry", &[(LOGS_CHILD, "1")]);
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 logs");
    assert!(
        output.status.success(),
        "the child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let signature = stdout
        .lines()
        .find_map(|l| l.strip_prefix("signature-under-test: "))
        .expect("the child ran")
        .to_owned();
    let logs: Vec<&str> = stdout
        .lines()
        .filter(|l| !l.starts_with("signature-under-test: "))
        .collect();
    let logs = logs.join("\n");
    assert!(
        logs.contains("request_id=req_logged") && logs.contains("outcome=\"success\""),
        "{logs}"
    );
    assert!(logs.contains("request_id=msg_logged"), "{logs}");
    assert!(
        logs.contains(r#"caller="acct_logged (test mode)""#),
        "the account and mode the call ran for: {logs}"
    );
    let unknown: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("key=\"livemode\""))
        .collect();
    assert_eq!(
        unknown.len(),
        1,
        "an unknown top-level key is logged once, by name: {logs}"
    );
    assert!(
        logs.contains("latency_ms=") && logs.contains("outcome=\"invalid_input\""),
        "{logs}"
    );
    for secret in [SECRET, "ey.super.secret.token", signature.as_str(), "v1="] {
        assert!(!logs.contains(secret), "the logs leak `{secret}`:\n{logs}");
    }
}
