//! What the server logs: outcomes with request id, action and latency, and never a secret, a
//! signature or a bearer token.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::harness::{SECRET, epilot_signer, now, start};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn logs_name_the_request_but_never_a_secret() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // One thread, so every task logs through the subscriber set above.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = start().await;
        let input = json!({"audience_id": "aud_customers", "template_id": "tpl_welcome", "template_variables": {"first_name": "Ada"}});
        let (status, _) = server.execute("req_logged", input.clone()).await;
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
        let (status, _) = server.signed("/stripe/send_email/execute", &json!({"id": "req_bad", "custom_input": {"audience_id": 1}})).await;
        assert_eq!(status, 400);
        server.stop().await;
        let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(logs.contains("request_id=req_logged") && logs.contains("outcome=\"success\""), "{logs}");
        assert!(logs.contains("request_id=msg_logged"), "{logs}");
        assert!(logs.contains("latency_ms="), "{logs}");
        for secret in [SECRET, "ey.super.secret.token", signature.as_str(), "t="] {
            assert!(!logs.contains(secret), "the logs leak `{secret}`:\n{logs}");
        }
    });
}
