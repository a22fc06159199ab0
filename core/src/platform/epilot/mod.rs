//! epilot automation custom actions (`external_integration`): `POST /epilot/<action id>`,
//! verified with Standard Webhooks (`v1a` Ed25519 with epilot's public key, or `v1` HMAC with a
//! `whsec_` secret) before the body is read as JSON, idempotent on `webhook-id`.
//!
//! The action's input is `data.action_config.custom_action_config`, decoded and validated
//! exactly as on Stripe; the rest of the event reaches the handler as an [`EpilotEvent`]
//! through [`Context::extension`](crate::Context::extension), including the `x-epilot-token`
//! (a [`Secret`]: never logged, redacted in `Debug`).
//!
//! [`Epilot`] is the configured platform (its keys, pinned or [discovered](Epilot::discover),
//! and its callback retry policy); [`Args`] its `serve` flags. Its export writes each action's app-manifest component `epilot/<id>.json`
//! (`CUSTOM_FLOW_ACTION`, `external_integration`), whose URL is filled from the install option
//! [`URL_OPTION`].

#[cfg(feature = "cli")]
mod args;
pub mod callback;
mod discovery;
mod export;
#[cfg(feature = "testing")]
mod simulate;
// The wire format's decoders and encoders, reached by the fuzz targets and benchmarks (the
// internal layer): not a public API, it changes without notice.
#[doc(hidden)]
pub mod wire;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::HeaderMap;
use tokio::sync::Notify;

#[cfg(feature = "cli")]
pub use self::args::{Args, SignArgs};
use self::callback::{CallbackWorker, RetryPolicy};
pub use self::discovery::{DEFAULT_PUBLIC_KEY_URL, InvalidKeyUrl, KeyRefresh};
use self::discovery::{Discovery, KeyCache};
pub use self::export::URL_OPTION;
pub use self::wire::EpilotEvent;
use super::{Adapter, Binding, Bound, Dispatch, Endpoint, Platform, Route};
use crate::context::Secret;
use crate::export::{ExportError, ExportFile, Manifest};
use crate::handler::BoxFuture;
use crate::runtime::{Call, Engine, Failure, FailureKind, Outcome, Output, Render};
use crate::server::response::{required_header, single_header};
use crate::signature::SignatureError;
use crate::signature::standard_webhooks::{
    ID_HEADER, SIGNATURE_HEADER, StandardWebhooksVerifier, TIMESTAMP_HEADER, WebhookKey,
};
use crate::store::CallbackQueue;
#[cfg(feature = "testing")]
use crate::testing::Simulation;

/// The platform name in idempotency keys and [`Context::platform`](crate::Context::platform).
pub const PLATFORM: &str = "epilot";
/// The header carrying epilot's bearer token.
pub const TOKEN_HEADER: &str = "x-epilot-token";

/// The headers read per request, as lookup keys.
mod header {
    use super::{ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, TOKEN_HEADER};
    use crate::server::response::Header;

    pub(super) const ID: Header = Header::new(ID_HEADER, ID_HEADER);
    pub(super) const TIMESTAMP: Header = Header::new(TIMESTAMP_HEADER, TIMESTAMP_HEADER);
    pub(super) const SIGNATURE: Header = Header::new(SIGNATURE_HEADER, SIGNATURE_HEADER);
    pub(super) const TOKEN: Header = Header::new(TOKEN_HEADER, TOKEN_HEADER);
}

/// How often the callback worker looks for due work when nothing woke it.
const CALLBACK_POLL: Duration = Duration::from_millis(500);

const ROUTES: &[Route] = &[Route::new("/epilot/{action}", Endpoint::Execute)];

/// epilot, configured with the keys it trusts and how queued callbacks are retried.
///
/// Its keys come one of three ways:
/// - pinned, [`Epilot::new`]: epilot's public key and/or `whsec_` secrets, trusted as given;
/// - discovered, [`Epilot::discover`]: epilot's public key fetched from a URL in the background
///   and refreshed (see [`KeyRefresh`]); calls that arrive before it is known get `503`, which
///   epilot retries;
/// - none, [`Epilot::unconfigured`]: every request is refused with `401`.
///
/// ```
/// use actionkit_core::platform::epilot::{DEFAULT_PUBLIC_KEY_URL, Epilot};
/// use actionkit_core::server::ServerConfig;
/// let config = ServerConfig::new().platform(Epilot::new(["whsec_dGVzdHNlY3JldA=="]).unwrap());
/// assert!(!format!("{config:?}").contains("dGVzdHNlY3JldA"));
/// let config = ServerConfig::new().platform(Epilot::discover(DEFAULT_PUBLIC_KEY_URL).unwrap());
/// # let _ = config;
/// ```
#[derive(Clone, Debug)]
pub struct Epilot {
    keys: KeyConfig,
    retry: RetryPolicy,
    poll: Duration,
}

