//! Stripe as the simulator plays it: `Stripe-Signature` with a secret of its own, execute and
//! form-state requests in Stripe's envelope (execute with a `context` naming an account),
//! answers checked against Stripe's contract, and optionally a fake Secret Store on loopback
//! ([`FakeSecretStore`]).

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::Stripe;
#[cfg(feature = "stripe-secrets")]
pub use super::fake_secrets::FakeSecretStore;
use crate::platform::Platform;
use crate::signature::stripe::{HEADER, generate_secret, sign};
use crate::testing::{SimulatedRequest, Simulation};

/// The account simulated execute calls run for unless told another
/// ([`Executing::caller`](crate::testing::Executing::caller)).
pub const SIMULATED_ACCOUNT: &str = "acct_simulated";

/// Stripe as the [`Simulator`](crate::testing::Simulator) plays it, signing with a secret
/// generated for the simulation; execute calls carry a `context` naming an account
/// ([`SIMULATED_ACCOUNT`] unless the execute names another). The simulator plays it by default;
/// build one to give it a fake Secret Store, and hand it over with
/// [`Simulator::simulation`](crate::testing::Simulator::simulation).
///
/// ```
/// use actionkit::prelude::*;
/// use actionkit::platform::stripe::{FakeSecretStore, StripeSecrets, StripeSimulation};
/// use actionkit::testing::Simulator;
/// # #[derive(Action, serde::Serialize, serde::Deserialize)]
/// # #[action(id = "ping", execute = ping)]
/// # struct Ping {}
/// async fn ping(secrets: StripeSecrets, _: Ping) -> Result<usize, ActionError> {
///     Ok(secrets.get("api_key").await?.expose().len())
/// }
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = FakeSecretStore::new()
///     .secret("acct_1", "api_key", "twelve chars")
///     .failing("acct_2", "api_key", 500);
/// let sim = Simulator::new(App::new(()).action::<Ping>())
///     .simulation(StripeSimulation::new().secret_store(store.clone()));
/// let run = sim.execute(Ping {}).caller("acct_1").await;
/// assert_eq!((run.first().status, &run.first().body["output"]), (200, &serde_json::json!(12)));
/// let run = sim.execute(Ping {}).caller("acct_2").await;
/// assert_eq!(run.first().status, 503, "a failing store is a transient failure");
/// let run = sim.execute(Ping {}).caller("acct_3").await;
/// assert_eq!(run.first().status, 422, "a missing secret is a permanent failure");
/// assert_eq!(store.calls(), 3);
/// # });
/// ```
pub struct StripeSimulation {
    secret: String,
    account: String,
    #[cfg(feature = "stripe-secrets")]
    store: Option<FakeSecretStore>,
}

impl Default for StripeSimulation {
    fn default() -> Self {
        Self::new()
    }
}

impl StripeSimulation {
    /// Stripe signing with a fresh secret, with no Secret Store (handlers see
    /// [`StripeSecrets::is_configured`](super::StripeSecrets::is_configured) `false`).
    ///
    /// # Panics
    /// When the system has no randomness for the secret.
    pub fn new() -> Self {
        StripeSimulation {
            secret: generate_secret().expect("the system has randomness"),
            account: SIMULATED_ACCOUNT.to_owned(),
            #[cfg(feature = "stripe-secrets")]
            store: None,
        }
    }

    /// Serves `store` as Stripe's Secret Store: the simulated server reads secrets from it with
    /// the API key it expects.
    #[must_use]
    #[cfg(feature = "stripe-secrets")]
    pub fn secret_store(mut self, store: FakeSecretStore) -> Self {
        self.store = Some(store);
        self
    }

    /// The account execute calls run for when the execute names none (default
    /// [`SIMULATED_ACCOUNT`]).
    #[must_use]
    pub fn account(mut self, account: impl Into<String>) -> Self {
        self.account = account.into();
        self
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
        let stripe =
            Stripe::new([self.secret.clone()]).expect("the simulator's own secret is valid");
        #[cfg(feature = "stripe-secrets")]
        let stripe = match &self.store {
            Some(store) => stripe
                .secret_store(store.api_key().to_owned(), &store.url())
                .expect("the fake store's address is valid"),
            None => stripe,
        };
        Arc::new(stripe)
    }

    fn execute(&self, action: &str, request_id: &str, input: &Value, now: u64) -> SimulatedRequest {
        self.execute_for(action, request_id, input, None, now)
    }

    fn execute_for(
        &self,
        action: &str,
        request_id: &str,
        input: &Value,
        caller: Option<&str>,
        now: u64,
    ) -> SimulatedRequest {
        let context = json!({
            "type": "remote_function",
            "id": format!("inv_{request_id}"),
            "livemode": false,
            "stripe_context": caller.unwrap_or(&self.account),
        });
        self.signed(
            format!("/stripe/{action}/execute"),
            &json!({"id": request_id, "custom_input": input, "context": context}),
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
