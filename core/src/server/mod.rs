//! Serving actions over HTTP: [`App`] registers actions once and gives a nestable axum
//! [`Router`], a server with graceful shutdown, and a CLI (`serve`, `export`, `sign`).
//!
//! ```no_run
//! use actionkit_core::server::App;
//! # #[derive(actionkit::Action, serde::Deserialize)]
//! # #[action(id = "ping", execute = ping)]
//! # struct Ping {}
//! # async fn ping(_: Ping) -> Result<(), actionkit_core::ActionError> { Ok(()) }
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     App::new(()).action::<Ping>().run_cli().await
//! }
//! ```

pub mod cli;
mod config;
pub(crate) mod response;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::get;
use serde_json::json;

pub use self::config::{DEFAULT_BODY_LIMIT, ServerConfig};
use self::response::json_response;
use crate::export::{ExportAction, Exportable, Manifest};
use crate::form_state::FormDispatch;
use crate::handler::Executable;
use crate::platform;
use crate::platform::epilot::callback::CallbackWorker;
use crate::runtime::Runtime;
use crate::signature::standard_webhooks::{StandardWebhooksVerifier, WebhookKey};
use crate::store::{CallbackQueue, IdempotencyStore};

/// What [`App::into_parts`] hands out: the shared runtime, the router and the callback worker.
pub(crate) type Parts<S> = (Arc<Runtime<S>>, Router, CallbackWorker<S>);

/// How often the callback worker looks for due work when nothing woke it.
const CALLBACK_POLL: std::time::Duration = std::time::Duration::from_millis(500);
use crate::signature::stripe::StripeVerifier;

/// An app: shared state plus the actions it serves.
pub struct App<S> {
    runtime: Runtime<S>,
    version: String,
}

impl<S> std::fmt::Debug for App<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("runtime", &self.runtime)
            .field("version", &self.version)
            .finish()
    }
}