/// Where [`Epilot`]'s keys come from.
#[derive(Clone, Debug)]
enum KeyConfig {
    None,
    Pinned(StandardWebhooksVerifier),
    Discovered(Discovery),
}

impl Epilot {
    /// epilot trusting `keys`: its Ed25519 public key (PEM or `whpk_…`) and `whsec_…` secrets.
    /// Nothing is fetched.
    ///
    /// # Errors
    /// When a key is malformed, or is a private key.
    pub fn new<S: AsRef<str>>(keys: impl IntoIterator<Item = S>) -> Result<Self, SignatureError> {
        let keys = keys
            .into_iter()
            .map(|k| WebhookKey::parse(k.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Epilot {
            keys: KeyConfig::Pinned(StandardWebhooksVerifier::new(keys)?),
            ..Epilot::unconfigured()
        })
    }

    /// epilot trusting the Ed25519 public key served at `url` as JSON
    /// `{"public_key": "<PEM>", …}` ([`DEFAULT_PUBLIC_KEY_URL`] is epilot's production URL).
    ///
    /// Nothing is fetched here: the server's background worker fetches the key when it starts,
    /// refreshes it as [`KeyRefresh`] says, and again (rate-limited) when a signature matches no
    /// cached key, so a rotated key is picked up. Until a key is known, calls are answered
    /// `503` (retryable), and the server keeps serving everything else. Run the
    /// [`Background`](crate::server::Background) of [`App::into_router`](crate::server::App::into_router)
    /// ([`App::serve`](crate::server::App::serve) does), or the key is never fetched.
    ///
    /// ```
    /// use std::time::Duration;
    /// use actionkit_core::platform::epilot::{Epilot, KeyRefresh};
    /// let staging = Epilot::discover("https://cdn.app.staging.sls.epilot.io/v1/.well-known/public-key")?
    ///     .key_refresh(KeyRefresh { every: Duration::from_secs(600), ..KeyRefresh::default() });
    /// # let _ = staging;
    /// # Ok::<(), actionkit_core::platform::epilot::InvalidKeyUrl>(())
    /// ```
    ///
    /// # Errors
    /// When `url` is not a URL, or not `https` (plain `http` only on a loopback address).
    pub fn discover(url: &str) -> Result<Self, InvalidKeyUrl> {
        Ok(Epilot {
            keys: KeyConfig::Discovered(Discovery::new(url)?),
            ..Epilot::unconfigured()
        })
    }

    /// epilot with no key: every request is refused, naming `EPILOT_PUBLIC_KEY`.
    pub fn unconfigured() -> Self {
        Epilot {
            keys: KeyConfig::None,
            retry: RetryPolicy::default(),
            poll: CALLBACK_POLL,
        }
    }

    /// Sets how a [discovered](Epilot::discover) key is refreshed (pinned keys are never
    /// fetched: this then changes nothing).
    pub fn key_refresh(mut self, refresh: KeyRefresh) -> Self {
        if let KeyConfig::Discovered(discovery) = &mut self.keys {
            discovery.refresh = refresh;
        }
        self
    }

    /// Sets how queued callbacks are retried.
    pub fn callback_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Sets how often the callback worker polls for due work when nothing woke it.
    pub fn callback_poll(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }
}

impl Platform for Epilot {
    fn name(&self) -> &'static str {
        PLATFORM
    }

    fn bind(&self, binding: &Binding) -> Bound {
        let queue: Arc<dyn CallbackQueue> = binding.store.clone();
        let worker = CallbackWorker::new(binding.engine.clone(), queue.clone(), self.retry)
            .metrics(binding.metrics.clone());
        let (keys, discovered) = match &self.keys {
            KeyConfig::None => (Keys::None, None),
            KeyConfig::Pinned(verifier) => (Keys::Pinned(verifier.clone()), None),
            KeyConfig::Discovered(discovery) => {
                let cache = Arc::new(KeyCache::new(discovery.clone()));
                (Keys::Discovered(cache.clone()), Some(cache))
            }
        };
        let adapter = EpilotAdapter {
            keys,
            engine: binding.engine.clone(),
            queue,
            wake: worker.waker(),
        };
        let poll = self.poll;
        // One worker: the callback worker, and beside it the key fetcher when the key is
        // discovered.
        let run = move |stop: tokio_util::sync::CancellationToken| -> BoxFuture<()> {
            Box::pin(async move {
                let callbacks = worker.run(poll, stop.clone().cancelled_owned());
                match discovered {
                    Some(cache) => {
                        tokio::join!(callbacks, cache.run(stop.cancelled_owned()));
                    }
                    None => callbacks.await,
                }
            })
        };
        Bound {
            adapter: Arc::new(adapter),
            worker: Some(Box::new(run)),
        }
    }

