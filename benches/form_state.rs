//! One form-state dispatch through `Runtime::form_state`, against a hand-written baseline that
//! calls the same providers and builds the same answer.
//!
//! The action has four dynamic fields over an in-memory catalog (two dropdowns, a dropdown that
//! depends on the first, and a sub-schema that depends on the second). The memo is off, so every
//! provider runs on every call. The request is a change of `audience_id`: the dependent
//! `segment_id` is cleared and recomputed, and the three other fields are computed as well.
//!
//! Both variants run as a task of a tokio runtime, as a server's request task would: on a
//! multi-thread runtime (one worker per core), where the framework's provider tasks may run in
//! parallel on the other core, and on a current-thread runtime, where they cannot, so that the
//! difference there is the framework's CPU cost alone. After criterion's report, `cargo bench` also runs both variants interleaved, one call
//! at a time, and prints the p50/p99 of each and of the framework's share (the difference).
//! Under `cargo test` criterion runs each variant once and the measured loop is skipped.
//!
//! A second case has one provider that hangs among fast ones: `cargo bench` reports the answer's
//! latency against the form-state budget (the slow field answers with its timeout error).

mod common;

use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actionkit::form_state::{Choice, FieldError, FormStateRequest, Options, Schema};
use actionkit::runtime::Runtime;
use actionkit::{Action, ActionError, State};
use criterion::{BenchmarkId, Criterion};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use common::{bench_mode, micros, quantile};

const ACTION: &str = "bench_send";

/// Per-call timings taken after criterion: discarded warm-up calls, then measured calls, of each
/// variant.
const WARM_UP_CALLS: usize = 2_000;
const MEASURED_CALLS: usize = 50_000;

/// The goal from the issue: the framework's own share of a call, at p99.
const GOAL_P99: Duration = Duration::from_micros(50);

// The catalog: static data, so providers return at once.

struct Audience {
    id: &'static str,
    name: &'static str,
    segments: &'static [(&'static str, &'static str)],
}

struct Template {
    id: &'static str,
    name: &'static str,
    variables: &'static [&'static str],
}

const AUDIENCES: &[Audience] = &[
    Audience {
        id: "aud_customers",
        name: "Customers",
        segments: &[
            ("seg_active", "Active in the last 30 days"),
            ("seg_trial", "On a trial"),
        ],
    },
    Audience {
        id: "aud_newsletter",
        name: "Newsletter subscribers",
        segments: &[
            ("seg_weekly", "Weekly digest"),
            ("seg_monthly", "Monthly digest"),
        ],
    },
    Audience {
        id: "aud_partners",
        name: "Partners",
        segments: &[("seg_resellers", "Resellers")],
    },
];

const TEMPLATES: &[Template] = &[
    Template {
        id: "tpl_welcome",
        name: "Welcome",
        variables: &["first_name"],
    },
    Template {
        id: "tpl_invoice",
        name: "Invoice reminder",
        variables: &["first_name", "amount_due", "due_date"],
    },
    Template {
        id: "tpl_status",
        name: "Status update",
        variables: &["first_name", "status"],
    },
];

/// The application state: a handle on the catalog.
#[derive(Clone, Copy, Debug, Default)]
struct Catalog;

/// Send an email to a mailing list.
#[derive(Action, Deserialize, Debug)]
#[allow(dead_code)]
#[action(id = "bench_send", execute = send, state = Catalog)]
struct BenchSend {
    #[field(options = audiences)]
    audience_id: String,
    #[field(options = segments, depends_on(audience_id))]
    segment_id: Option<String>,
    #[field(options = templates)]
    template_id: String,
    #[field(schema = variables, depends_on(template_id))]
    variables: Option<Map<String, Value>>,
    message: Option<String>,
}

async fn send(_input: BenchSend) -> Result<(), ActionError> {
    Ok(())
}

/// One look-up that hangs, among fast ones.
#[derive(Action, Deserialize, Debug)]
#[allow(dead_code)]
#[action(id = "bench_slow", execute = slow, state = Catalog)]
struct BenchSlow {
    #[field(options = audiences)]
    audience_id: String,
    #[field(options = hanging)]
    region: String,
    #[field(options = templates)]
    template_id: String,
}

