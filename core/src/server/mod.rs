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

mod accept;
#[cfg(feature = "cli")]
pub mod cli;
mod config;
mod metrics;
pub(crate) mod pipeline;
#[cfg(feature = "preview")]
pub mod preview;
pub(crate) mod response;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::http::{Method, StatusCode, Uri};
use axum::routing::get;
use serde_json::json;
use tokio_util::sync::CancellationToken;

pub use self::config::{
    DEFAULT_BODY_LIMIT, DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS, ServerConfig,
};
use self::metrics::Metrics;
use self::response::json_response;
use crate::export::{ExportAction, Exportable, Manifest};
use crate::handler::Executable;
use crate::platform::{Adapter, Binding, Worker};
use crate::runtime::{Engine, Runtime};

/// What [`App::into_parts`] hands out: the shared runtime, the router and the background work.
pub(crate) type Parts<S> = (Arc<Runtime<S>>, Router, Background);

/// The background work of a served app (epilot's callback worker), handed to the caller of
/// [`App::into_router`] rather than spawned behind its back. [`App::serve`] runs it.
///
/// ```no_run
/// # async fn demo(app: actionkit_core::server::App<()>) {
/// let (router, background) = app.into_router(&actionkit_core::server::ServerConfig::new());
/// let stop = tokio_util::sync::CancellationToken::new();
/// let workers = tokio::spawn(background.run(stop.clone()));
/// // … serve `router` (nested in your own app) …
/// stop.cancel();
/// let _ = workers.await;
/// # }
/// ```
pub struct Background {
    workers: Vec<Worker>,
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Background")
            .field("workers", &self.workers.len())
            .finish()
    }
}

impl Background {
    /// Whether there is no background work.
    pub fn is_empty(&self) -> bool {
        self.workers.is_empty()
    }

    /// Runs every worker until `stop` is cancelled.
    pub async fn run(self, stop: CancellationToken) {
        let tasks: Vec<_> = self
            .workers
            .into_iter()
            .map(|worker| tokio::spawn(worker(stop.clone())))
            .collect();
        for task in tasks {
            let _ = task.await;
        }
    }
}

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
    pub fn action<A: Executable<S>>(mut self) -> Self {
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

    /// The routes of `server.md` (every configured platform's, `/healthz` for liveness,
    /// `/readyz` for readiness — `200` while the store answers, `503` while it does not — and
    /// `/metrics` in the Prometheus text format), under
    /// `config.prefix`, as an axum router that can be served alone or nested into an existing
    /// app, with the background work the platforms need (run it: see [`Background`]).
    pub fn into_router(self, config: &ServerConfig) -> (Router, Background) {
        let (_, router, background) = self.into_parts(config);
        (router, background)
    }

    /// The router, the shared runtime behind it (the simulator reads handler counts from it) and
    /// the background work.
    pub(crate) fn into_parts(self, config: &ServerConfig) -> Parts<S> {
        let metrics = Arc::new(Metrics::new(config.store.clone()));
        let runtime = Arc::new(
            self.runtime
                .store(config.store.clone())
                .store_errors(metrics.store_errors())
                .deadline(config.deadline)
                .form_state_budget(config.form_state_budget),
        );
        let engine: Arc<dyn Engine> = runtime.clone();
        let binding = Binding {
            engine,
            store: config.store.clone(),
            metrics: metrics.work(),
        };
        let mut routes = Router::new();
        let mut adapters: Vec<Arc<dyn Adapter>> = Vec::new();
        let mut workers = Vec::new();
        for platform in config.configured_platforms() {
            let bound = platform.bind(&binding);
            routes = routes.merge(pipeline::routes(
                runtime.clone(),
                bound.adapter.clone(),
                config,
                metrics.clone(),
            ));
            adapters.push(bound.adapter);
            workers.extend(bound.worker);
        }
        #[cfg(feature = "preview")]
        if config.preview {
            routes = routes.merge(preview::routes(runtime.clone()));
        }
        let adapters: Arc<[Arc<dyn Adapter>]> = adapters.into();
        let (missing, wrong_method) = (adapters.clone(), adapters.clone());
        let routes = routes
            .route(
                "/healthz",
                get(|| async { json_response(StatusCode::OK, &json!({"status": "ok"}), None) }),
            )
            .route("/readyz", {
                let metrics = metrics.clone();
                get(move || async move { metrics.ready().await })
            })
            .route("/metrics", {
                let metrics = metrics.clone();
                get(move || async move { metrics.scrape().await })
            })
            .fallback(move |method: Method, uri: Uri| async move {
                pipeline::route_error(&missing, StatusCode::NOT_FOUND, &method, &uri)
            })
            .method_not_allowed_fallback(move |method: Method, uri: Uri| async move {
                pipeline::route_error(&wrong_method, StatusCode::METHOD_NOT_ALLOWED, &method, &uri)
            });
        let prefix = config.prefix.trim_end_matches('/');
        let router = if prefix.is_empty() {
            routes
        } else {
            let outside = adapters.clone();
            Router::new().nest(prefix, routes).fallback(
                move |method: Method, uri: Uri| async move {
                    pipeline::route_error(&outside, StatusCode::NOT_FOUND, &method, &uri)
                },
            )
        };
        (runtime, router, Background { workers })
    }

    /// Serves until ctrl-c or SIGTERM, then finishes in-flight requests and returns.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn serve(self, config: ServerConfig) -> std::io::Result<()> {
        let listener = tokio::net::TcpListener::bind(config.addr).await?;
        self.serve_on(listener, &config, shutdown_signal()).await
    }

    /// Serves on `listener` until `shutdown` completes, then finishes in-flight requests; runs
    /// the background work meanwhile and stops it last. Applies `config`'s slow-client limits:
    /// [`ServerConfig::header_timeout()`], [`ServerConfig::body_timeout()`],
    /// [`ServerConfig::idle_timeout()`] and [`ServerConfig::max_connections()`] (connections past
    /// the cap wait in the listen backlog until one closes).
    ///
    /// # Errors
    /// When serving fails, and at once (`InvalidInput`, saying why) when `config` turns the
    /// preview on ([`ServerConfig::preview`]) and `listener` is not on a loopback address.
    pub async fn serve_on(
        self,
        listener: tokio::net::TcpListener,
        config: &ServerConfig,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        #[cfg(feature = "preview")]
        if config.preview {
            preview::loopback_only(listener.local_addr()?)
                .map_err(|why| std::io::Error::new(std::io::ErrorKind::InvalidInput, why))?;
        }
        let (router, background) = self.into_router(config);
        let stop = CancellationToken::new();
        let workers = tokio::spawn(background.run(stop.clone()));
        let served = accept::serve(listener, router, accept::Limits::of(config), shutdown).await;
        stop.cancel();
        let _ = workers.await;
        served
    }
}

impl<S: Send + Sync + 'static> Exportable for App<S> {
    fn manifest(&self) -> Manifest {
        self.export_manifest()
    }
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
