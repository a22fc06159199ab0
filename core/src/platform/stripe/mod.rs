//! Stripe Workflows custom actions as remote functions: `POST /stripe/<action id>/execute` and
//! `POST /stripe/<action id>/get_form_state`, each verifying `Stripe-Signature` over the raw body
//! before reading it as JSON.
//!
//! [`Stripe`] is the configured platform (its signing secrets and, optionally, the app's secret
//! key for the Secret Store); [`Args`] its `serve` flags. Handlers read the execution context
//! ([`StripeContext`]) and the calling account's secrets ([`StripeSecrets`]). Its export writes
//! each action's schemas and merges the extension entries into `stripe-app.yaml` ([`manifest`]);
//! its simulation ([`StripeSimulation`]) can serve a fake Secret Store ([`FakeSecretStore`]).

#[cfg(feature = "cli")]
mod args;
mod context;
mod export;
#[cfg(all(feature = "testing", feature = "stripe-secrets"))]
mod fake_secrets;
pub mod manifest;
#[cfg(feature = "stripe-secrets")]
mod secrets;
#[cfg(feature = "testing")]
mod simulate;
// The wire format's decoders and encoders, reached by the fuzz targets and benchmarks (the
// internal layer): not a public API, it changes without notice.
#[doc(hidden)]
pub mod wire;

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use http::HeaderMap;

#[cfg(feature = "cli")]
pub use self::args::{Args, DEV_SECRET_FILE, SignArgs};
pub use self::context::StripeContext;
#[cfg(feature = "stripe-secrets")]
pub use self::secrets::{DEFAULT_TTL, SecretStore, SecretStoreError, StripeSecrets};
#[cfg(all(feature = "testing", feature = "stripe-secrets"))]
pub use self::simulate::FakeSecretStore;
#[cfg(feature = "testing")]
pub use self::simulate::{SIMULATED_ACCOUNT, StripeSimulation};
use super::{Adapter, Binding, Bound, Endpoint, Platform, Route};
use crate::export::{ExportError, ExportFile, Manifest};
use crate::form_state::FormStateRequest;
use crate::runtime::{Call, Failure, FailureKind, FormCall, Input, Outcome, Render};
use crate::server::response::{Header, required_header};
use crate::signature::SignatureError;
use crate::signature::stripe::{HEADER, StripeVerifier};
#[cfg(feature = "testing")]
use crate::testing::Simulation;

/// The platform name in idempotency keys and [`Context::platform`](crate::Context::platform).
pub const PLATFORM: &str = "stripe";

const ROUTES: &[Route] = &[
    Route::new("/stripe/{action}/execute", Endpoint::Execute),
    Route::new("/stripe/{action}/get_form_state", Endpoint::FormState),
];

/// Stripe's API when `STRIPE_API_BASE` is not set.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";

/// Stripe, configured with its signing secrets. Without one every request is refused with 401:
/// no configuration turns verification off.
///
/// ```
/// use actionkit_core::platform::stripe::Stripe;
/// use actionkit_core::server::ServerConfig;
/// let config = ServerConfig::new().platform(Stripe::new(["whsec_test"]).unwrap());
/// assert!(!format!("{config:?}").contains("whsec_test"));
/// ```
#[derive(Clone, Debug)]
pub struct Stripe {
    verifier: Option<StripeVerifier>,
    #[cfg(feature = "stripe-secrets")]
    secrets: Option<SecretStore>,
}

impl Stripe {
    /// Stripe verifying with `secrets` (several at once during a rotation).
    ///
    /// # Errors
    /// When a secret is empty.
    pub fn new<S: Into<String>>(
        secrets: impl IntoIterator<Item = S>,
    ) -> Result<Self, SignatureError> {
        Ok(Stripe {
            verifier: Some(StripeVerifier::new(secrets)?),
            #[cfg(feature = "stripe-secrets")]
            secrets: None,
        })
    }

    /// Stripe with a ready verifier (for a custom tolerance).
    pub fn with_verifier(verifier: StripeVerifier) -> Self {
        Stripe {
            verifier: Some(verifier),
            #[cfg(feature = "stripe-secrets")]
            secrets: None,
        }
    }

    /// Stripe with no secret: every request is refused, naming `STRIPE_SIGNING_SECRET`.
    pub fn unconfigured() -> Self {
        Stripe {
            verifier: None,
            #[cfg(feature = "stripe-secrets")]
            secrets: None,
        }
    }

