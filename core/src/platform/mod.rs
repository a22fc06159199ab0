//! Platforms as plug-ins. A platform is what calls actions over HTTP (Stripe, epilot); it
//! supplies its parts of the one request path in `server::pipeline` through two small traits:
//!
//! - [`Platform`]: a configured platform as [`ServerConfig`](crate::server::ServerConfig) holds
//!   it (its name and keys), which [`binds`](Platform::bind) to a running server's runtime and
//!   store, giving an [`Adapter`] and, where the platform needs one, a background [`Worker`];
//!   off the request path it also supplies its app files to [`export`](crate::export)
//!   ([`Platform::export`]) and its side of the test [`Simulator`](crate::testing::Simulator)
//!   ([`Platform::simulation`]);
//! - [`Adapter`]: what the pipeline asks of it for each request: its [`routes`](Adapter::routes),
//!   [`verify`](Adapter::verify) the signature over the raw body, [`decode`](Adapter::decode) the
//!   body into a runtime [`Call`], [`render`](Render::render) outcomes and refusals, [`dispatch`](Adapter::dispatch) a call to the
//!   runtime or take it over, (also the
//!   404/405 of unknown routes under its [`mount`](Adapter::mount)) in its wire shape.
//!
//! The pipeline owns the order (body limit → verify → the action exists → decode → runtime →
//! record → render → answer) and the logging; a platform owns its wire format. Everything about
//! one platform lives in its folder here; the registration is a line each in [`PlatformArgs`],
//! [`PlatformSignArgs`] and [`defaults`].
//!
//! A minimal platform, answering `POST /echo/<action>` with the input as the body and no
//! signature (for illustration only: real platforms verify every request):
//!
//! ```
//! use std::sync::Arc;
//! use actionkit_core::platform::{Adapter, Binding, Bound, Endpoint, Platform, Route};
//! use actionkit_core::runtime::{Call, Failure, FailureKind, Input, Outcome, Render};
//! use actionkit_core::server::{App, ServerConfig};
//!
//! #[derive(Clone, Debug)]
//! struct Echo;
//!
//! impl Platform for Echo {
//!     fn name(&self) -> &'static str { "echo" }
//!     fn bind(&self, _: &Binding) -> Bound { Bound::new(Arc::new(Echo)) }
//! }
//!
//! impl Render for Echo {
//!     fn render(&self, outcome: &Outcome) -> Vec<u8> {
//!         match outcome {
//!             Outcome::Success { output } => output.get().as_bytes().to_vec(),
//!             Outcome::Failure(f) => serde_json::to_vec(&serde_json::json!({"error": f.kind.as_str()})).unwrap(),
//!         }
//!     }
//! }
//!
//! impl Adapter for Echo {
//!     fn name(&self) -> &'static str { "echo" }
//!     fn mount(&self) -> &'static str { "/echo" }
//!     fn routes(&self) -> &'static [Route] {
//!         const ROUTES: &[Route] = &[Route::new("/echo/{action}", Endpoint::Execute)];
//!         ROUTES
//!     }
//!     fn verify(&self, _: &http::HeaderMap, _: &[u8], _: std::time::SystemTime) -> Result<(), Failure> { Ok(()) }
//!     fn decode(&self, action: &'static str, headers: &http::HeaderMap, body: &[u8]) -> Result<Call, Failure> {
//!         let id = headers.get("x-request-id").and_then(|v| v.to_str().ok())
//!             .ok_or_else(|| Failure::new(FailureKind::InvalidInput, "missing `x-request-id`"))?;
//!         let input = Input::json(std::str::from_utf8(body).unwrap_or("null"))
//!             .map_err(|e| Failure::new(FailureKind::InvalidInput, e.to_string()))?;
//!         Ok(Call::new(action, id, input).platform("echo"))
//!     }
//! }
//!
//! # #[derive(actionkit::Action, serde::Deserialize)]
//! # #[action(id = "ping", execute = ping)]
//! # struct Ping {}
//! # async fn ping(_: Ping) -> Result<&'static str, actionkit_core::ActionError> { Ok("pong") }
//! let config = ServerConfig::new().platform(Echo);
//! assert_eq!(config.platform_names(), ["stripe", "epilot", "echo"]);
//! let (router, background) = App::new(()).action::<Ping>().into_router(&config);
//! assert!(!background.is_empty(), "epilot's callback worker, for the caller to run");
//! ```
//!
//! What a third platform touches: a new folder `platform/<name>/` holding its wire format, its
//! [`Platform`] and [`Adapter`] impls, its clap `Args` and `SignArgs`, and, where it has them,
//! its app files ([`Platform::export`], e.g. `export.rs`) and its simulation
//! ([`Platform::simulation`] returning a [`Simulation`], e.g.
//! `simulate.rs`); then one field in [`PlatformArgs`], one field and one arm in
//! [`PlatformSignArgs`], and one entry in [`defaults`]. Export and the simulator find it through
//! [`defaults`]; nothing outside its folder and the registration names it.