impl<S: Send + Sync + 'static> App<S> {
    /// An app over shared state `state` (handlers extract it with `State<T>`).
    pub fn new(state: S) -> Self {
        App {
            runtime: Runtime::new(state),
            version: "0.1.0".to_owned(),
        }
    }

    /// Registers action `A`.
    ///
    /// # Panics
    /// When an action with the same id is already registered.
    pub fn action<A: Executable<S> + FormDispatch<S>>(mut self) -> Self {
        self.runtime = self.runtime.action::<A>();
        self
    }

    /// The version written into exported manifests (default `0.1.0`; pass
    /// `env!("CARGO_PKG_VERSION")`).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Sets how long form-state provider answers are reused.
    pub fn form_cache_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.runtime = self.runtime.form_cache_ttl(ttl);
        self
    }

    /// The runtime, for calling actions in-process.
    pub fn runtime(&self) -> &Runtime<S> {
        &self.runtime
    }

    fn export_manifest(&self) -> Manifest {
        Manifest {
            version: self.version.clone(),
            actions: self
                .runtime
                .actions()
                .map(|info| ExportAction {
                    form_state: self.runtime.has_form_state(info.id),
                    info,
                })
                .collect(),
        }
    }

    /// The routes of `server.md` (`/stripe/...`, `/healthz`), under `config.prefix`, as an axum
    /// router that can be served alone or nested into an existing app.
    ///
    /// # Errors
    /// When a configured secret or key is unusable (empty, malformed, a private key…).
    pub fn into_router(
        self,
        config: &ServerConfig,
    ) -> Result<Router, crate::signature::SignatureError> {
        let (_, router, worker) = self.into_parts(config)?;
        // Queued epilot callbacks need a worker; nested routers run it on the current runtime
        // for as long as the process lives.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(worker.run(CALLBACK_POLL, std::future::pending()));
        }
        Ok(router)
    }

    /// The router, the shared runtime behind it (the simulator reads handler counts from it) and
    /// the worker that runs queued epilot callbacks.
    pub(crate) fn into_parts(
        self,
        config: &ServerConfig,
    ) -> Result<Parts<S>, crate::signature::SignatureError> {
        let verifier = if config.stripe_secrets.is_empty() {
            None
        } else {
            Some(StripeVerifier::new(config.stripe_secrets.iter().cloned())?)
        };
        let epilot = if config.epilot_keys.is_empty() {
            None
        } else {
            let keys = config
                .epilot_keys
                .iter()
                .map(|k| WebhookKey::parse(k))
                .collect::<Result<Vec<_>, _>>()?;
            Some(StandardWebhooksVerifier::new(keys)?)
        };
        let store: Arc<dyn IdempotencyStore> = config.store.clone();
        let runtime = Arc::new(self.runtime.store(store).deadline(config.deadline));
        let queue: Arc<dyn CallbackQueue> = config.store.clone();
        let worker = CallbackWorker::new(runtime.clone(), queue.clone(), config.callback_retry);
        let routes = Router::new()
            .merge(platform::stripe::routes(runtime.clone(), verifier))
            .merge(platform::epilot::routes(
                runtime.clone(),
                epilot,
                queue,
                worker.waker(),
            ))
            .route(
                "/healthz",
                get(|| async { json_response(StatusCode::OK, &json!({"status": "ok"}), None) }),
            )
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .layer(DefaultBodyLimit::max(config.body_limit))
            .layer(axum::middleware::map_response(close_after_too_large));
        let prefix = config.prefix.trim_end_matches('/');
        let router = if prefix.is_empty() {
            routes
        } else {
            Router::new().nest(prefix, routes).fallback(not_found)
        };
        Ok((runtime, router, worker))
    }

    /// Serves until ctrl-c or SIGTERM, then finishes in-flight requests and returns.
    ///
    /// # Errors
    /// When the address cannot be bound or a secret is unusable.
    pub async fn serve(self, config: ServerConfig) -> std::io::Result<()> {
        let listener = tokio::net::TcpListener::bind(config.addr).await?;
        self.serve_on(listener, &config, shutdown_signal()).await
    }

    /// Serves on `listener` until `shutdown` completes, then finishes in-flight requests.
    ///
    /// # Errors
    /// When serving fails or a secret is unusable.
    pub async fn serve_on(
        self,
        listener: tokio::net::TcpListener,
        config: &ServerConfig,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (_, router, worker) = self.into_parts(config).map_err(std::io::Error::other)?;
        let stop = tokio_util::sync::CancellationToken::new();
        let worker = tokio::spawn(worker.run(CALLBACK_POLL, stop.clone().cancelled_owned()));
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await;
        stop.cancel();
        let _ = worker.await;
        served
    }
}

impl<S: Send + Sync + 'static> Exportable for App<S> {
    fn manifest(&self) -> Manifest {
        self.export_manifest()
    }
}

async fn not_found(method: Method, uri: Uri) -> Response {
    let message = format!("no route `{method} {}`", uri.path());
    route_error(StatusCode::NOT_FOUND, &uri, "not_found", &message)
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let message = format!("`{}` does not accept `{method}`", uri.path());
    route_error(
        StatusCode::METHOD_NOT_ALLOWED,
        &uri,
        "method_not_allowed",
        &message,
    )
}

/// A 413 leaves the rest of the request body unread, so hyper closes the connection after the
/// answer: say so with `Connection: close`, or a client that pools the connection fails its next
/// request on it.
async fn close_after_too_large(mut response: Response) -> Response {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A routing error in the shape of the platform the path belongs to: epilot's `error_output`
/// under `/epilot` (every non-2xx answer there uses it), Stripe's `error` elsewhere. Inside a
/// prefix the path seen here is relative to it.
fn route_error(status: StatusCode, uri: &Uri, kind: &str, message: &str) -> Response {
    let path = uri.path();
    let body = if path == "/epilot" || path.starts_with("/epilot/") {
        platform::epilot::wire::error_output(kind, message, None)
    } else {
        json!({"error": {"type": kind, "message": message}})
    };
    json_response(status, &body, None)
}

/// Completes on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