async fn slow(_input: BenchSlow) -> Result<(), ActionError> {
    Ok(())
}

async fn hanging(State(_): State<Catalog>) -> Result<Options, FieldError> {
    tokio::time::sleep(Duration::from_secs(3_600)).await;
    Ok(Options::default())
}

/// The budget of the slow case, and how many calls it measures.
const SLOW_BUDGET: Duration = Duration::from_millis(50);
const SLOW_CALLS: usize = 100;

/// Answers with one hanging provider: each call waits for the budget, then answers with the
/// slow field's timeout error (the hanging look-up is shared by every call, never repeated).
fn slow_case(flavor: &Flavor) {
    let app = Arc::new(
        Runtime::new(Catalog)
            .form_state_budget(SLOW_BUDGET)
            .action::<BenchSlow>(),
    );
    let mut took = flavor.run(async move {
        let mut took = Vec::with_capacity(SLOW_CALLS);
        for _ in 0..SLOW_CALLS {
            let start = Instant::now();
            let response = app
                .form_state("bench_slow", FormStateRequest::default())
                .await
                .expect("form state answers");
            took.push(start.elapsed());
            assert!(response.config["region"]["error"].is_string());
            assert!(response.config["audience_id"].get("error").is_none());
        }
        took
    });
    took.sort_unstable();
    let p99 = quantile(&took, 0.99);
    println!(
        "
form_state/slow_provider/{}: {SLOW_CALLS} calls, budget {} ms (ms per call)
  p50 {:.2}  p99 {:.2}  p99 past the budget {:.2}",
        flavor.name,
        SLOW_BUDGET.as_millis(),
        micros(quantile(&took, 0.50)) / 1_000.0,
        micros(p99) / 1_000.0,
        micros(p99.saturating_sub(SLOW_BUDGET)) / 1_000.0,
    );
}

async fn audiences(State(_): State<Catalog>) -> Result<Options, FieldError> {
    Ok(AUDIENCES
        .iter()
        .map(|a| Choice::new(a.id, a.name))
        .collect())
}

async fn segments(State(_): State<Catalog>, audience_id: &str) -> Result<Options, FieldError> {
    let audience = AUDIENCES
        .iter()
        .find(|a| a.id == audience_id)
        .ok_or_else(|| FieldError::new("pick an audience first"))?;
    Ok(audience
        .segments
        .iter()
        .map(|(id, name)| Choice::new(*id, *name))
        .collect())
}

async fn templates(State(_): State<Catalog>) -> Result<Options, FieldError> {
    Ok(TEMPLATES
        .iter()
        .map(|t| Choice::new(t.id, t.name))
        .collect())
}

async fn variables(State(_): State<Catalog>, template_id: &str) -> Result<Schema, FieldError> {
    let template = TEMPLATES
        .iter()
        .find(|t| t.id == template_id)
        .ok_or_else(|| FieldError::new("pick a template first"))?;
    Ok(Schema::object(
        template.variables.iter().map(|v| (*v, "string")),
    ))
}

// The baseline: what a hand-written endpoint does for the same form.

/// Answers the form by hand: clears the segment when the audience changed, calls the four
/// providers one after another and writes the config entries itself.
async fn by_hand(catalog: Catalog, request: FormStateRequest) -> Value {
    let mut values = request.values;
    if request.changed_field.as_deref() == Some("audience_id") {
        values.insert("segment_id".to_owned(), Value::Null);
    }
    let audience = set_string(&values, "audience_id");
    let template = set_string(&values, "template_id");
    let mut config = Map::new();
    let entry = select(audiences(State(catalog)).await, values.get("audience_id"));
    config.insert("audience_id".to_owned(), entry);
    let entry = match &audience {
        Some(id) => select(segments(State(catalog), id).await, values.get("segment_id")),
        None => disabled(),
    };
    config.insert("segment_id".to_owned(), entry);
    let entry = select(templates(State(catalog)).await, values.get("template_id"));
    config.insert("template_id".to_owned(), entry);
    let entry = match &template {
        Some(id) => match variables(State(catalog), id).await {
            Ok(schema) => json!({"options": [], "schema": schema.0}),
            Err(err) => failed(&err),
        },
        None => disabled(),
    };
    config.insert("variables".to_owned(), entry);
    json!({"values": values, "config": config})
}

