//! The platform-neutral runtime core: decode the input, claim the request id, run the handler
//! within its deadline (catching panics), record the outcome, answer an [`Outcome`]. Platform
//! adapters turn HTTP requests into [`Call`]s and [`Outcome`]s into responses; nothing here knows
//! HTTP or a platform.
//!
//! ```
//! use actionkit_core::runtime::{Call, Runtime};
//! use actionkit_core::{Action, ActionError, Context};
//! # use serde::Deserialize;
//! #[derive(actionkit::Action, Deserialize, Debug)]
//! #[action(id = "greet", execute = greet)]
//! struct Greet { name: String }
//!
//! async fn greet(ctx: Context, input: Greet) -> Result<String, ActionError> {
//!     Ok(format!("hello {} ({})", input.name, ctx.request_id()))
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let runtime = Runtime::new(()).action::<Greet>();
//! let done = runtime.execute(Call::new("greet", "req_1", serde_json::json!({"name": "Ada"}))).await;
//! assert_eq!(done.outcome.status(), 200);
//! let again = runtime.execute(Call::new("greet", "req_1", serde_json::json!({"name": "Ada"}))).await;
//! assert!(again.replayed);
//! assert_eq!(again.outcome, done.outcome);
//! # });
//! ```

mod hash;
mod outcome;

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde_json::Value;

#[cfg(test)]
pub(crate) use self::hash::tests as hash_tests;
pub(crate) use self::hash::{Canonical, MemberStart};
pub use self::hash::{input_hash, input_hash_json};
pub use self::outcome::{Failure, FailureKind, Outcome};
use crate::context::Context;
use crate::form_state::{FormDispatch, FormMemo, FormStateRequest, FormStateResponse};
use crate::handler::{BoxFuture, Executable, HandlerResult};
use crate::schema::{FieldSpec, InputError};
use crate::store::{Claim, IdempotencyStore, MemoryStore, Recorded, StoreError};

/// The default execute budget: Stripe's 20 s.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(20);
/// How long form-state provider answers are reused for the same dependency values.
pub const DEFAULT_FORM_CACHE_TTL: Duration = Duration::from_secs(30);
/// How long a claim outlives the deadline before another caller may take the id over.
pub const LEASE_GRACE: Duration = Duration::from_secs(10);

/// One execute call, as a platform adapter hands it to the runtime.
#[derive(Debug)]
pub struct Call {
    /// The action's id.
    pub action: String,
    /// The idempotency key (the same across the platform's retries).
    pub request_id: String,
    /// The platform's name, part of the idempotency key and of the [`Context`].
    pub platform: &'static str,
    /// The raw, untrusted input.
    pub input: Value,
    /// Typed extras the handler can read with [`Context::extension`].
    pub extensions: http::Extensions,
}

impl Call {
    /// A call with no platform extras, from platform `"test"`.
    pub fn new(action: impl Into<String>, request_id: impl Into<String>, input: Value) -> Self {
        Call {
            action: action.into(),
            request_id: request_id.into(),
            platform: "test",
            input,
            extensions: http::Extensions::new(),
        }
    }

    /// Sets the platform name.
    pub fn platform(mut self, platform: &'static str) -> Self {
        self.platform = platform;
        self
    }
}

/// The result of [`Runtime::execute`].
#[derive(Clone, Debug, PartialEq)]
pub struct Executed {
    /// What to answer.
    pub outcome: Outcome,
    /// Whether the outcome was replayed from the store (the handler did not run).
    pub replayed: bool,
    /// Whether the handler ran for this call.
    pub ran: bool,
}

impl Executed {
    fn refused(outcome: impl Into<Outcome>) -> Self {
        Executed {
            outcome: outcome.into(),
            replayed: false,
            ran: false,
        }
    }
}

