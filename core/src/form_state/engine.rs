//! The generated dispatch's engine: which fields to compute, clearing, disabling, stale-value
//! warnings, per-field errors, concurrency and the memo.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::content::{FieldError, Options, Schema};
use super::wire::{FormStateRequest, FormStateResponse, SlotMut};
use super::{FormAction, FormField, FormRequest};
use crate::context::Context;
use crate::handler::BoxFuture;
use crate::schema::InputError;

/// What a provider computes.
#[derive(Clone, Debug, PartialEq)]
pub enum Content {
    /// Dropdown entries.
    Options(Options),
    /// A sub-schema.
    Schema(Schema),
}

/// The kind of a dynamic field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DynamicKind {
    /// `dynamic_select`: `options = provider`.
    Select,
    /// `dynamic_schema`: `schema = provider`.
    Schema,
}

/// What a provider's glue resolves to.
pub type ProviderFuture = BoxFuture<Result<Content, FieldError>>;

/// Memo key: the caller (answers are never shared across callers), the field and its dependency
/// values as JSON.
type MemoKey = (Option<Arc<str>>, &'static str, String);

/// A memo as one call sees it: the action's [`FormMemo`], partitioned by the caller the platform
/// names (an account), so one caller's look-ups never answer another's.
#[derive(Clone, Debug)]
pub struct MemoScope {
    memo: Arc<FormMemo>,
    caller: Option<Arc<str>>,
}

impl MemoScope {
    /// `memo` as seen by `caller` (`None`: a caller-less call, such as an in-process one).
    pub fn new(memo: Arc<FormMemo>, caller: Option<Arc<str>>) -> Self {
        MemoScope { memo, caller }
    }
}

/// A provider as the generated code registers it: the field's serde name, its kind, the serde
/// names of its dependencies, and glue that reads the dependencies out of the values and calls
/// the user's function.
pub struct DynamicField<S> {
    /// Serde name of the field.
    pub name: &'static str,
    /// Dropdown or sub-schema.
    pub kind: DynamicKind,
    /// Serde names of the fields it depends on.
    pub depends_on: &'static [&'static str],
    /// The generated glue: state, values, and the call's context.
    pub provider: fn(S, Map<String, Value>, Context) -> ProviderFuture,
}

impl<S> std::fmt::Debug for DynamicField<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamicField")
            .field("name", &self.name)
            .field("depends_on", &self.depends_on)
            .finish()
    }
}

/// What one look-up answers: content or the field's error.
type LookUp = Result<Content, FieldError>;

/// Where waiters of an in-flight look-up read its answer (`None` until it is done).
type Flight = tokio::sync::watch::Receiver<Option<LookUp>>;

/// Per-process memo of provider answers, keyed by (action, field, dependency values), each
/// kept for a TTL, and the look-ups in flight. Failures are never memoised.
///
/// Concurrent identical look-ups share one provider call (single-flight), across form-state
/// calls too: the provider runs on its own task, which fills the memo when it finishes, even
/// after the call that started it has answered with a timeout.
///
/// ```
/// use std::time::Duration;
/// let memo = actionkit_core::form_state::FormMemo::new(Duration::from_secs(30));
/// assert_eq!(memo.ttl(), Duration::from_secs(30));
/// ```
#[derive(Debug)]
pub struct FormMemo {
    ttl: Duration,
    entries: Mutex<HashMap<MemoKey, (Instant, Content)>>,
    in_flight: Mutex<HashMap<MemoKey, Flight>>,
    look_up_limit: Duration,
}

/// How many answers a memo keeps before it drops expired ones (and, if still full, all).
const MEMO_CAPACITY: usize = 10_000;

/// How long a look-up may go on in the background after its call answered: a provider that
/// never returns is dropped then, so the next call for the same key tries again instead of
/// joining a flight that never lands.
const LOOK_UP_LIMIT: Duration = Duration::from_secs(60);

impl FormMemo {
    /// A memo keeping answers for `ttl` (zero disables it; identical concurrent look-ups are
    /// still shared).
    pub fn new(ttl: Duration) -> Self {
        FormMemo {
            ttl,
            entries: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
            look_up_limit: LOOK_UP_LIMIT,
        }
    }