fn set_string(values: &Map<String, Value>, name: &str) -> Option<String> {
    values
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn select(options: Result<Options, FieldError>, saved: Option<&Value>) -> Value {
    let options = match options {
        Ok(options) => options,
        Err(err) => return failed(&err),
    };
    let stale = saved
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && !options.contains(s))
        .map(str::to_owned);
    let choices: Vec<Value> = options
        .0
        .into_iter()
        .map(|c| json!({"value": c.value, "label": c.label}))
        .collect();
    let mut entry = json!({"options": choices, "schema": {}});
    if let Some(stale) = stale {
        entry["warning"] =
            format!("`{stale}` is no longer one of the options; pick another or keep it knowingly")
                .into();
    }
    entry
}

fn disabled() -> Value {
    json!({"options": [], "schema": {}, "disabled": true})
}

fn failed(err: &FieldError) -> Value {
    json!({"options": [], "schema": {}, "error": err.message()})
}

// The measurement.

/// A person picks another audience while a segment and a template are set.
fn change_request() -> FormStateRequest {
    serde_json::from_value(json!({
        "values": {
            "audience_id": "aud_newsletter",
            "segment_id": "seg_active",
            "template_id": "tpl_invoice",
            "message": "Hello {{first_name}}"
        },
        "changed_field": "audience_id"
    }))
    .expect("a wire request")
}

fn app() -> Arc<Runtime<Catalog>> {
    Arc::new(
        Runtime::new(Catalog)
            .form_cache_ttl(Duration::ZERO)
            .action::<BenchSend>(),
    )
}

async fn framework(app: &Runtime<Catalog>, request: FormStateRequest) -> Value {
    let response = app
        .form_state(ACTION, request)
        .await
        .expect("form state answers");
    Value::Object(Map::from_iter([
        ("values".to_owned(), Value::Object(response.values)),
        ("config".to_owned(), Value::Object(response.config)),
    ]))
}

/// A tokio runtime to measure on.
struct Flavor {
    name: &'static str,
    tokio: tokio::runtime::Runtime,
}

impl Flavor {
    /// A multi-thread runtime with one worker per core, as a server runs, and a current-thread
    /// runtime, where the providers' tasks cannot run in parallel on the other core: there the
    /// difference is the framework's CPU cost alone.
    fn all() -> [Flavor; 2] {
        let multi = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let current = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        [
            Flavor {
                name: "multi_thread",
                tokio: multi,
            },
            Flavor {
                name: "current_thread",
                tokio: current,
            },
        ]
    }

    /// Runs `future` as a task of the runtime (on a worker, not on the thread that blocks on
    /// it), as a server's request task.
    fn run<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tokio
            .block_on(self.tokio.spawn(future))
            .expect("the bench task does not panic")
    }
}

/// Both variants answer the same JSON, and it is the expected cascade.
fn check_agreement(flavor: &Flavor, app: &Arc<Runtime<Catalog>>) {
    let app = app.clone();
    let (ours, theirs) = flavor.run(async move {
        let ours = framework(&app, change_request()).await;
        let theirs = by_hand(Catalog, change_request()).await;
        (ours, theirs)
    });
    assert_eq!(ours, theirs, "the baseline answers what actionkit answers");
    assert_eq!(ours["values"]["segment_id"], Value::Null, "cleared");
    assert_eq!(
        ours["config"]["segment_id"]["options"][0]["value"],
        "seg_weekly"
    );
    assert_eq!(
        ours["config"]["variables"]["schema"]["properties"]
            .as_object()
            .map(Map::len),
        Some(3)
    );
}

/// Per-call totals of what criterion ran (warm-up included), to subtract the means in one run.
#[derive(Default)]
struct Totals {
    iters: u64,
    elapsed: Duration,
}

impl Totals {
    fn add(&mut self, iters: u64, elapsed: Duration) -> Duration {
        self.iters += iters;
        self.elapsed += elapsed;
        elapsed
    }

    fn mean(&self) -> f64 {
        micros(self.elapsed) / self.iters.max(1) as f64
    }
}

