//! A platform simulator for your tests: it serves your [`App`] on 127.0.0.1 and calls it the way
//! a platform does — signed requests, a form-state session (initial load, then changes,
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
mod simulation;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::OnceCell;

pub use self::execute::{Delivery, ExecuteRun, Executing};
pub use self::form::{FormSession, FormView};
pub use self::simulation::{SimulatedRequest, Simulation};
use crate::platform::Platform;
use crate::runtime::Runtime;
use crate::server::{App, ServerConfig};
use crate::store::{MemoryStore, Store};

/// Drives an [`App`] the way a platform does. Starts the server on first use; stops it when
/// dropped.
///
/// It serves every registered platform that has a [`Simulation`], each trusting keys generated
/// for this simulator, and plays the first registered one for execute calls unless told
/// [`platform`](Simulator::platform); form state goes to the played platform if it has form
/// state, else to the first one that has.
pub struct Simulator<S> {
    app: Mutex<Option<App<S>>>,
    running: OnceCell<Running<S>>,
    played: Vec<Played>,
    plays: usize,
    settings: Settings,
}

/// A platform's simulation and the platform it configured.
struct Played {
    simulation: Box<dyn Simulation>,
    platform: Arc<dyn Platform>,
}

struct Settings {
    deadline: Duration,
    form_state_budget: Duration,
    store: Arc<dyn Store>,
    max_backoff: Duration,
}

struct Running<S> {
    addr: SocketAddr,
    runtime: Arc<Runtime<S>>,
    client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
    _stop_worker: tokio_util::sync::DropGuard,
}

impl<S> std::fmt::Debug for Simulator<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("platform", &self.played[self.plays].platform.name())
            .field("deadline", &self.settings.deadline)
            .field("addr", &self.running.get().map(|r| r.addr))
            .finish()
    }
}

