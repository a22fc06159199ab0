//! Form state on a budget, over real HTTP: a hanging look-up is a timeout error on its field
//! while the others answer; a late answer fills the memo for the next call; identical look-ups
//! in flight share one provider call; a whole-form handler past its budget answers every
//! dynamic field with the error.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actionkit::form_state::{Choice, FieldError, FormRequest, FormState, Options, SelectConfig};
use actionkit::platform::stripe::{Stripe, StripeContext};
use actionkit::server::{App, ServerConfig};
use actionkit::signature::stripe;
use actionkit::store::MemoryStore;
use actionkit::testing::Simulator;
use actionkit::{Action, ActionError, Context, State};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::harness::{SECRET, now};

const TIMED_OUT: &str = "the look-up timed out; try again in a moment";

/// What a provider saw of its context: platform, request id, time left.
type Seen = (&'static str, String, Duration);

/// What the providers did, and how slow the country look-up is.
#[derive(Clone, Default)]
struct Lookups {
    /// Country look-ups started.
    country_calls: Arc<AtomicUsize>,
    /// Country look-ups finished.
    country_done: Arc<AtomicUsize>,
    /// How long the next country look-up takes, in milliseconds.
    country_ms: Arc<AtomicU64>,
    /// How long the whole-form handler takes, in milliseconds.
    form_ms: Arc<AtomicU64>,
    /// Warehouse look-ups started.
    warehouse_calls: Arc<AtomicUsize>,
    /// What the carrier look-up saw of its context: platform, request id, time left.
    seen: Arc<std::sync::Mutex<Option<Seen>>>,
}

/// Ship a parcel.
#[derive(Action, Deserialize, Debug)]
#[allow(dead_code)]
#[action(id = "ship", execute = ship, state = Lookups)]
struct Ship {
    #[field(options = countries)]
    country: String,
    #[field(options = currencies)]
    currency: String,
    #[field(options = carriers, depends_on(currency))]
    carrier: Option<String>,
    #[field(options = warehouses)]
    warehouse: Option<String>,
}

/// The calling account's warehouses: read from the platform's extension in the `Context`.
async fn warehouses(ctx: Context, State(lookups): State<Lookups>) -> Result<Options, FieldError> {
    lookups.warehouse_calls.fetch_add(1, Ordering::SeqCst);
    let account = ctx
        .extension::<StripeContext>()
        .and_then(StripeContext::account)
        .unwrap_or("nobody");
    Ok(options(&[&format!("{account}_main")]))
}

async fn ship(_input: Ship) -> Result<(), ActionError> {
    Ok(())
}

fn options(values: &[&str]) -> Options {
    values.iter().map(|v| Choice::new(*v, *v)).collect()
}

async fn countries(State(lookups): State<Lookups>) -> Result<Options, FieldError> {
    lookups.country_calls.fetch_add(1, Ordering::SeqCst);
    // The next look-up is fast: "slow once, then fast".
    let ms = lookups.country_ms.swap(0, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    lookups.country_done.fetch_add(1, Ordering::SeqCst);
    Ok(options(&["DE", "FR"]))
}

async fn currencies(State(_): State<Lookups>) -> Result<Options, FieldError> {
    Ok(options(&["EUR", "USD"]))
}

async fn carriers(
    ctx: Context,
    State(lookups): State<Lookups>,
    currency: &str,
) -> Result<Options, FieldError> {
    *lookups.seen.lock().unwrap() =
        Some((ctx.platform(), ctx.request_id().to_owned(), ctx.remaining()));
    Ok(options(&[&format!("post-{currency}")]))
}

/// Pick a plan, with its own 100 ms budget.
#[derive(Action, Deserialize, Debug)]
#[allow(dead_code)]
#[action(id = "plan", execute = plan, state = Lookups, form_state = plan_form, form_state_budget_ms = 100)]
struct Plan {
    #[field(dynamic_select)]
    tier: String,
    #[field(dynamic_select)]
    seats: Option<String>,
}

async fn plan(_input: Plan) -> Result<(), ActionError> {
    Ok(())
}

async fn plan_form(State(lookups): State<Lookups>, req: FormRequest<Plan>) -> FormState<Plan> {
    let ms = lookups.form_ms.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    FormState::new(
        &req,
        PlanConfig {
            tier: SelectConfig::with_options(options(&["free", "team"])),
            seats: SelectConfig::with_options(options(&["5"])),
        },
    )
}

struct Served {
    addr: std::net::SocketAddr,
    client: reqwest::Client,
    stop: oneshot::Sender<()>,
}

async fn serve(lookups: Lookups, config: ServerConfig) -> Served {
    let config = config
        .platform(Stripe::new([SECRET]).expect("valid secret"))
        .store(Arc::new(MemoryStore::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let app = App::new(lookups).action::<Ship>().action::<Plan>();
    tokio::spawn(async move {
        app.serve_on(listener, &config, async move {
            let _ = stopped.await;
        })
        .await
    });
    Served {
        addr,
        client: reqwest::Client::new(),
        stop,
    }
}

impl Served {
    /// One signed `get_form_state` call: status, body and how long the answer took.
    async fn form(&self, action: &str, values: Value) -> (u16, Value, Duration) {
        self.form_as(action, values, Value::Null).await
    }

    /// [`Served::form`] with Stripe's execution `context` (the calling account).
    async fn form_as(&self, action: &str, values: Value, context: Value) -> (u16, Value, Duration) {
        let body = serde_json::to_vec(
            &json!({"id": "req_form_1", "values": values, "changed_field": null, "context": context}),
        )
        .unwrap();
        let started = Instant::now();
        let response = self
            .client
            .post(format!(
                "http://{}/stripe/{action}/get_form_state",
                self.addr
            ))
            .header("content-type", "application/json")
            .header("Stripe-Signature", stripe::sign(SECRET, now(), &body))
            .body(body)
            .send()
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        let json: Value = response.json().await.expect("a JSON body");
        (status, json, started.elapsed())
    }
}

/// Waits until `count` reaches `n` (a detached look-up finishing in the background).
async fn until(count: &AtomicUsize, n: usize) {
    let give_up = Instant::now() + Duration::from_secs(5);
    while count.load(Ordering::SeqCst) < n {
        assert!(Instant::now() < give_up, "the background look-up finished");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_hanging_look_up_is_a_timeout_on_its_field_and_the_others_answer() {
    let lookups = Lookups::default();
    lookups.country_ms.store(8_000, Ordering::SeqCst);
    // The default budget, 400 ms.
    let server = serve(lookups.clone(), ServerConfig::new()).await;
    let (status, body, took) = server
        .form("ship", json!({"country": "DE", "currency": "EUR"}))
        .await;
    assert_eq!(status, 200);
    assert!(
        took >= Duration::from_millis(390) && took < Duration::from_millis(700),
        "answered at the budget, not after the 8 s look-up: {took:?}"
    );
    assert_eq!(body["config"]["country"]["error"], TIMED_OUT);
    assert_eq!(body["config"]["country"]["options"], json!([]));
    assert_eq!(body["values"]["country"], "DE", "the saved value is kept");
    assert_eq!(
        body["config"]["currency"],
        json!({"options": [{"value": "EUR", "label": "EUR"}, {"value": "USD", "label": "USD"}], "schema": {}})
    );
    assert_eq!(
        body["config"]["carrier"]["options"],
        json!([{"value": "post-EUR", "label": "post-EUR"}])
    );
    // The carrier provider takes a `Context` first.
    let (platform, request_id, remaining) = lookups.seen.lock().unwrap().clone().expect("called");
    assert_eq!((platform, request_id.as_str()), ("stripe", "req_form_1"));
    assert!(
        remaining > Duration::ZERO && remaining <= Duration::from_millis(400),
        "the time left of the budget: {remaining:?}"
    );
    let _ = server.stop.send(());
}

#[tokio::test]
async fn a_late_answer_fills_the_memo_for_the_next_call() {
    let lookups = Lookups::default();
    lookups.country_ms.store(300, Ordering::SeqCst);
    let server = serve(
        lookups.clone(),
        ServerConfig::new().form_state_budget(Duration::from_millis(100)),
    )
    .await;
    let (status, first, took) = server.form("ship", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(first["config"]["country"]["error"], TIMED_OUT);
    assert!(took < Duration::from_millis(290), "{took:?}");
    // The look-up goes on after the call answered, and lands in the memo.
    until(&lookups.country_done, 1).await;
    let (status, second, _) = server.form("ship", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(second["config"]["country"].get("error"), None);
    assert_eq!(
        second["config"]["country"]["options"],
        json!([{"value": "DE", "label": "DE"}, {"value": "FR", "label": "FR"}])
    );
    assert_eq!(
        lookups.country_calls.load(Ordering::SeqCst),
        1,
        "the second call is served from the memo"
    );
    let _ = server.stop.send(());
}

#[tokio::test]
async fn concurrent_identical_calls_run_the_provider_once() {
    let lookups = Lookups::default();
    lookups.country_ms.store(150, Ordering::SeqCst);
    let server = serve(lookups.clone(), ServerConfig::new()).await;
    let (a, b) = tokio::join!(
        server.form("ship", json!({})),
        server.form("ship", json!({}))
    );
    for (status, body, _) in [&a, &b] {
        assert_eq!(*status, 200);
        assert_eq!(body["config"]["country"]["options"][0]["value"], "DE");
        assert_eq!(body["config"]["country"].get("error"), None);
    }
    assert_eq!(lookups.country_calls.load(Ordering::SeqCst), 1);
    let _ = server.stop.send(());
}

#[tokio::test]
async fn a_whole_form_handler_past_its_own_budget_errors_every_dynamic_field() {
    let lookups = Lookups::default();
    lookups.form_ms.store(5_000, Ordering::SeqCst);
    // The app's budget is long; the action's own 100 ms applies.
    let server = serve(
        lookups.clone(),
        ServerConfig::new().form_state_budget(Duration::from_secs(3)),
    )
    .await;
    let (status, body, took) = server.form("plan", json!({"tier": "team"})).await;
    assert_eq!(status, 200);
    assert!(took < Duration::from_millis(400), "{took:?}");
    assert_eq!(body["values"], json!({"tier": "team"}), "values unchanged");
    for field in ["tier", "seats"] {
        assert_eq!(body["config"][field]["error"], TIMED_OUT, "{field}");
    }
    lookups.form_ms.store(0, Ordering::SeqCst);
    let (status, body, _) = server.form("plan", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(body["config"]["tier"].get("error"), None);
    assert_eq!(body["config"]["seats"]["options"][0]["value"], "5");
    let _ = server.stop.send(());
}

#[tokio::test]
async fn a_provider_reads_the_calling_account_and_the_memo_is_kept_per_account() {
    let lookups = Lookups::default();
    let server = serve(lookups.clone(), ServerConfig::new()).await;
    let as_account = |account: &str| json!({"stripe_context": account, "livemode": false});
    let mut answers = Vec::new();
    for account in ["acct_a", "acct_b", "acct_a"] {
        let (status, body, _) = server.form_as("ship", json!({}), as_account(account)).await;
        assert_eq!(status, 200);
        answers.push(body["config"]["warehouse"]["options"][0]["value"].clone());
    }
    assert_eq!(answers, ["acct_a_main", "acct_b_main", "acct_a_main"]);
    assert_eq!(
        lookups.warehouse_calls.load(Ordering::SeqCst),
        2,
        "one look-up per account; the second call of `acct_a` is served from its memo"
    );
    let _ = server.stop.send(());
}

#[tokio::test]
async fn the_simulator_shows_a_slow_look_up_keeping_to_the_budget() {
    let lookups = Lookups::default();
    lookups.country_ms.store(5_000, Ordering::SeqCst);
    let sim = Simulator::new(App::new(lookups).action::<Ship>().action::<Plan>())
        .form_state_budget(Duration::from_millis(100));
    let form = sim.form::<Ship>().load().await;
    assert_eq!(
        form.config(ShipField::Country).error.as_deref(),
        Some(TIMED_OUT)
    );
    assert_eq!(form.options(ShipField::Currency).len(), 2);
    assert!(
        form.elapsed() >= Duration::from_millis(100) && form.elapsed() < Duration::from_millis(400),
        "{:?}",
        form.elapsed()
    );
}