#[cfg(feature = "epilot")]
pub mod epilot;
#[cfg(feature = "stripe")]
pub mod stripe;
#[cfg(all(test, feature = "cli", feature = "stripe", feature = "epilot"))]
mod tests;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use http::HeaderMap;

use crate::export::{ExportError, ExportFile, Manifest};
use crate::form_state::{FormStateRequest, FormStateResponse};
use crate::handler::BoxFuture;
use crate::runtime::{Call, Engine, Failure, FailureKind, FormCall, Outcome, Render};
use crate::store::Store;
#[cfg(feature = "testing")]
use crate::testing::Simulation;

/// A configured platform: its name, and how it binds to a running server.
pub trait Platform: fmt::Debug + Send + Sync + 'static {
    /// The platform's name: the first segment of its idempotency keys and
    /// [`Context::platform`](crate::Context::platform).
    fn name(&self) -> &'static str;

    /// The adapter that serves this platform's routes over `binding`'s runtime and store, and
    /// the background work it needs, if any (returned to the caller, never spawned here).
    fn bind(&self, binding: &Binding) -> Bound;

    /// The files this platform's app package needs for the actions of `manifest`, with paths
    /// relative to the export directory `dir` (which it reads to merge into a file already
    /// there). Export needs no keys: it is asked of the unconfigured [`defaults`]. Platforms
    /// without files keep the default, none.
    ///
    /// ```
    /// use actionkit_core::export::{ExportFile, Manifest};
    /// use actionkit_core::platform::{Platform, stripe::Stripe};
    /// let manifest = Manifest { version: "0.1.0".into(), actions: Vec::new() };
    /// let files = Stripe::unconfigured().export(&manifest, std::path::Path::new("nowhere"))?;
    /// assert_eq!(files.len(), 1, "the app manifest alone, with no actions");
    /// # Ok::<(), actionkit_core::export::ExportError>(())
    /// ```
    ///
    /// # Errors
    /// When a file in `dir` that it merges into cannot be read or merged into.
    fn export(&self, manifest: &Manifest, dir: &Path) -> Result<Vec<ExportFile>, ExportError> {
        let _ = (manifest, dir);
        Ok(Vec::new())
    }

    /// This platform as the [`Simulator`](crate::testing::Simulator) plays it, trusting keys
    /// freshly generated for the simulation (whatever `self` is configured with). Platforms the
    /// simulator cannot play keep the default, `None`.
    ///
    /// ```
    /// use actionkit_core::platform::{Platform, epilot::Epilot};
    /// let simulation = Epilot::unconfigured().simulation().expect("epilot can be simulated");
    /// assert_eq!(simulation.platform().name(), "epilot");
    /// ```
    ///
    /// # Panics
    /// When the system has no randomness to generate keys from.
    #[cfg(feature = "testing")]
    fn simulation(&self) -> Option<Box<dyn Simulation>> {
        None
    }
}

/// What a platform binds to: the runtime (type-erased), the store, and the counters its
/// background work reports to the server's `/metrics`.
#[derive(Clone)]
pub struct Binding {
    /// The runtime that executes calls.
    pub engine: Arc<dyn Engine>,
    /// The idempotency store, which also queues deferred work.
    pub store: Arc<dyn Store>,
    /// Counters for background work.
    pub metrics: WorkMetrics,
}

/// What a platform's background work counts, exported by the server's `/metrics`
/// (`actionkit_callback_attempts_total`). A default one counts into nothing registered.
///
/// ```
/// let metrics = actionkit_core::platform::WorkMetrics::default();
/// metrics.callback_attempt();
/// assert_eq!(metrics.callback_attempts(), 1);
/// ```
#[derive(Clone, Debug, Default)]
pub struct WorkMetrics {
    callback_attempts: prometheus_client::metrics::counter::Counter,
}

impl WorkMetrics {
    pub(crate) fn new(callback_attempts: prometheus_client::metrics::counter::Counter) -> Self {
        WorkMetrics { callback_attempts }
    }

    /// One attempt to deliver a deferred callback (whatever its answer).
    pub fn callback_attempt(&self) {
        self.callback_attempts.inc();
    }

    /// Attempts counted so far.
    pub fn callback_attempts(&self) -> u64 {
        self.callback_attempts.get()
    }
}

impl fmt::Debug for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Binding").finish_non_exhaustive()
    }
}