    /// How long answers are kept.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn get(&self, key: &MemoKey) -> Option<Content> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, c)| c.clone())
    }

    fn put(&self, key: MemoKey, content: Content) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MEMO_CAPACITY {
            entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
            if entries.len() >= MEMO_CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), content));
    }

    /// The memoised answer, or the flight to wait on: joins one already in the air, else
    /// starts `start()` on its own task. The task outlives its caller's deadline, fills the
    /// memo on success and leaves the in-flight table however it ends (a panic included).
    fn look_up(
        self: &Arc<Self>,
        key: MemoKey,
        start: impl FnOnce() -> ProviderFuture,
    ) -> Result<Content, Flight> {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        // Read under the in-flight lock: a flight lands in the memo before it leaves the table,
        // so a key is always found in one of the two while its answer is fresh.
        if let Some(content) = self.get(&key) {
            return Ok(content);
        }
        if let Some(flight) = in_flight.get(&key) {
            return Err(flight.clone());
        }
        let (tx, rx) = tokio::sync::watch::channel(None);
        in_flight.insert(key.clone(), rx.clone());
        drop(in_flight);
        let landing = Landing {
            memo: Arc::clone(self),
            key,
            tx,
        };
        let future = tokio::time::timeout(self.look_up_limit, start());
        tokio::spawn(async move {
            let result = future.await.unwrap_or_else(|_| Err(timed_out()));
            landing.land(result);
        });
        Err(rx)
    }
}

/// The end of one flight: answers its waiters, fills the memo, leaves the in-flight table. When
/// dropped without landing (the provider panicked), the waiters see the sender gone.
struct Landing {
    memo: Arc<FormMemo>,
    key: MemoKey,
    tx: tokio::sync::watch::Sender<Option<LookUp>>,
}

impl Landing {
    fn land(self, result: LookUp) {
        if let Ok(content) = &result {
            self.memo.put(self.key.clone(), content.clone());
        }
        self.tx.send_replace(Some(result));
    }
}

impl Drop for Landing {
    fn drop(&mut self) {
        if std::thread::panicking() {
            tracing::error!(field = self.key.1, "a form-state provider panicked");
        }
        let mut in_flight = self
            .memo
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        in_flight.remove(&self.key);
    }
}

/// Waits for a flight until `deadline`.
async fn arrival(mut flight: Flight, deadline: Instant) -> LookUp {
    match tokio::time::timeout_at(deadline, flight.wait_for(Option::is_some)).await {
        Ok(Ok(answer)) => answer.clone().expect("waited for an answer"),
        Ok(Err(_)) => Err(FieldError::new(
            "the look-up failed unexpectedly; try again",
        )),
        Err(_) => Err(timed_out()),
    }
}

/// The error of a field whose look-up missed the form-state budget.
fn timed_out() -> FieldError {
    FieldError::new("the look-up timed out; try again in a moment")
}

/// Parses the wire request for action `A`: an unknown `changed_field` is refused.
///
/// # Errors
/// `/changed_field` when it names no field of `A`.
pub fn request<A: FormAction>(request: FormStateRequest) -> Result<FormRequest<A>, InputError> {
    let parsed = parse::<A>(request)?;
    Ok(FormRequest::new(parsed.changed, parsed.values))
}

/// A wire request's changed field and raw values, without the typed view (the provider
/// dispatch reads dependencies one by one).
struct Parsed<F> {
    changed: Option<F>,
    values: Map<String, Value>,
}

fn parse<A: FormAction>(request: FormStateRequest) -> Result<Parsed<A::Field>, InputError> {
    let changed = match request.changed_field.as_deref() {
        None => None,
        Some(name) => Some(A::Field::from_name(name).ok_or_else(|| unknown_field::<A>(name))?),
    };
    // Values saved with an earlier version of the action are migrated before anything reads
    // them, and the answer carries the migrated shape, so the builder saves the new one.
    let values = A::migrate_values(&request.values).unwrap_or(request.values);
    Ok(Parsed { changed, values })
}

fn unknown_field<A: FormAction>(name: &str) -> InputError {
    let expected: Vec<String> = A::Field::ALL
        .iter()
        .map(|f| format!("`{}`", f.name()))
        .collect();
    InputError::new(
        "/changed_field",
        format!(
            "unknown field `{name}`; expected one of {}",
            expected.join(", ")
        ),
    )
}

/// Whether a value counts as set: not absent, `null`, `""`, `[]` or `{}`.
fn is_set(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(_) => true,
    }
}

/// Reads a dependency for a provider; generated glue calls it.
///
/// # Errors
/// When the value does not have the field's type (a stale or hand-edited value).
pub fn dependency<T: DeserializeOwned>(
    values: &Map<String, Value>,
    name: &str,
) -> Result<T, FieldError> {
    let value = values.get(name).unwrap_or(&Value::Null);
    T::deserialize(value).map_err(|_| {
        FieldError::new(format!(
            "the value of `{name}` is not valid; choose it again"
        ))
    })
}