impl<S: Send + Sync + 'static> Simulator<S> {
    /// A simulator of the first registered platform calling `app`, with an in-memory store and
    /// the default deadline.
    ///
    /// # Panics
    /// When no registered platform can be simulated, or the system has no randomness for keys.
    pub fn new(app: App<S>) -> Self {
        let played: Vec<Played> = crate::platform::defaults()
            .iter()
            .filter_map(|platform| platform.simulation())
            .map(|simulation| Played {
                platform: simulation.platform(),
                simulation,
            })
            .collect();
        assert!(
            !played.is_empty(),
            "no registered platform can be simulated"
        );
        Simulator {
            app: Mutex::new(Some(app)),
            running: OnceCell::new(),
            played,
            plays: 0,
            settings: Settings {
                deadline: crate::runtime::DEFAULT_DEADLINE,
                form_state_budget: crate::runtime::DEFAULT_FORM_STATE_BUDGET,
                store: Arc::new(MemoryStore::new()),
                max_backoff: Duration::from_millis(50),
            },
        }
    }

    /// Plays the platform named `name` for execute calls (and for form state, if it has form
    /// state); the others are served all the same.
    ///
    /// ```
    /// use actionkit::prelude::*;
    /// use actionkit::testing::Simulator;
    /// # #[derive(Action, serde::Serialize, serde::Deserialize)]
    /// # #[action(id = "ping", execute = ping)]
    /// # struct Ping {}
    /// # async fn ping(_: Ping) -> Result<&'static str, ActionError> { Ok("pong") }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let sim = Simulator::new(App::new(()).action::<Ping>())
    ///     .platform(actionkit::platform::epilot::PLATFORM);
    /// let run = sim.execute(Ping {}).delivered(2).await;
    /// assert_eq!(run.statuses(), [200, 200]);
    /// assert_eq!(run.handler_calls(), 1);
    /// # });
    /// ```
    ///
    /// # Panics
    /// When no registered platform of that name can be simulated.
    pub fn platform(mut self, name: &str) -> Self {
        self.plays = self
            .played
            .iter()
            .position(|p| p.platform.name() == name)
            .unwrap_or_else(|| {
                let names: Vec<&str> = self.played.iter().map(|p| p.platform.name()).collect();
                panic!(
                    "the simulator cannot play `{name}`; it plays {}",
                    names.join(", ")
                )
            });
        self
    }

    /// Plays `simulation` for its platform instead of the registered default (a platform's
    /// simulation configured for a test, say with fake services of the platform); a platform not
    /// registered is added.
    ///
    /// # Panics
    /// After the simulator has started.
    pub fn simulation(mut self, simulation: impl Simulation) -> Self {
        assert!(
            self.running.get().is_none(),
            "configure the simulator before its first call"
        );
        let played = Played {
            platform: simulation.platform(),
            simulation: Box::new(simulation),
        };
        match self
            .played
            .iter()
            .position(|p| p.platform.name() == played.platform.name())
        {
            Some(i) => self.played[i] = played,
            None => self.played.push(played),
        }
        self
    }

    /// The handlers' deadline: set it short to see a slow handler time out.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.settings.deadline = deadline;
        self
    }

    /// The form-state budget: set it short to see a slow look-up answer with its timeout error
    /// (and [`FormView::elapsed`] to see the answer keep to it).
    pub fn form_state_budget(mut self, budget: Duration) -> Self {
        self.settings.form_state_budget = budget;
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
                let config = ServerConfig::new()
                    .platforms(self.played.iter().map(|p| p.platform.clone()))
                    .store(self.settings.store.clone())
                    .deadline(self.settings.deadline)
                    .form_state_budget(self.settings.form_state_budget);
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
                    _stop: stop,
                    _stop_worker: stop_worker.drop_guard(),
                }
            })
            .await
    }

    /// A form-state session for action `A`.
    pub fn form<A: crate::form_state::FormAction>(&self) -> FormSession<'_, S, A> {
        FormSession::new(self)
    }

    /// Executes `input` (as the platform would, with a fresh request id unless one is set).
    pub fn execute<A: crate::Action + serde::Serialize>(&self, input: A) -> Executing<'_, S, A> {
        Executing::new(self, input)
    }

    /// Executes action `A` with an input saved in the shape of one of its earlier versions
    /// (`saved`, an instance of that version's type), as a workflow configured before the
    /// change would deliver it. The handler sees the migrated current input.
    ///
    /// ```no_run
    /// # use actionkit::prelude::*;
    /// # #[derive(Action, serde::Serialize, serde::Deserialize)]
    /// # #[action(id = "greet", execute = greet)]
    /// # struct Greet { first_name: String }
    /// # async fn greet(_: Greet) -> Result<(), ActionError> { Ok(()) }
    /// # #[derive(serde::Serialize)]
    /// # struct GreetV1 { name: String }
    /// # async fn demo() {
    /// let sim = actionkit::testing::Simulator::new(App::new(()).action::<Greet>());
    /// let run = sim.execute_saved::<Greet>(GreetV1 { name: "Ada".into() }).await;
    /// # let _ = run;
    /// # }
    /// ```
    pub fn execute_saved<A: crate::Action + serde::Serialize>(
        &self,
        saved: impl serde::Serialize,
    ) -> Executing<'_, S, A> {
        let saved = serde_json::to_value(saved).expect("a saved input serialises");
        Executing::from_value(self, saved)
    }

    /// How many times action `id`'s handler has run so far.
    pub async fn handler_runs(&self, id: &str) -> u64 {
        self.running().await.runtime.handler_runs(id)
    }

    /// The platform played for execute calls.
    fn playing(&self) -> &Played {
        &self.played[self.plays]
    }

    /// Sends `request` to the running server; the status, the `Retry-After` seconds and the
    /// JSON body of the answer.
    async fn send(&self, request: SimulatedRequest) -> (u16, Option<u64>, serde_json::Value) {
        let running = self.running().await;
        let mut builder = running
            .client
            .post(format!("http://{}{}", running.addr, request.path))
            .header("content-type", "application/json");
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        let response = builder
            .body(request.body)
            .send()
            .await
            .expect("the simulated server answers");
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()?.parse().ok());
        let body = response.json().await.expect("a JSON answer");
        (status, retry_after, body)
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn fresh_id(prefix: &str) -> String {
    let mut random = [0; 10];
    getrandom::fill(&mut random).expect("the system has randomness");
    format!("{prefix}_{}", hex::encode(random))
}
