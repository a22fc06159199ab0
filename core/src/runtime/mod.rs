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

mod answer;
mod call;
mod hash;
mod kept;
mod outcome;
mod run;

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;

use self::answer::replay;
pub use self::answer::{Answer, Executed, OutcomeJson, Render};
pub use self::call::{Call, FormCall, Input};
#[cfg(test)]
pub(crate) use self::hash::tests as hash_tests;
pub(crate) use self::hash::{Canonical, MemberStart};
pub use self::hash::{input_hash, input_hash_json};
use self::kept::Kept;
pub use self::outcome::{Failure, FailureKind, Outcome, Output};
use self::run::Run;
use crate::context::Context;
use crate::form_state::{FormMemo, FormStateRequest, FormStateResponse, MemoScope};
use crate::handler::{BoxFuture, Executable, HandlerResult};
use crate::schema::{FieldSpec, InputError};
use crate::store::{Claim, IdempotencyStore, InputHash, MemoryStore, StoreError};

/// The default execute budget: Stripe's 20 s.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(20);
/// How long form-state provider answers are reused for the same dependency values.
pub const DEFAULT_FORM_CACHE_TTL: Duration = Duration::from_secs(30);
/// The default form-state budget: 400 ms, under the 500 ms platforms ask of a whole
/// `get_form_state` answer. A look-up not done by then is its field's timeout error.
pub const DEFAULT_FORM_STATE_BUDGET: Duration = Duration::from_millis(400);
/// How long a claim outlives the deadline before another caller may take the id over.
pub const LEASE_GRACE: Duration = Duration::from_secs(10);

/// What an adapter or an export needs to know of a registered action.
#[derive(Clone, Copy, Debug)]
pub struct ActionInfo {
    /// The action's id.
    pub id: &'static str,
    /// The action's name.
    pub name: &'static str,
    /// What it does.
    pub description: Option<&'static str>,
    /// The permissions it asks for besides the one every action needs.
    pub permissions: &'static [crate::action::Permission],
    /// Its input schema.
    pub input_schema: &'static Value,
    /// Its UI schema.
    pub ui_schema: &'static Value,
    /// Its input fields.
    pub fields: &'static [FieldSpec],
    /// The input schemas of its earlier versions, newest first (`#[action(previous = T)]`).
    pub earlier_schemas: fn() -> Vec<&'static Value>,
}

trait DynAction<S>: Send + Sync {
    fn info(&self) -> ActionInfo;
    fn runs(&self) -> &AtomicU64;
    fn has_form_state(&self) -> bool;
    fn form_state_budget(&self) -> Option<Duration>;
    fn form_state(
        &self,
        state: &S,
        request: FormStateRequest,
        caller: Option<Arc<str>>,
        ctx: Context,
    ) -> Option<BoxFuture<Result<FormStateResponse, InputError>>>;
    fn prepare(
        &self,
        ctx: Context,
        state: &S,
        input: Input,
    ) -> Result<(BoxFuture<HandlerResult>, InputHash), InputError>;
    fn check(&self, input: Input) -> Result<(), InputError>;
}

struct Typed<A> {
    memo: Arc<FormMemo>,
    runs: AtomicU64,
    _action: PhantomData<fn() -> A>,
}

impl<S, A: Executable<S>> DynAction<S> for Typed<A> {
    fn has_form_state(&self) -> bool {
        A::HAS_FORM_STATE
    }

    fn runs(&self) -> &AtomicU64 {
        &self.runs
    }

    fn form_state_budget(&self) -> Option<Duration> {
        A::FORM_STATE_BUDGET
    }

    fn form_state(
        &self,
        state: &S,
        request: FormStateRequest,
        caller: Option<Arc<str>>,
        ctx: Context,
    ) -> Option<BoxFuture<Result<FormStateResponse, InputError>>> {
        let memo = MemoScope::new(Arc::clone(&self.memo), caller);
        let conditions = A::conditions();
        if conditions.is_empty() {
            return A::form_state(state, request, &memo, ctx);
        }
        let changed = request.changed_field.clone();
        let answer = A::form_state(state, request, &memo, ctx)?;
        Some(Box::pin(async move {
            let mut answer = answer.await?;
            crate::form_state::conditions::apply(conditions, changed.as_deref(), &mut answer);
            Ok(answer)
        }))
    }

    fn info(&self) -> ActionInfo {
        ActionInfo {
            id: A::ID,
            name: A::NAME,
            description: A::DESCRIPTION,
            permissions: A::PERMISSIONS,
            input_schema: A::input_schema(),
            ui_schema: A::ui_schema(),
            fields: A::fields(),
            earlier_schemas: A::earlier_schemas,
        }
    }