/// What an adapter or an export needs to know of a registered action.
#[derive(Clone, Copy, Debug)]
pub struct ActionInfo {
    /// The action's id.
    pub id: &'static str,
    /// The action's name.
    pub name: &'static str,
    /// What it does.
    pub description: Option<&'static str>,
    /// Its input schema.
    pub input_schema: &'static Value,
    /// Its UI schema.
    pub ui_schema: &'static Value,
    /// Its input fields.
    pub fields: &'static [FieldSpec],
}

trait DynAction<S>: Send + Sync {
    fn info(&self) -> ActionInfo;
    fn runs(&self) -> &AtomicU64;
    fn has_form_state(&self) -> bool;
    fn form_state(
        &self,
        state: &S,
        request: FormStateRequest,
    ) -> Option<BoxFuture<Result<FormStateResponse, InputError>>>;
    fn prepare(
        &self,
        ctx: Context,
        state: &S,
        input: Value,
    ) -> Result<BoxFuture<HandlerResult>, InputError>;
    fn check(&self, input: Value) -> Result<(), InputError>;
}

struct Typed<A> {
    memo: Arc<FormMemo>,
    runs: AtomicU64,
    _action: PhantomData<fn() -> A>,
}

impl<S, A: Executable<S> + FormDispatch<S>> DynAction<S> for Typed<A> {
    fn has_form_state(&self) -> bool {
        A::HAS_FORM_STATE
    }

    fn runs(&self) -> &AtomicU64 {
        &self.runs
    }

    fn form_state(
        &self,
        state: &S,
        request: FormStateRequest,
    ) -> Option<BoxFuture<Result<FormStateResponse, InputError>>> {
        A::form_state(state, request, &self.memo)
    }

    fn info(&self) -> ActionInfo {
        ActionInfo {
            id: A::ID,
            name: A::NAME,
            description: A::DESCRIPTION,
            input_schema: A::input_schema(),
            ui_schema: A::ui_schema(),
            fields: A::fields(),
        }
    }

    fn prepare(
        &self,
        ctx: Context,
        state: &S,
        input: Value,
    ) -> Result<BoxFuture<HandlerResult>, InputError> {
        let input = A::decode(input)?;
        Ok(A::execute(ctx, state, input))
    }

    fn check(&self, input: Value) -> Result<(), InputError> {
        A::decode(input).map(drop)
    }
}

/// Runs actions' execute handlers: decoding, idempotency, deadline, panics.
///
/// Build it with [`Runtime::new`] and [`Runtime::action`]; the default store is an in-memory
/// [`MemoryStore`] (served binaries configure a durable one).
pub struct Runtime<S> {
    state: S,
    store: Arc<dyn IdempotencyStore>,
    deadline: Duration,
    form_cache_ttl: Duration,
    actions: BTreeMap<&'static str, Arc<dyn DynAction<S>>>,
}