/// Reads one field for a generated values view: `None` when absent, `null` or of the wrong type.
pub fn tolerant<T: DeserializeOwned>(values: &Map<String, Value>, name: &str) -> Option<T> {
    match values.get(name) {
        None | Some(Value::Null) => None,
        Some(value) => T::deserialize(value).ok(),
    }
}

/// Every field that depends on `changed`, directly or through other fields.
fn dependents<S>(fields: &[DynamicField<S>], changed: &str) -> BTreeSet<&'static str> {
    let mut out = BTreeSet::new();
    let mut frontier = vec![changed.to_owned()];
    while let Some(name) = frontier.pop() {
        for field in fields
            .iter()
            .filter(|f| f.depends_on.contains(&name.as_str()))
        {
            if out.insert(field.name) {
                frontier.push(field.name.to_owned());
            }
        }
    }
    out
}

/// Answers a form-state request from the action's providers; see the module docs for the
/// behaviour. Look-ups not done by the context's deadline give their field a timeout error (a
/// saved value is kept) and go on in the background to fill the memo; a provider taking a
/// `Context` gets `ctx` (the one of the call that started the look-up).
///
/// # Errors
/// Only for an unknown `changed_field`; provider failures become field errors.
pub async fn dispatch<A: FormAction, S: Clone + Send + 'static>(
    state: S,
    wire: FormStateRequest,
    fields: &'static [DynamicField<S>],
    memo: MemoScope,
    ctx: Context,
) -> Result<FormStateResponse, InputError> {
    let deadline = ctx.deadline();
    let Parsed {
        changed,
        mut values,
    } = parse::<A>(wire)?;
    if let Some(changed) = changed {
        for dependent in dependents(fields, changed.name()) {
            values.insert(dependent.to_owned(), Value::Null);
        }
    }
    let mut config = A::empty_config();
    let mut pending = Vec::new();
    for field in fields {
        let ready = field.depends_on.iter().all(|d| is_set(values.get(*d)));
        let slot_field =
            A::Field::from_name(field.name).expect("generated providers name real fields");
        if !ready {
            if let Some(mut slot) = A::slot_mut(&mut config, slot_field) {
                slot.state().disabled = true;
            }
            continue;
        }
        let deps: Vec<&Value> = field.depends_on.iter().map(|d| &values[*d]).collect();
        let key = (
            memo.caller.clone(),
            field.name,
            serde_json::to_string(&deps).expect("JSON values serialise"),
        );
        match memo.memo.look_up(key, || {
            (field.provider)(state.clone(), values.clone(), ctx.clone())
        }) {
            Ok(content) => fill::<A>(&mut config, slot_field, &values, Ok(content)),
            Err(flight) => pending.push((slot_field, flight)),
        }
    }
    // The deadline is absolute, so waiting for the flights one after another waits no longer
    // than the slowest of them, capped at the deadline.
    for (slot_field, flight) in pending {
        let result = arrival(flight, deadline).await;
        fill::<A>(&mut config, slot_field, &values, result);
    }
    Ok(FormStateResponse {
        values,
        config: A::config_to_wire(&config),
    })
}

/// Runs a whole-form handler within the context's deadline: past it, the answer is the request's values
/// unchanged and every dynamic field with the timeout error.
///
/// # Errors
/// Only for an unknown `changed_field`.
pub async fn whole_form<A: FormAction, F>(
    wire: FormStateRequest,
    ctx: Context,
    handler: impl FnOnce(FormRequest<A>) -> F,
) -> Result<FormStateResponse, InputError>
where
    F: std::future::Future<Output = super::FormState<A>>,
{
    let request = request::<A>(wire)?;
    let values = request.raw.clone();
    match tokio::time::timeout_at(ctx.deadline(), handler(request)).await {
        Ok(answer) => Ok(answer.into_response()),
        Err(_) => {
            let mut config = A::empty_config();
            for field in A::Field::ALL {
                if let Some(mut slot) = A::slot_mut(&mut config, *field) {
                    slot.state().error = Some(timed_out().message().to_owned());
                }
            }
            Ok(FormStateResponse {
                values,
                config: A::config_to_wire(&config),
            })
        }
    }
}