    fn prepare(
        &self,
        ctx: Context,
        state: &S,
        input: Input,
    ) -> Result<(BoxFuture<HandlerResult>, InputHash), InputError> {
        let (input, hash) = decode::<A>(input)?;
        Ok((A::execute(ctx, state, input), hash))
    }

    fn check(&self, input: Input) -> Result<(), InputError> {
        decode::<A>(input).map(drop)
    }
}

/// Decodes a call's input: the current schema first; only when it refuses, the action's
/// earlier versions (a saved configuration of an older shape), migrated forward. The error is
/// always the current schema's. The hash is the input's as sent, so a redelivery of an old-shape
/// input replays.
fn decode<A: crate::Action>(input: Input) -> Result<(A, InputHash), InputError> {
    let conditions = A::conditions();
    match input {
        // The hot path: straight from the request text.
        Input::Json(raw) if conditions.is_empty() => {
            A::decode_json(raw.get()).or_else(|error| match A::HAS_EARLIER {
                true => {
                    let value: serde_json::Value =
                        serde_json::from_str(raw.get()).map_err(|_| error.clone())?;
                    let hash = input_hash(&value);
                    A::decode_earlier(&value)
                        .map(|input| (input, hash))
                        .ok_or(error)
                }
                false => Err(error),
            })
        }
        Input::Json(raw) => {
            let value = serde_json::from_str(raw.get())
                .map_err(|e| InputError::new("", format!("invalid JSON: {e}")))?;
            decode_value::<A>(value, conditions)
        }
        Input::Value(value) => decode_value::<A>(value, conditions),
    }
}

/// [`decode`] of a JSON value: values of fields whose conditions do not hold are dropped, then
/// the current schema, then the earlier versions. The hash is the value's as sent.
fn decode_value<A: crate::Action>(
    mut value: serde_json::Value,
    conditions: &[crate::form_state::conditions::Condition],
) -> Result<(A, InputHash), InputError> {
    let hash = input_hash(&value);
    crate::form_state::conditions::strip(conditions, &mut value);
    let earlier = A::HAS_EARLIER.then(|| value.clone());
    match (A::decode(value), earlier) {
        (Ok(input), _) => Ok((input, hash)),
        (Err(error), Some(value)) => A::decode_earlier(&value)
            .map(|input| (input, hash))
            .ok_or(error),
        (Err(error), None) => Err(error),
    }
}