impl<S> std::fmt::Debug for Runtime<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("actions", &self.actions.keys().collect::<Vec<_>>())
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl<S: Send + Sync + 'static> Runtime<S> {
    /// A runtime over shared application state `state`, with no actions yet.
    pub fn new(state: S) -> Self {
        Runtime {
            state,
            store: Arc::new(MemoryStore::new()),
            deadline: DEFAULT_DEADLINE,
            form_cache_ttl: DEFAULT_FORM_CACHE_TTL,
            actions: BTreeMap::new(),
        }
    }

    /// Registers action `A`.
    ///
    /// # Panics
    /// When an action with the same id is already registered, or its generated input schema is
    /// unusable (an invalid `pattern`).
    pub fn action<A: Executable<S> + FormDispatch<S>>(mut self) -> Self {
        // Build the schemas and compile the validator now, so an unusable attribute (an invalid
        // `pattern`) stops the process at start-up rather than failing a request.
        let _ = A::input_schema();
        let typed = Typed::<A> {
            memo: Arc::new(FormMemo::new(self.form_cache_ttl)),
            runs: AtomicU64::new(0),
            _action: PhantomData,
        };
        let previous = self.actions.insert(A::ID, Arc::new(typed));
        assert!(
            previous.is_none(),
            "actionkit: two actions share the id `{}`; ids must be unique",
            A::ID
        );
        self
    }

    /// Uses `store` for idempotency.
    pub fn store(mut self, store: Arc<dyn IdempotencyStore>) -> Self {
        self.store = store;
        self
    }

    /// Sets the execute budget (default [`DEFAULT_DEADLINE`]).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Sets how long form-state provider answers are reused (default
    /// [`DEFAULT_FORM_CACHE_TTL`]; zero turns the memo off). Applies to actions registered after.
    pub fn form_cache_ttl(mut self, ttl: Duration) -> Self {
        self.form_cache_ttl = ttl;
        self
    }

    /// How many times action `id`'s execute handler has run in this process (replays and refused
    /// calls do not count): what a test asserts to prove a side effect ran once.
    pub fn handler_runs(&self, id: &str) -> u64 {
        self.actions
            .get(id)
            .map_or(0, |a| a.runs().load(Ordering::Relaxed))
    }

    /// Checks `input` against action `action`'s schema without running anything (for work that
    /// is queued and run later).
    ///
    /// # Errors
    /// `404 not_found` for an unknown action, `400 invalid_input` naming the field.
    pub fn check_input(&self, action: &str, input: Value) -> Result<(), Failure> {
        let entry = self.actions.get(action).ok_or_else(|| {
            Failure::new(404, FailureKind::NotFound, format!("no action `{action}`"))
        })?;
        entry.check(input).map_err(Failure::from)
    }

    /// Whether action `id` answers form-state calls.
    pub fn has_form_state(&self, id: &str) -> bool {
        self.actions.get(id).is_some_and(|a| a.has_form_state())
    }

    /// Answers a form-state call for action `action`.
    ///
    /// # Errors
    /// `404 not_found` for an unknown action or one without form state, `400 invalid_input` for
    /// an unknown `changed_field`. Provider failures are field errors inside a success.
    pub async fn form_state(
        &self,
        action: &str,
        request: FormStateRequest,
    ) -> Result<FormStateResponse, Failure> {
        let not_found = || {
            Failure::new(
                404,
                FailureKind::NotFound,
                format!("action `{action}` has no form state"),
            )
        };
        let entry = self.actions.get(action).ok_or_else(not_found)?;
        let future = entry
            .form_state(&self.state, request)
            .ok_or_else(not_found)?;
        match tokio::spawn(future).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(err)) => Err(Failure::from(err)),
            Err(_) => Err(Failure::new(
                500,
                FailureKind::Internal,
                "the form-state handler failed unexpectedly",
            )),
        }
    }

    /// The execute budget.
    pub fn budget(&self) -> Duration {
        self.deadline
    }

    /// The shared application state.
    pub fn state(&self) -> &S {
        &self.state
    }

    /// The registered actions, by id.
    pub fn actions(&self) -> impl Iterator<Item = ActionInfo> + '_ {
        self.actions.values().map(|a| a.info())
    }

    /// One registered action.
    pub fn action_info(&self, id: &str) -> Option<ActionInfo> {
        self.actions.get(id).map(|a| a.info())
    }

    /// Runs one execute call to its outcome. Never panics, whatever the handler does.
    ///
    /// Invalid input is refused before anything is recorded; a completed request id replays its
    /// recorded outcome; a duplicate of a running id answers `in_progress`; the same id with
    /// another input answers `idempotency_conflict`; a transient failure, timeout or panic
    /// releases the id so a retry runs again.
    pub async fn execute(&self, call: Call) -> Executed {
        let Some(action) = self.actions.get(call.action.as_str()) else {
            return Executed::refused(Failure::new(
                404,
                FailureKind::NotFound,
                format!("no action `{}`", call.action),
            ));
        };
        let hash = input_hash(&call.input);
        let mut ctx = Context::new(call.request_id.clone(), call.platform, self.deadline);
        ctx.set_extensions(call.extensions);
        let future = match action.prepare(ctx.clone(), &self.state, call.input) {
            Ok(future) => future,
            Err(err) => return Executed::refused(err),
        };
        let key = format!("{}:{}:{}", call.platform, call.action, call.request_id);
        let lease = match self
            .store
            .claim(&key, &hash, self.deadline + LEASE_GRACE)
            .await
        {
            Ok(Claim::Acquired(lease)) => lease,
            Ok(Claim::Replay(recorded)) => return replay(&recorded),
            Ok(Claim::InProgress { retry_after }) => {
                let failure = Failure::new(
                    503,
                    FailureKind::InProgress,
                    "this request id is being handled right now; retry later",
                )
                .retry_after(retry_after);
                return Executed::refused(failure);
            }
            Ok(Claim::Conflict) => {
                let message = "this request id was already used with a different input; use a new id for a new input";
                return Executed::refused(Failure::new(
                    409,
                    FailureKind::IdempotencyConflict,
                    message,
                ));
            }
            Err(err) => return Executed::refused(store_unavailable(&err)),
        };
        action.runs().fetch_add(1, Ordering::Relaxed);
        let outcome = run(ctx, future).await;
        let recorded = match &outcome {
            Outcome::Success { .. } => true,
            Outcome::Failure(f) => f.kind == FailureKind::Permanent,
        };
        let stored = if recorded {
            let body = serde_json::to_vec(&outcome).expect("outcomes serialise");
            self.store
                .complete(
                    &lease,
                    &Recorded {
                        status: outcome.status(),
                        body,
                        recorded_at: SystemTime::now(),
                    },
                )
                .await
        } else {
            self.store.release(&lease).await
        };
        if let Err(err) = stored {
            tracing::error!(request_id = %call.request_id, action = %call.action, error = %err, "could not record the outcome");
        }
        Executed {
            outcome,
            replayed: false,
            ran: true,
        }
    }
}