fn fill<A: FormAction>(
    config: &mut A::Config,
    field: A::Field,
    values: &Map<String, Value>,
    result: Result<Content, FieldError>,
) {
    let Some(slot) = A::slot_mut(config, field) else {
        return;
    };
    match (slot, result) {
        (SlotMut::Select(slot), Ok(Content::Options(options))) => {
            if let Some(stale) = stale_value(values.get(field.name()), &options) {
                slot.state.warning = Some(format!(
                    "`{stale}` is no longer one of the options; pick another or keep it knowingly"
                ));
            }
            slot.options = options;
        }
        (SlotMut::Schema(slot), Ok(Content::Schema(schema))) => slot.schema = schema,
        (mut slot, Err(err)) => slot.state().error = Some(err.message().to_owned()),
        (mut slot, Ok(_)) => {
            slot.state().error = Some("the provider returned the wrong kind of content".to_owned());
        }
    }
}

/// The first saved value (a string, or one of an array of strings) that the options lack.
fn stale_value(value: Option<&Value>, options: &Options) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() && !options.contains(s) => Some(s.clone()),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .find(|s| !options.contains(s))
            .map(str::to_owned),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(
        _: (),
        _: Map<String, Value>,
        _: Context,
    ) -> BoxFuture<Result<Content, FieldError>> {
        Box::pin(async { Ok(Content::Options(Options::default())) })
    }

    #[test]
    fn dependents_are_transitive() {
        let fields = [
            DynamicField {
                name: "b",
                kind: DynamicKind::Select,
                depends_on: &["a"],
                provider,
            },
            DynamicField {
                name: "c",
                kind: DynamicKind::Select,
                depends_on: &["b"],
                provider,
            },
            DynamicField {
                name: "d",
                kind: DynamicKind::Select,
                depends_on: &[],
                provider,
            },
        ];
        assert_eq!(
            dependents(&fields, "a").into_iter().collect::<Vec<_>>(),
            ["b", "c"]
        );
        assert!(dependents(&fields, "d").is_empty());
    }

    #[tokio::test]
    async fn a_panicking_look_up_leaves_the_flight_table_and_is_not_memoised() {
        let memo = Arc::new(FormMemo::new(Duration::from_secs(30)));
        let key = (None, "f", String::from("[]"));
        let deadline = Instant::now() + Duration::from_secs(5);
        let flight = memo
            .look_up(key.clone(), || Box::pin(async { panic!("provider bug") }))
            .expect_err("nothing memoised yet");
        let failed = arrival(flight, deadline)
            .await
            .expect_err("a panic is an error");
        assert_eq!(
            failed.message(),
            "the look-up failed unexpectedly; try again"
        );
        assert!(memo.in_flight.lock().unwrap().is_empty());
        let flight = memo
            .look_up(key.clone(), || {
                provider((), Map::new(), Context::new("req", "test", Duration::ZERO))
            })
            .expect_err("the failure was not memoised");
        assert!(arrival(flight, deadline).await.is_ok());
        assert!(memo.look_up(key, || unreachable!()).is_ok(), "now memoised");
    }

    #[tokio::test]
    async fn a_look_up_that_never_returns_is_dropped_after_the_limit() {
        let memo = Arc::new(FormMemo {
            look_up_limit: Duration::from_millis(20),
            ..FormMemo::new(Duration::from_secs(30))
        });
        let flight = memo
            .look_up((None, "f", String::new()), || {
                Box::pin(std::future::pending())
            })
            .expect_err("in flight");
        let result = arrival(flight, Instant::now() + Duration::from_secs(5)).await;
        assert_eq!(result, Err(timed_out()));
        assert!(
            memo.in_flight.lock().unwrap().is_empty(),
            "the next call tries again"
        );
    }

    #[tokio::test]
    async fn waiting_stops_at_the_deadline() {
        let memo = Arc::new(FormMemo::new(Duration::from_secs(30)));
        let flight = memo
            .look_up((None, "f", String::new()), || {
                Box::pin(std::future::pending())
            })
            .expect_err("in flight");
        let result = arrival(flight, Instant::now() + Duration::from_millis(10)).await;
        assert_eq!(result, Err(timed_out()));
    }

    #[test]
    fn stale_values_are_found() {
        let options: Options = [super::super::Choice::new("a", "A")].into_iter().collect();
        assert_eq!(
            stale_value(Some(&Value::from("b")), &options),
            Some("b".into())
        );
        assert_eq!(stale_value(Some(&Value::from("a")), &options), None);
        assert_eq!(
            stale_value(Some(&serde_json::json!(["a", "z"])), &options),
            Some("z".into())
        );
        assert!(!is_set(Some(&Value::from(""))) && is_set(Some(&Value::from(0))));
    }
}
