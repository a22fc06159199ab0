//! Stripe as the simulator plays it: `Stripe-Signature` with a secret of its own, execute and
//! form-state requests in Stripe's envelope, answers checked against Stripe's contract.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::Stripe;
use crate::platform::Platform;
use crate::signature::stripe::{HEADER, generate_secret, sign};
use crate::testing::{SimulatedRequest, Simulation};

/// Stripe signing with a secret generated for the simulation.
pub(super) struct StripeSimulation {
    secret: String,
}

impl StripeSimulation {
    pub(super) fn new() -> Self {
        StripeSimulation {
            secret: generate_secret().expect("the system has randomness"),
        }
    }

    fn signed(&self, path: String, body: &Value, now: u64) -> SimulatedRequest {
        let body = serde_json::to_vec(body).expect("JSON");
        SimulatedRequest {
            path,
            headers: vec![(HEADER, sign(&self.secret, now, &body))],
            body,
        }
    }
}

impl Simulation for StripeSimulation {
    fn platform(&self) -> Arc<dyn Platform> {
        Arc::new(Stripe::new([self.secret.clone()]).expect("the simulator's own secret is valid"))
    }

    fn execute(&self, action: &str, request_id: &str, input: &Value, now: u64) -> SimulatedRequest {
        self.signed(
            format!("/stripe/{action}/execute"),
            &json!({"id": request_id, "custom_input": input}),
            now,
        )
    }

    fn keeps_contract(&self, status: u16, body: &Value) -> bool {
        if status == 200 {
            body.get("output").is_some()
        } else {
            body["error"]["type"].is_string() && body["error"]["message"].is_string()
        }
    }

    fn form_state(
        &self,
        action: &str,
        values: &Map<String, Value>,
        changed: Option<&str>,
        now: u64,
    ) -> Option<SimulatedRequest> {
        Some(self.signed(
            format!("/stripe/{action}/get_form_state"),
            &json!({"values": values, "changed_field": changed}),
            now,
        ))
    }
}