/// A bound platform: its adapter and its background worker, if it has one.
pub struct Bound {
    /// Serves the platform's requests.
    pub adapter: Arc<dyn Adapter>,
    /// Work that runs beside the server (epilot's callback worker).
    pub worker: Option<Worker>,
}

impl Bound {
    /// An adapter with no background work.
    pub fn new(adapter: Arc<dyn Adapter>) -> Self {
        Bound {
            adapter,
            worker: None,
        }
    }
}

impl fmt::Debug for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bound")
            .field("adapter", &self.adapter.name())
            .field("worker", &self.worker.is_some())
            .finish()
    }
}

/// Background work: runs until the token it is given is cancelled.
pub type Worker = Box<dyn FnOnce(tokio_util::sync::CancellationToken) -> BoxFuture<()> + Send>;

/// What a route does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// Runs the action's execute handler.
    Execute,
    /// Answers a form-state call.
    FormState,
}

/// One `POST` route of a platform, relative to the server's prefix; `{action}` is the action id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// The path, e.g. `/stripe/{action}/execute`.
    pub path: &'static str,
    /// What it does.
    pub endpoint: Endpoint,
}

impl Route {
    /// A route.
    pub const fn new(path: &'static str, endpoint: Endpoint) -> Self {
        Route { path, endpoint }
    }
}

/// A platform's parts of the request path; see the [module docs](self).
pub trait Adapter: Render {
    /// The platform's name (as [`Platform::name`]).
    fn name(&self) -> &'static str;

    /// The path prefix this platform owns, e.g. `/stripe`: unknown routes and methods under it
    /// are answered in this platform's error shape.
    fn mount(&self) -> &'static str;

    /// The routes it serves.
    fn routes(&self) -> &'static [Route];

    /// Checks the request's signature over the raw body, before anything reads it as JSON.
    ///
    /// # Errors
    /// A `401 signature` failure saying what is wrong.
    fn verify(&self, headers: &HeaderMap, body: &[u8], now: SystemTime) -> Result<(), Failure>;

    /// Decodes a verified execute request for action `action` (a registered id) into a call.
    ///
    /// # Errors
    /// A `400 invalid_input` failure naming what is wrong with the envelope.
    fn decode(
        &self,
        action: &'static str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Call, Failure>;

    /// Decodes a verified form-state request. Platforms without form state keep the default.
    ///
    /// # Errors
    /// A `400 invalid_input` failure naming what is wrong.
    fn decode_form_state(&self, body: &[u8]) -> Result<FormStateRequest, Failure> {
        let _ = body;
        Err(Failure::new(
            FailureKind::NotFound,
            format!("{} has no form state", self.name()),
        ))
    }

    /// Decodes a verified form-state request with what a provider taking a `Context` may read
    /// (typed extensions) and who the form is for (the memo is kept per caller). The default is
    /// [`decode_form_state`](Adapter::decode_form_state) with neither.
    ///
    /// # Errors
    /// As [`decode_form_state`](Adapter::decode_form_state).
    fn decode_form_call(&self, body: &[u8]) -> Result<FormCall, Failure> {
        Ok(FormCall::new(self.decode_form_state(body)?).platform(self.name()))
    }

    /// The body answered for an unknown route (`kind` `not_found`) or method
    /// (`method_not_allowed`) under [`mount`](Adapter::mount).
    fn render_route_error(&self, kind: &str, message: &str) -> Vec<u8> {
        crate::server::pipeline::plain_error(kind, message)
    }

    /// The body of a form-state answer.
    fn render_form_state(&self, response: &FormStateResponse) -> Vec<u8> {
        serde_json::to_vec(response).expect("form-state answers serialise")
    }

    /// Who the call runs for, for the server's log line (an account, an organisation, and such;
    /// never a secret), when the platform knows. The default knows nobody.
    fn caller(&self, call: &Call) -> Option<String> {
        let _ = call;
        None
    }

    /// Who runs this call: the runtime, now (the default), or the platform itself (epilot
    /// queues calls that wait for a callback and answers at once).
    fn dispatch(&self, call: Call) -> Dispatch {
        Dispatch::Run(call)
    }
}

/// What [`Adapter::dispatch`] decides for a call.
pub enum Dispatch {
    /// The runtime runs it now.
    Run(Call),
    /// The platform took it over; the future gives the outcome to answer.
    TakenOver(BoxFuture<Outcome>),
}

impl fmt::Debug for Dispatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dispatch::Run(call) => f.debug_tuple("Run").field(call).finish(),
            Dispatch::TakenOver(_) => f.write_str("TakenOver"),
        }
    }
}