/// Runs actions' execute handlers: decoding, idempotency, deadline, panics.
///
/// Build it with [`Runtime::new`] and [`Runtime::action`]; the default store is an in-memory
/// [`MemoryStore`] (served binaries configure a durable one).
pub struct Runtime<S> {
    state: S,
    store: Arc<dyn IdempotencyStore>,
    /// Counts the store's failures, for `actionkit_store_errors_total`.
    store_errors: StoreErrors,
    deadline: Duration,
    form_cache_ttl: Duration,
    form_state_budget: Duration,
    actions: BTreeMap<&'static str, Arc<dyn DynAction<S>>>,
    kept: Arc<Kept>,
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
            store_errors: StoreErrors::default(),
            deadline: DEFAULT_DEADLINE,
            form_cache_ttl: DEFAULT_FORM_CACHE_TTL,
            form_state_budget: DEFAULT_FORM_STATE_BUDGET,
            actions: BTreeMap::new(),
            kept: Arc::default(),
        }
    }

    /// Registers action `A`.
    ///
    /// # Panics
    /// When an action with the same id is already registered, or its generated input schema is
    /// unusable (an invalid `pattern`).
    pub fn action<A: Executable<S>>(mut self) -> Self {
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

    /// Counts the store's failures into `errors` (the server's metrics).
    pub(crate) fn store_errors(mut self, errors: StoreErrors) -> Self {
        self.store_errors = errors;
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

    /// Sets the form-state budget (default [`DEFAULT_FORM_STATE_BUDGET`]): how long one
    /// form-state call waits for its look-ups. An action's `#[action(form_state_budget_ms = …)]`
    /// takes precedence.
    pub fn form_state_budget(mut self, budget: Duration) -> Self {
        self.form_state_budget = budget;
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
    pub fn check_input(&self, action: &str, input: Input) -> Result<(), Failure> {
        let entry = self
            .actions
            .get(action)
            .ok_or_else(|| Failure::new(FailureKind::NotFound, format!("no action `{action}`")))?;
        entry.check(input).map_err(Failure::from)
    }

    /// Whether action `id` answers form-state calls.
    pub fn has_form_state(&self, id: &str) -> bool {
        self.actions.get(id).is_some_and(|a| a.has_form_state())
    }

    /// Answers a form-state call for action `action` within its budget (the action's own, else
    /// [`Runtime::form_state_budget`]): look-ups still running then are their fields' timeout
    /// errors, and the call still answers.
    ///
    /// # Errors
    /// `404 not_found` for an unknown action or one without form state, `400 invalid_input` for
    /// an unknown `changed_field`. Provider failures are field errors inside a success.
    pub async fn form_state(
        &self,
        action: &str,
        request: FormStateRequest,
    ) -> Result<FormStateResponse, Failure> {
        self.form_state_call(action, FormCall::new(request)).await
    }

    /// [`Runtime::form_state`] for a call a platform decoded: providers taking a [`Context`] see
    /// its platform, its extensions, the request's id (empty when the platform sent none) and
    /// the time left of the budget; answers are memoised per [`FormCall::caller`].
    ///
    /// # Errors
    /// As [`Runtime::form_state`].
    pub async fn form_state_call(
        &self,
        action: &str,
        call: FormCall,
    ) -> Result<FormStateResponse, Failure> {
        let FormCall {
            request,
            platform,
            caller,
            extensions,
        } = call;
        let not_found = || {
            Failure::new(
                FailureKind::NotFound,
                format!("action `{action}` has no form state"),
            )
        };
        let entry = self.actions.get(action).ok_or_else(not_found)?;
        let budget = entry.form_state_budget().unwrap_or(self.form_state_budget);
        let ctx = Context::with_extensions(
            request.id.as_deref().unwrap_or_default().into(),
            platform,
            budget,
            extensions,
        );
        let future = entry
            .form_state(&self.state, request, caller, ctx)
            .ok_or_else(not_found)?;
        match run::CatchUnwind(future).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(err)) => Err(Failure::from(err)),
            Err(panic) => {
                tracing::error!(action, panic = %run::panic_message(panic), "a form-state handler panicked");
                Err(Failure::new(
                    FailureKind::Internal,
                    "the form-state handler failed unexpectedly",
                ))
            }
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

    /// Whether action `id` is registered.
    ///
    /// ```
    /// let runtime = actionkit_core::runtime::Runtime::new(());
    /// assert!(!runtime.has_action("send_email"));
    /// ```
    pub fn has_action(&self, id: &str) -> bool {
        self.actions.contains_key(id)
    }

    /// The registered id equal to `id`, as the `'static` string the action declares: what a
    /// server hands on instead of copying the id from each request's path.
    ///
    /// ```
    /// let runtime = actionkit_core::runtime::Runtime::new(());
    /// assert_eq!(runtime.action_id("send_email"), None);
    /// ```
    pub fn action_id(&self, id: &str) -> Option<&'static str> {
        self.actions.get_key_value(id).map(|(&id, _)| id)
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
    /// releases the id so a retry runs again. Outcomes are recorded as [`OutcomeJson`]; servers
    /// use [`Runtime::answer`] to record their platform's wire bytes instead.
    pub async fn execute(&self, call: Call) -> Executed {
        let answer = self.answer(call, Arc::new(OutcomeJson)).await;
        let outcome = serde_json::from_slice::<Outcome>(&answer.body).unwrap_or_else(|err| {
            tracing::error!(error = %err, "a recorded outcome could not be read");
            Outcome::Failure(Failure::new(
                FailureKind::Internal,
                "the recorded outcome of this request could not be read",
            ))
        });
        Executed {
            outcome,
            replayed: answer.replayed,
            ran: answer.ran,
        }
    }

    /// Runs one execute call and answers it rendered by `render`: what a server calls.
    ///
    /// The handler runs inline on the caller's task (no task per request), under the deadline
    /// (`504 timeout`, the handler's future dropped and its [`Context`] cancelled) and with
    /// panics caught (`500 internal`). If the caller's future is dropped while the handler runs
    /// (the client hung up), the run carries on by itself: the handler finishes or times out
    /// and its outcome is recorded, so the platform's retry replays it.
    pub async fn answer(&self, call: Call, render: Arc<dyn Render>) -> Answer {
        self.answer_in(&self.store, call, render).await
    }

    /// [`Runtime::answer`] with idempotency kept in `store` instead of the runtime's own: what
    /// the preview pages use, so a preview run never claims or records an id in the real store.
    pub(crate) async fn answer_in(
        &self,
        store: &Arc<dyn IdempotencyStore>,
        call: Call,
        render: Arc<dyn Render>,
    ) -> Answer {
        let refuse = |failure: Failure| Answer::rendered(&Outcome::Failure(failure), &*render);
        let Some((&id, action)) = self.actions.get_key_value(&*call.action) else {
            return refuse(Failure::new(
                FailureKind::NotFound,
                format!("no action `{}`", call.action),
            ));
        };
        let ctx = Context::with_extensions(
            call.request_id,
            call.platform,
            self.deadline,
            call.extensions,
        );
        let (handler, hash) = match action.prepare(ctx.clone(), &self.state, call.input) {
            Ok(prepared) => prepared,
            Err(err) => return refuse(Failure::from(err)),
        };
        let key = idempotency_key(call.platform, id, ctx.request_id());
        // An outcome the store could not take yet answers its redeliveries (see `kept`).
        if let Some((input, recorded)) = self.kept.get(&key) {
            return if input == hash {
                replay(recorded)
            } else {
                refuse(conflict())
            };
        }
        // Through the `dyn` itself: the `Arc` forwarding impl would box a second future.
        let owner = store;
        let store: &dyn IdempotencyStore = &**owner;
        let lease = match store.claim(&key, &hash, self.deadline + LEASE_GRACE).await {
            Ok(Claim::Acquired(lease)) => lease,
            Ok(Claim::Replay(recorded)) => return replay(recorded),
            Ok(Claim::InProgress { retry_after }) => {
                let failure = Failure::new(
                    FailureKind::InProgress,
                    "this request id is being handled right now; retry later",
                )
                .retry_after(retry_after);
                return refuse(failure);
            }
            Ok(Claim::Conflict) => return refuse(conflict()),
            Err(err) => {
                self.store_errors.inc();
                return refuse(store_unavailable(&err));
            }
        };
        action.runs().fetch_add(1, Ordering::Relaxed);
        let run = Run {
            ctx,
            handler,
            lease,
            store: owner.clone(),
            store_errors: self.store_errors.clone(),
            render,
            action: id,
            input: hash,
            kept: self.kept.clone(),
        };
        let ran = run.finish().await;
        Answer {
            status: ran.outcome.status(),
            retry_after: ran.outcome.failure().and_then(|f| f.retry_after),
            label: ran.outcome.label(),
            body: ran.body,
            replayed: false,
            ran: true,
        }
    }
}

/// A count of store failures, shared by the runtime and the server's metrics (an atomic behind
/// an `Arc`: counting allocates nothing).
pub(crate) type StoreErrors = prometheus_client::metrics::counter::Counter;

/// A boxed `Send` future borrowing from `'a`.
pub type RefFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// A [`Runtime`] with its state type erased: what platforms and background workers hold.
///
/// ```
/// use std::sync::Arc;
/// use actionkit_core::runtime::{Engine, Runtime};
/// let engine: Arc<dyn Engine> = Arc::new(Runtime::new(()));
/// assert_eq!(engine.budget(), actionkit_core::runtime::DEFAULT_DEADLINE);
/// ```
pub trait Engine: Send + Sync + 'static {
    /// [`Runtime::execute`].
    fn execute(&self, call: Call) -> RefFuture<'_, Executed>;
    /// [`Runtime::answer`].
    fn answer(&self, call: Call, render: Arc<dyn Render>) -> RefFuture<'_, Answer>;
    /// [`Runtime::check_input`].
    ///
    /// # Errors
    /// As [`Runtime::check_input`].
    fn check_input(&self, action: &str, input: Input) -> Result<(), Failure>;
    /// [`Runtime::budget`].
    fn budget(&self) -> Duration;
}

impl<S: Send + Sync + 'static> Engine for Runtime<S> {
    fn execute(&self, call: Call) -> RefFuture<'_, Executed> {
        Box::pin(Runtime::execute(self, call))
    }

    fn answer(&self, call: Call, render: Arc<dyn Render>) -> RefFuture<'_, Answer> {
        Box::pin(Runtime::answer(self, call, render))
    }

    fn check_input(&self, action: &str, input: Input) -> Result<(), Failure> {
        Runtime::check_input(self, action, input)
    }

    fn budget(&self) -> Duration {
        self.deadline
    }
}

/// `<platform>:<action>:<request id>`, in one allocation of the exact size.
fn idempotency_key(platform: &str, action: &str, request_id: &str) -> String {
    let mut key = String::with_capacity(platform.len() + action.len() + request_id.len() + 2);
    for (i, part) in [platform, action, request_id].into_iter().enumerate() {
        if i > 0 {
            key.push(':');
        }
        key.push_str(part);
    }
    key
}

fn conflict() -> Failure {
    Failure::new(
        FailureKind::IdempotencyConflict,
        "this request id was already used with a different input; use a new id for a new input",
    )
}

fn store_unavailable(err: &StoreError) -> Failure {
    tracing::error!(error = %err, "idempotency store unavailable");
    Failure::new(
        FailureKind::Transient,
        "the idempotency store is unavailable; retry later",
    )
    .retry_after(Duration::from_secs(1))
}