fn criterion_run(c: &mut Criterion, flavors: &[Flavor], app: &Arc<Runtime<Catalog>>) {
    let mut group = c.benchmark_group("form_state");
    for flavor in flavors {
        let mut ours = Totals::default();
        let mut theirs = Totals::default();
        group.bench_function(BenchmarkId::new("actionkit", flavor.name), |b| {
            b.iter_custom(|iters| {
                let app = app.clone();
                let request = change_request();
                let elapsed = flavor.run(async move {
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(framework(&app, request.clone()).await);
                    }
                    start.elapsed()
                });
                ours.add(iters, elapsed)
            });
        });
        group.bench_function(BenchmarkId::new("baseline", flavor.name), |b| {
            b.iter_custom(|iters| {
                let request = change_request();
                let elapsed = flavor.run(async move {
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(by_hand(Catalog, request.clone()).await);
                    }
                    start.elapsed()
                });
                theirs.add(iters, elapsed)
            });
        });
        if bench_mode() {
            println!(
                "form_state/{}: criterion means (warm-up included) actionkit {:.2} µs, baseline {:.2} µs, framework share {:.2} µs per call\n",
                flavor.name,
                ours.mean(),
                theirs.mean(),
                ours.mean() - theirs.mean(),
            );
        }
    }
    group.finish();
}

/// Times every call of both variants, interleaved so both see the same noise.
fn per_call_timings(
    flavor: &Flavor,
    app: &Arc<Runtime<Catalog>>,
) -> (Vec<Duration>, Vec<Duration>) {
    let app = app.clone();
    flavor.run(async move {
        let request = change_request();
        let mut ours = Vec::with_capacity(MEASURED_CALLS);
        let mut theirs = Vec::with_capacity(MEASURED_CALLS);
        for i in 0..WARM_UP_CALLS + MEASURED_CALLS {
            let (a, b) = if i % 2 == 0 {
                let a = timed(framework(&app, request.clone())).await;
                (a, timed(by_hand(Catalog, request.clone())).await)
            } else {
                let b = timed(by_hand(Catalog, request.clone())).await;
                (timed(framework(&app, request.clone())).await, b)
            };
            if i >= WARM_UP_CALLS {
                ours.push(a);
                theirs.push(b);
            }
        }
        (ours, theirs)
    })
}

async fn timed(call: impl Future<Output = Value>) -> Duration {
    let start = Instant::now();
    black_box(call.await);
    start.elapsed()
}

fn report(flavor: &Flavor, mut ours: Vec<Duration>, mut theirs: Vec<Duration>) {
    ours.sort_unstable();
    theirs.sort_unstable();
    let mean = |v: &[Duration]| micros(v.iter().sum::<Duration>()) / v.len() as f64;
    let row = |name: &str, v: &[Duration]| {
        println!(
            "  {name:<10} {:>9.2} {:>9.2} {:>9.2}",
            mean(v),
            micros(quantile(v, 0.50)),
            micros(quantile(v, 0.99)),
        );
    };
    println!(
        "\nform_state/{}: {MEASURED_CALLS} calls of each variant, interleaved (µs per call)\n  {:<10} {:>9} {:>9} {:>9}",
        flavor.name, "", "mean", "p50", "p99"
    );
    row("actionkit", &ours);
    row("baseline", &theirs);
    let p99 = micros(quantile(&ours, 0.99)) - micros(quantile(&theirs, 0.99));
    println!(
        "  {:<10} {:>9.2} {:>9.2} {:>9.2}",
        "framework",
        mean(&ours) - mean(&theirs),
        micros(quantile(&ours, 0.50)) - micros(quantile(&theirs, 0.50)),
        p99,
    );
    println!(
        "  goal: framework share < {} µs at p99: {}",
        GOAL_P99.as_micros(),
        if p99 < micros(GOAL_P99) {
            "met"
        } else {
            "NOT met"
        }
    );
}

fn main() {
    let flavors = Flavor::all();
    let app = app();
    for flavor in &flavors {
        check_agreement(flavor, &app);
    }
    let mut criterion = Criterion::default().configure_from_args();
    criterion_run(&mut criterion, &flavors, &app);
    criterion.final_summary();
    if bench_mode() {
        for flavor in &flavors {
            let (ours, theirs) = per_call_timings(flavor, &app);
            report(flavor, ours, theirs);
        }
        for flavor in &flavors {
            slow_case(flavor);
        }
    }
}
