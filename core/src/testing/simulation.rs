//! What a platform supplies so the simulator can play it.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::platform::Platform;

/// One platform as the [`Simulator`](super::Simulator) plays it: it trusts keys generated for
/// the simulation, builds and signs the requests the platform sends, and judges answers by the
/// platform's contract. Each platform supplies one through
/// [`Platform::simulation`](crate::platform::Platform::simulation); the simulator serves every
/// registered platform that has one.
///
/// ```
/// use actionkit_core::platform::{Platform, stripe::Stripe};
/// let simulation = Stripe::unconfigured().simulation().expect("Stripe can be simulated");
/// let request = simulation.execute("ping", "req_1", &serde_json::json!({}), 1_700_000_000);
/// assert_eq!(request.path, "/stripe/ping/execute");
/// assert_eq!(simulation.platform().name(), "stripe");
/// assert!(!simulation.keeps_contract(500, &serde_json::json!({})));
/// ```
pub trait Simulation: Send + Sync + 'static {
    /// The platform, configured to trust this simulation's keys (and tuned for tests, say
    /// polling for background work often).
    fn platform(&self) -> Arc<dyn Platform>;

    /// An execute request of action `action` with `input`, delivered under `request_id` and
    /// signed at `now` (Unix seconds).
    fn execute(&self, action: &str, request_id: &str, input: &Value, now: u64) -> SimulatedRequest;

    /// As [`execute`](Simulation::execute), run for `caller`: whom the platform names as the
    /// call's caller (an account, an organisation), where it names one; `None` is the
    /// simulation's default caller. Platforms that name no caller keep the default, which
    /// ignores it.
    fn execute_for(
        &self,
        action: &str,
        request_id: &str,
        input: &Value,
        caller: Option<&str>,
        now: u64,
    ) -> SimulatedRequest {
        let _ = caller;
        self.execute(action, request_id, input, now)
    }

    /// Whether an execute answer keeps the platform's contract (the body's shape for the
    /// status).
    fn keeps_contract(&self, status: u16, body: &Value) -> bool;

    /// A form-state request of action `action` with the form's `values`, after `changed` changed
    /// (`None` on the initial load), signed at `now`. Platforms without form state keep the
    /// default, `None`.
    fn form_state(
        &self,
        action: &str,
        values: &Map<String, Value>,
        changed: Option<&str>,
        now: u64,
    ) -> Option<SimulatedRequest> {
        let _ = (action, values, changed, now);
        None
    }
}

/// A request as a platform sends it: `POST` to a path under the server's root, with headers and
/// a JSON body (the simulator adds `Content-Type`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimulatedRequest {
    /// The path, e.g. `/stripe/send_email/execute`.
    pub path: String,
    /// The headers the platform sends, signature included.
    pub headers: Vec<(&'static str, String)>,
    /// The raw body, as signed.
    pub body: Vec<u8>,
}