fn replay(recorded: &Recorded) -> Executed {
    match serde_json::from_slice::<Outcome>(&recorded.body) {
        Ok(outcome) => Executed {
            outcome,
            replayed: true,
            ran: false,
        },
        Err(err) => {
            tracing::error!(error = %err, "a recorded outcome could not be read");
            Executed::refused(Failure::new(
                500,
                FailureKind::Internal,
                "the recorded outcome of this request could not be read",
            ))
        }
    }
}

fn store_unavailable(err: &StoreError) -> Failure {
    tracing::error!(error = %err, "idempotency store unavailable");
    Failure::new(
        503,
        FailureKind::Transient,
        "the idempotency store is unavailable; retry later",
    )
    .retry_after(Duration::from_secs(1))
}

/// Runs the handler on its own task, so a panic is caught and the deadline enforced.
async fn run(ctx: Context, future: BoxFuture<HandlerResult>) -> Outcome {
    let task = tokio::spawn(future);
    let abort = task.abort_handle();
    match tokio::time::timeout_at(ctx.deadline(), task).await {
        Ok(Ok(Ok(output))) => Outcome::Success { output },
        Ok(Ok(Err(err))) => Outcome::from(err),
        Ok(Err(join)) => {
            let detail = if join.is_panic() {
                panic_message(join.into_panic())
            } else {
                "cancelled".to_owned()
            };
            tracing::error!(request_id = ctx.request_id(), panic = %detail, "the handler panicked");
            Outcome::Failure(Failure::new(
                500,
                FailureKind::Internal,
                "the handler failed unexpectedly; the platform may retry",
            ))
        }
        Err(_) => {
            ctx.cancel_token().cancel();
            abort.abort();
            Outcome::Failure(Failure::new(
                504,
                FailureKind::Timeout,
                "the handler did not finish before its deadline",
            ))
        }
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => payload
            .downcast::<&'static str>()
            .map(|s| (*s).to_owned())
            .unwrap_or_else(|_| "a non-string panic".to_owned()),
    }
}
