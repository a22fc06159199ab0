//! A platform simulator for your tests: it serves your [`App`] on 127.0.0.1 and calls it the way
//! Stripe or epilot does — signed requests, a form-state session (initial load, then changes,
//! each answer checked against the contract), execute deliveries that can repeat the same id,
//! concurrently, with retries by status class — typed by your action.
//!
//! ```
//! use actionkit::prelude::*;
//! use actionkit::testing::Simulator;
//! # use serde::{Deserialize, Serialize};
//! #[derive(Action, Serialize, Deserialize, Clone, Debug)]
//! #[action(id = "greet", execute = greet)]
//! struct Greet {
//!     #[field(options = names)]
//!     name: String,
//!     #[field(options = greetings, depends_on(name))]
//!     greeting: Option<String>,
//! }
//! async fn names() -> Result<Options, FieldError> {
//!     Ok([Choice::new("ada", "Ada")].into_iter().collect())
//! }
//! async fn greetings(name: &str) -> Result<Options, FieldError> {
//!     Ok([Choice::new(format!("hello {name}"), "Hello")].into_iter().collect())
//! }
//! async fn greet(input: Greet) -> Result<String, ActionError> {
//!     Ok(input.greeting.unwrap_or_default())
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let sim = Simulator::new(App::new(()).action::<Greet>());
//! let form = sim.form::<Greet>().load().await;
//! assert!(form.config(GreetField::Greeting).disabled);
//! let form = form.set(GreetField::Name, "ada").await;
//! assert_eq!(form.options(GreetField::Greeting)[0].value, "hello ada");
//!
//! let input = Greet { name: "ada".into(), greeting: Some("hello ada".into()) };
//! let run = sim.execute(input).delivered(5).concurrently().await;
//! assert_eq!(run.handler_calls(), 1);
//! assert!(run.statuses().iter().all(|s| *s == 200 || *s == 503));
//! # });
//! ```

mod execute;
mod form;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::OnceCell;

pub use self::execute::{Delivery, ExecuteRun, Executing};
pub use self::form::{FormSession, FormView};
use crate::platform::epilot::Epilot;
use crate::platform::stripe::Stripe;
use crate::runtime::Runtime;
use crate::server::{App, ServerConfig};
use crate::signature::standard_webhooks::WebhookSigningKey;
use crate::signature::stripe;
use crate::store::{MemoryStore, Store};

/// Which platform the simulator plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    /// Stripe remote functions (`Stripe-Signature`).
    Stripe,
    /// epilot `external_integration` (Standard Webhooks `v1a`).
    Epilot,
}

/// Drives an [`App`] the way a platform does. Starts the server on first use; stops it when
/// dropped.
pub struct Simulator<S> {
    app: Mutex<Option<App<S>>>,
    running: OnceCell<Running<S>>,
    settings: Settings,
}

#[derive(Clone)]
struct Settings {
    platform: Platform,
    deadline: Duration,
    store: Arc<dyn Store>,
    max_backoff: Duration,
}

struct Running<S> {
    addr: SocketAddr,
    runtime: Arc<Runtime<S>>,
    client: reqwest::Client,
    stripe_secret: String,
    epilot_key: WebhookSigningKey,
    _stop: tokio::sync::oneshot::Sender<()>,
    _stop_worker: tokio_util::sync::DropGuard,
}

impl<S> std::fmt::Debug for Simulator<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("platform", &self.settings.platform)
            .field("deadline", &self.settings.deadline)
            .field("addr", &self.running.get().map(|r| r.addr))
            .finish()
    }
}

impl<S: Send + Sync + 'static> Simulator<S> {
    /// A simulator of Stripe calling `app`, with an in-memory store and the default deadline.
    pub fn new(app: App<S>) -> Self {
        Simulator {
            app: Mutex::new(Some(app)),
            running: OnceCell::new(),
            settings: Settings {
                platform: Platform::Stripe,
                deadline: crate::runtime::DEFAULT_DEADLINE,
                store: Arc::new(MemoryStore::new()),
                max_backoff: Duration::from_millis(50),
            },
        }
    }

    /// Plays `platform` for execute calls (form state is Stripe's alone).
    pub fn platform(mut self, platform: Platform) -> Self {
        self.settings.platform = platform;
        self
    }

    /// The handlers' deadline: set it short to see a slow handler time out.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.settings.deadline = deadline;
        self
    }

    /// Uses `store` for idempotency (for example a redb file to test restarts).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.settings.store = store;
        self
    }

    /// Caps how long a retry waits for `Retry-After` (default 50 ms, to keep tests fast).
    pub fn max_backoff(mut self, max: Duration) -> Self {
        self.settings.max_backoff = max;
        self
    }

    async fn running(&self) -> &Running<S> {
        self.running
            .get_or_init(|| async {
                let app = self
                    .app
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()
                    .expect("the simulator starts once");
                let stripe_secret = stripe::generate_secret().expect("the system has randomness");
                let epilot_key =
                    WebhookSigningKey::generate_ed25519().expect("the system has randomness");
                let stripe = Stripe::new([stripe_secret.clone()])
                    .expect("the simulator's own secret is valid");
                let epilot = Epilot::new([epilot_key.public_key().expect("an Ed25519 key")])
                    .expect("the simulator's own key is valid")
                    .callback_poll(Duration::from_millis(50));
                let config = ServerConfig::new()
                    .platform(stripe)
                    .platform(epilot)
                    .store(self.settings.store.clone())
                    .deadline(self.settings.deadline);
                let (runtime, router, background) = app.into_parts(&config);
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind a loopback port");
                let addr = listener.local_addr().expect("a local address");
                let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
                let stop_worker = tokio_util::sync::CancellationToken::new();
                tokio::spawn(background.run(stop_worker.clone()));
                tokio::spawn(async move {
                    let _ = axum::serve(listener, router)
                        .with_graceful_shutdown(async move {
                            let _ = stopped.await;
                        })
                        .await;
                });
                Running {
                    addr,
                    runtime,
                    client: reqwest::Client::new(),
                    stripe_secret,
                    epilot_key,
                    _stop: stop,
                    _stop_worker: stop_worker.drop_guard(),
                }
            })
            .await
    }

    /// A form-state session for action `A` (Stripe's `get_form_state`).
    pub fn form<A: crate::form_state::FormAction>(&self) -> FormSession<'_, S, A> {
        FormSession::new(self)
    }

    /// Executes `input` (as the platform would, with a fresh request id unless one is set).
    pub fn execute<A: crate::Action + serde::Serialize>(&self, input: A) -> Executing<'_, S, A> {
        Executing::new(self, input)
    }

    /// How many times action `id`'s handler has run so far.
    pub async fn handler_runs(&self, id: &str) -> u64 {
        self.running().await.runtime.handler_runs(id)
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn fresh_id(prefix: &str) -> String {
    let random = stripe::generate_secret().expect("the system has randomness");
    format!("{prefix}_{}", &random.trim_start_matches("whsec_")[..20])
}