/// The `serve` flags of every registered platform, flattened into the CLI. Registering a
/// platform adds one field here.
#[cfg(feature = "cli")]
#[derive(clap::Args, Debug)]
pub struct PlatformArgs {
    #[cfg(feature = "stripe")]
    #[command(flatten)]
    #[allow(missing_docs)]
    pub stripe: stripe::Args,
    #[cfg(feature = "epilot")]
    #[command(flatten)]
    #[allow(missing_docs)]
    pub epilot: epilot::Args,
}

#[cfg(feature = "cli")]
impl PlatformArgs {
    /// Every platform configured from its flags and environment variables.
    ///
    /// # Errors
    /// The first unusable setting, naming its variable and the fix.
    pub fn into_platforms(self) -> Result<Vec<Arc<dyn Platform>>, String> {
        Ok(vec![
            #[cfg(feature = "stripe")]
            Arc::new(self.stripe.into_platform()?),
            #[cfg(feature = "epilot")]
            Arc::new(self.epilot.into_platform()?),
        ])
    }
}

/// The `sign` flags of every registered platform, flattened into the CLI. Registering a
/// platform adds one field here and one arm in [`PlatformSignArgs::sign`].
#[cfg(feature = "cli")]
#[derive(clap::Args, Debug)]
pub struct PlatformSignArgs {
    #[cfg(feature = "stripe")]
    #[command(flatten)]
    #[allow(missing_docs)]
    pub stripe: stripe::SignArgs,
    #[cfg(feature = "epilot")]
    #[command(flatten)]
    #[allow(missing_docs)]
    pub epilot: epilot::SignArgs,
}

#[cfg(feature = "cli")]
impl PlatformSignArgs {
    /// A signed curl command for `request`, by the platform that owns its route.
    ///
    /// # Errors
    /// When no platform owns the route, or its signer is missing a secret.
    pub fn sign(&self, request: &SignRequest<'_>) -> Result<String, String> {
        #[cfg_attr(not(any(feature = "stripe", feature = "epilot")), allow(unused))]
        let under = |mount: &str| {
            request
                .route
                .strip_prefix(mount)
                .is_some_and(|rest| rest.starts_with('/'))
        };
        #[cfg(feature = "stripe")]
        if under("/stripe") {
            return self.stripe.sign(request);
        }
        #[cfg(feature = "epilot")]
        if under("/epilot") {
            return self.epilot.sign(request);
        }
        let mounts: Vec<String> = defaults()
            .iter()
            .map(|platform| format!("/{}/", platform.name()))
            .collect();
        Err(format!(
            "no platform serves `{}`; routes start with {}",
            request.route,
            if mounts.is_empty() {
                "a platform's name, and this build has none (enable `stripe` or `epilot`)".into()
            } else {
                mounts.join(" or ")
            }
        ))
    }
}

#[cfg(feature = "cli")]
/// What `sign` signs: a route (relative to the server's prefix), a JSON body, the server's
/// address and the time.
#[derive(Clone, Copy, Debug)]
pub struct SignRequest<'a> {
    /// The route, e.g. `/stripe/send_email/execute`.
    pub route: &'a str,
    /// The body, sent byte for byte.
    pub body: &'a str,
    /// The server's address.
    pub addr: std::net::SocketAddr,
    /// Unix seconds to sign at.
    pub now: u64,
}

#[cfg(feature = "cli")]
impl SignRequest<'_> {
    /// A curl command POSTing the body to the route with `headers`.
    ///
    /// ```
    /// let request = actionkit_core::platform::SignRequest {
    ///     route: "/x", body: "{}", addr: "127.0.0.1:8080".parse().unwrap(), now: 1,
    /// };
    /// assert!(request.curl(&[("x-sig", "abc".into())]).contains("-H 'x-sig: abc'"));
    /// ```
    pub fn curl(&self, headers: &[(&str, String)]) -> String {
        let mut command = format!(
            "curl -sS -X POST 'http://{}{}' \\\n  -H 'Content-Type: application/json'",
            self.addr, self.route
        );
        for (name, value) in headers {
            command.push_str(&format!(" \\\n  -H '{name}: {value}'"));
        }
        command.push_str(&format!(
            " \\\n  --data-raw '{}'",
            self.body.replace('\'', r"'\''")
        ));
        command
    }
}

/// Every registered platform, unconfigured: each refuses every request with `401` naming the
/// setting to add, until configured. Registering a platform adds one entry here.
pub fn defaults() -> Vec<Arc<dyn Platform>> {
    vec![
        #[cfg(feature = "stripe")]
        Arc::new(stripe::Stripe::unconfigured()),
        #[cfg(feature = "epilot")]
        Arc::new(epilot::Epilot::unconfigured()),
    ]
}