    fn export(&self, manifest: &Manifest, _: &Path) -> Result<Vec<ExportFile>, ExportError> {
        Ok(export::files(manifest))
    }

    #[cfg(feature = "testing")]
    fn simulation(&self) -> Option<Box<dyn Simulation>> {
        Some(Box::new(simulate::EpilotSimulation::new()))
    }
}

/// epilot bound to a server: verifies, decodes, queues callback work.
struct EpilotAdapter {
    keys: Keys,
    engine: Arc<dyn Engine>,
    queue: Arc<dyn CallbackQueue>,
    wake: Arc<Notify>,
}

/// The keys a bound adapter checks signatures with.
enum Keys {
    None,
    Pinned(StandardWebhooksVerifier),
    Discovered(Arc<KeyCache>),
}

/// A decoded call's callback, carried to [`Adapter::dispatch`] in the call's extensions.
#[derive(Clone)]
struct Callback {
    resume_token: Secret,
    url: String,
}

impl Render for EpilotAdapter {
    fn render(&self, outcome: &Outcome) -> Vec<u8> {
        serde_json::to_vec(&wire::outcome_body(outcome)).expect("JSON values serialise")
    }
}

impl Adapter for EpilotAdapter {
    fn name(&self) -> &'static str {
        PLATFORM
    }

    fn mount(&self) -> &'static str {
        "/epilot"
    }

    fn routes(&self) -> &'static [Route] {
        ROUTES
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Result<(), Failure> {
        let signed = || {
            Ok::<_, Failure>((
                required_header(headers, &header::ID)?,
                required_header(headers, &header::TIMESTAMP)?,
                required_header(headers, &header::SIGNATURE)?,
            ))
        };
        match &self.keys {
            Keys::None => Err(Failure::new(
                FailureKind::Signature,
                "no epilot key is configured; set EPILOT_PUBLIC_KEY or WEBHOOK_SECRET, or \
                 EPILOT_PUBLIC_KEY_URL to fetch it",
            )),
            Keys::Pinned(verifier) => {
                let (id, timestamp, signature) = signed()?;
                verifier
                    .verify(id, timestamp, signature, body, now)
                    .map(drop)
                    .map_err(|e| Failure::new(FailureKind::Signature, e.to_string()))
            }
            Keys::Discovered(cache) => {
                let (id, timestamp, signature) = signed()?;
                cache.verify(id, timestamp, signature, body, now)
            }
        }
    }

    fn decode(
        &self,
        action: &'static str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Call, Failure> {
        let id = required_header(headers, &header::ID)?;
        let token = single_header(headers, &header::TOKEN)
            .ok()
            .flatten()
            .map(Secret::new);
        let decoded = wire::decode(body, token)?;
        let mut call = Call::new(action, id, decoded.input).platform(PLATFORM);
        call.extensions.insert(decoded.event);
        if let Some((resume_token, url)) = decoded.callback {
            call.extensions.insert(Callback { resume_token, url });
        }
        Ok(call)
    }

    fn render_route_error(&self, kind: &str, message: &str) -> Vec<u8> {
        serde_json::to_vec(&wire::error_output(kind, message, None)).expect("JSON values serialise")
    }

    /// Calls that wait for a callback: validate the input, queue the work durably and answer
    /// `{}`; the callback worker does the rest. A redelivery of a queued id is accepted again
    /// and queues nothing.
    fn dispatch(&self, mut call: Call) -> Dispatch {
        let Some(callback) = call.extensions.remove::<Callback>() else {
            return Dispatch::Run(call);
        };
        if let Err(failure) = self.engine.check_input(&call.action, call.input.clone()) {
            return Dispatch::TakenOver(Box::pin(async move { Outcome::Failure(failure) }));
        }
        let event = call.extensions.remove::<EpilotEvent>().unwrap_or_default();
        let job = callback::Job::new(
            &call.action,
            &call.request_id,
            call.input.to_value(),
            &event,
            &callback.resume_token,
            &callback.url,
        );
        let payload = serde_json::to_vec(&job).expect("jobs serialise");
        let key = callback::job_key(&call.action, &call.request_id);
        let (queue, wake) = (self.queue.clone(), self.wake.clone());
        Dispatch::TakenOver(Box::pin(async move {
            match queue.enqueue(&key, &payload).await {
                Ok(_) => {
                    wake.notify_one();
                    tracing::info!(platform = PLATFORM, action = %call.action, request_id = %call.request_id, "call queued for a callback");
                    Outcome::Success {
                        output: Output::null(),
                    }
                }
                Err(err) => {
                    tracing::error!(error = %err, "the callback queue is unavailable");
                    Outcome::Failure(Failure::new(
                        FailureKind::Transient,
                        "the work queue is unavailable; retry later",
                    ))
                }
            }
        }))
    }
}