    #[cfg(feature = "stripe-secrets")]
    /// Lets execute handlers read the calling account's secrets ([`StripeSecrets`]) with the
    /// app's secret key `api_key` (`STRIPE_API_KEY`) from Stripe's API at `base`
    /// (`STRIPE_API_BASE`, normally [`DEFAULT_API_BASE`]).
    ///
    /// ```
    /// use actionkit_core::platform::stripe::{DEFAULT_API_BASE, Stripe};
    /// let stripe = Stripe::new(["whsec_test"])?.secret_store("sk_test_123", DEFAULT_API_BASE)?;
    /// assert!(!format!("{stripe:?}").contains("sk_test_123"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// When the key is empty or the base is not an http(s) URL.
    pub fn secret_store(
        self,
        api_key: impl Into<String>,
        base: &str,
    ) -> Result<Self, SecretStoreError> {
        Ok(self.with_secret_store(SecretStore::new(api_key, base)?))
    }

    /// Uses a ready [`SecretStore`] (for a custom cache lifetime).
    #[cfg(feature = "stripe-secrets")]
    pub fn with_secret_store(mut self, store: SecretStore) -> Self {
        self.secrets = Some(store);
        self
    }
}

impl Platform for Stripe {
    fn name(&self) -> &'static str {
        PLATFORM
    }

    fn bind(&self, _: &Binding) -> Bound {
        Bound::new(Arc::new(self.clone()))
    }

    fn export(&self, manifest: &Manifest, dir: &Path) -> Result<Vec<ExportFile>, ExportError> {
        export::files(manifest, dir)
    }

    #[cfg(feature = "testing")]
    fn simulation(&self) -> Option<Box<dyn Simulation>> {
        Some(Box::new(simulate::StripeSimulation::new()))
    }
}

impl Render for Stripe {
    fn render(&self, outcome: &Outcome) -> Vec<u8> {
        wire::render(outcome)
    }
}

impl Adapter for Stripe {
    fn name(&self) -> &'static str {
        PLATFORM
    }

    fn mount(&self) -> &'static str {
        "/stripe"
    }

    fn routes(&self) -> &'static [Route] {
        ROUTES
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Result<(), Failure> {
        let Some(verifier) = &self.verifier else {
            return Err(Failure::new(
                FailureKind::Signature,
                "no Stripe signing secret is configured; set STRIPE_SIGNING_SECRET",
            ));
        };
        const SIGNATURE: Header = Header::new("stripe-signature", HEADER);
        let header = required_header(headers, &SIGNATURE)?;
        verifier
            .verify(header, body, now)
            .map(drop)
            .map_err(|e| Failure::new(FailureKind::Signature, e.to_string()))
    }

    fn decode(&self, action: &'static str, _: &HeaderMap, body: &[u8]) -> Result<Call, Failure> {
        let (id, input, context) = match wire::decode_execute_raw(body) {
            Some(raw) => (
                raw.id,
                Input::Json(raw.custom_input),
                StripeContext::from_raw(raw.context),
            ),
            None => {
                let body = wire::decode_execute(body)?;
                let context = StripeContext::from_value(&body.context);
                (body.id, Input::Value(body.custom_input), context)
            }
        };
        let mut call = Call::new(action, id, input).platform(PLATFORM);
        call.extensions.insert(context);
        // Only when configured: without a key, the hot path allocates nothing more.
        #[cfg(feature = "stripe-secrets")]
        if let Some(secrets) = &self.secrets {
            call.extensions.insert(secrets.clone());
        }
        Ok(call)
    }

    fn caller(&self, call: &Call) -> Option<String> {
        call.extensions
            .get::<StripeContext>()
            .and_then(StripeContext::caller)
    }

    fn decode_form_state(&self, body: &[u8]) -> Result<FormStateRequest, Failure> {
        wire::decode_form_state(body)
    }

    fn decode_form_call(&self, body: &[u8]) -> Result<FormCall, Failure> {
        let (request, context) = wire::decode_form_state_with_context(body)?;
        let context = StripeContext::from_value(&context);
        let mut call = FormCall::new(request).platform(PLATFORM);
        call.caller = context.caller().map(Arc::from);
        call.extensions.insert(context);
        #[cfg(feature = "stripe-secrets")]
        if let Some(secrets) = &self.secrets {
            call.extensions.insert(secrets.clone());
        }
        Ok(call)
    }
}
