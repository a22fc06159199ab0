//! epilot as the simulator plays it: an `external_integration` event signed with an Ed25519 key
//! of its own (Standard Webhooks `v1a`), answers checked against epilot's contract.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::Epilot;
use crate::platform::Platform;
use crate::signature::standard_webhooks::{
    ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSigningKey,
};
use crate::testing::{SimulatedRequest, Simulation};

/// epilot signing with an Ed25519 key generated for the simulation.
pub(super) struct EpilotSimulation {
    key: WebhookSigningKey,
}

impl EpilotSimulation {
    pub(super) fn new() -> Self {
        EpilotSimulation {
            key: WebhookSigningKey::generate_ed25519().expect("the system has randomness"),
        }
    }
}

impl Simulation for EpilotSimulation {
    /// Trusts the simulation's public key and polls for callback work every 50 ms, so tests of
    /// callbacks stay fast.
    fn platform(&self) -> Arc<dyn Platform> {
        let public = self.key.public_key().expect("an Ed25519 key");
        Arc::new(
            Epilot::new([public])
                .expect("the simulator's own key is valid")
                .callback_poll(Duration::from_millis(50)),
        )
    }

    fn execute(&self, action: &str, request_id: &str, input: &Value, now: u64) -> SimulatedRequest {
        let event = json!({
            "type": "external_integration",
            "timestamp": "2025-01-01T00:00:00.000Z",
            "data": {
                "org_id": "simulator",
                "entity": {},
                "action_config": {"custom_action_config": input},
                "execution_id": "sim_execution",
                "exection_action_id": "sim_action",
                "trigger_event": {}
            }
        });
        let body = serde_json::to_vec(&event).expect("JSON");
        SimulatedRequest {
            path: format!("/epilot/{action}"),
            headers: vec![
                (ID_HEADER, request_id.to_owned()),
                (TIMESTAMP_HEADER, now.to_string()),
                (SIGNATURE_HEADER, self.key.sign(request_id, now, &body)),
            ],
            body,
        }
    }

    fn keeps_contract(&self, status: u16, body: &Value) -> bool {
        if status == 200 {
            body.as_object()
                .is_some_and(|o| o.is_empty() || o.keys().eq(["skip_reason"]))
        } else {
            body["error_output"]["error_reason"].is_string()
        }
    }
}
