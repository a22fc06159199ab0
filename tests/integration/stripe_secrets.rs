//! Stripe's Secret Store read by handlers, against a fake Stripe API this module starts on
//! 127.0.0.1: the request is Stripe's (path, query, bearer key, `Stripe-Account`), found secrets
//! reach the handler per account, a missing one is a permanent failure, outages, rate limits and
//! slowness are transient (not recorded, so a retry runs again), reads are cached and
//! single-flight, and neither the API key nor a secret's value shows in answers or logs.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actionkit::platform::stripe::{
    FakeSecretStore, Stripe, StripeContext, StripeSecrets, StripeSimulation,
};
use actionkit::prelude::*;
use actionkit::server::ServerConfig;
use actionkit::signature::stripe;
use actionkit::store::MemoryStore;
use actionkit::testing::Simulator;
use axum::body::Body;
use axum::http::Request;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::fixtures::send_email::input::SendEmail;
use crate::fixtures::send_email::mailer::Mailer;
use crate::harness::{SECRET, now};
use crate::support::{in_logging_child, run_child, temp_path};

/// The app's secret key the fake Stripe API expects.
const API_KEY: &str = "sk_test_fake_stripe_api_key_never_shown";

/// What the fake answers for one (account, name).
#[derive(Clone)]
enum Answer {
    Found(&'static str),
    Status(u16),
}

/// One request the fake received.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    query: Vec<(String, String)>,
    authorization: Option<String>,
    account: Option<String>,
}

#[derive(Default)]
struct FakeState {
    answers: HashMap<(String, String), Answer>,
    delay: Duration,
    seen: Vec<Seen>,
}

/// A fake Stripe API on 127.0.0.1, owned by the test.
#[derive(Clone)]
struct FakeStripe {
    url: String,
    state: Arc<Mutex<FakeState>>,
}

impl FakeStripe {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(FakeState::default()));
        let served = state.clone();
        let router = axum::Router::new().fallback(move |request: Request<Body>| {
            let state = served.clone();
            async move { answer(&state, request).await }
        });
        tokio::spawn(async move { axum::serve(listener, router).await });
        FakeStripe { url, state }
    }

    fn set(&self, account: &str, name: &str, answer: Answer) {
        let mut state = self.state.lock().unwrap();
        state.answers.insert((account.into(), name.into()), answer);
    }

    fn delay(&self, delay: Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }
}

async fn answer(state: &Mutex<FakeState>, request: Request<Body>) -> Response {
    // The body is not `Sync`: keep only the head across the wait.
    let (request, _) = request.into_parts();
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let query: Vec<(String, String)> = reqwest::Url::parse(&format!("http://fake{}", request.uri))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let seen = Seen {
        path: request.uri.path().to_owned(),
        query: query.clone(),
        authorization: header("authorization"),
        account: header("stripe-account"),
    };
    let name = query
        .iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let (answer, delay) = {
        let mut state = state.lock().unwrap();
        let key = (seen.account.clone().unwrap_or_default(), name.clone());
        state.seen.push(seen.clone());
        (state.answers.get(&key).cloned(), state.delay)
    };
    tokio::time::sleep(delay).await;
    let json = |status: u16, body: Value| {
        (
            axum::http::StatusCode::from_u16(status).unwrap(),
            [("content-type", "application/json")],
            body.to_string(),
        )
            .into_response()
    };
    if seen.authorization.as_deref() != Some(&format!("Bearer {API_KEY}")) {
        return json(
            401,
            json!({"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}),
        );
    }
    match answer {
        Some(Answer::Found(payload)) => json(
            200,
            json!({"id": "appsecret_1", "object": "apps.secret", "created": 1_700_000_000, "expires_at": null,
                   "livemode": false, "name": name, "scope": {"type": "account"}, "payload": payload}),
        ),
        Some(Answer::Status(status)) => json(
            status,
            json!({"error": {"type": "api_error", "message": "something went wrong"}}),
        ),
        None => json(
            404,
            json!({"error": {"type": "invalid_request_error", "code": "resource_missing", "message": format!("No such secret: '{name}'")}}),
        ),
    }
}

/// Answers with the calling account's `email_api_key` (a test action: real handlers never
/// return a secret).
#[derive(Action, Serialize, Deserialize, Debug)]
#[action(id = "show_key", execute = show_key)]
struct ShowKey {}

async fn show_key(secrets: StripeSecrets, _: ShowKey) -> Result<Value, ActionError> {
    let key = secrets.get("email_api_key").await?;
    Ok(json!({"account": secrets.account(), "key": key.expose()}))
}

/// The test action served for Stripe, reading secrets from `fake`.
struct Server {
    url: String,
    client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    async fn start(fake: &FakeStripe, deadline: Duration) -> Server {
        let config = ServerConfig::new()
            .platform(
                Stripe::new([SECRET])
                    .unwrap()
                    .secret_store(API_KEY, &fake.url)
                    .unwrap(),
            )
            .store(Arc::new(MemoryStore::new()))
            .deadline(deadline);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            App::new(())
                .action::<ShowKey>()
                .serve_on(listener, &config, async move {
                    let _ = stopped.await;
                })
                .await
        });
        Server {
            url,
            client: reqwest::Client::new(),
            stop: Some(stop),
        }
    }

    /// Executes `show_key` as request `id` for `account`.
    async fn execute(&self, id: &str, account: Option<&str>) -> (u16, Value) {
        let context = match account {
            Some(account) => {
                json!({"type": "remote_function", "livemode": false, "stripe_context": account})
            }
            None => json!({"type": "remote_function"}),
        };
        let body =
            serde_json::to_vec(&json!({"id": id, "custom_input": {}, "context": context})).unwrap();
        let response = self
            .client
            .post(format!("{}/stripe/show_key/execute", self.url))
            .header("content-type", "application/json")
            .header("Stripe-Signature", stripe::sign(SECRET, now(), &body))
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert!(
            !text.contains(API_KEY),
            "an answer shows the API key: {text}"
        );
        (status, serde_json::from_str(&text).unwrap())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[tokio::test]
async fn found_secrets_reach_each_account_with_stripes_request() {
    let fake = FakeStripe::start().await;
    fake.set("acct_1", "email_api_key", Answer::Found("key_of_acct_1"));
    fake.set("acct_2", "email_api_key", Answer::Found("key_of_acct_2"));
    let server = Server::start(&fake, Duration::from_secs(5)).await;
    for (id, account) in [
        ("req_1", "acct_1"),
        ("req_2", "acct_2"),
        ("req_3", "acct_1"),
    ] {
        let (status, body) = server.execute(id, Some(account)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["output"],
            json!({"account": account, "key": format!("key_of_{account}")}),
            "two accounts never mixed"
        );
    }
    let seen = fake.seen();
    assert_eq!(seen.len(), 2, "acct_1's second read is cached: {seen:?}");
    for (seen, account) in seen.iter().zip(["acct_1", "acct_2"]) {
        assert_eq!(seen.path, "/v1/apps/secrets/find");
        let query = |key: &str| {
            seen.query
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(query("name"), ["email_api_key"]);
        assert_eq!(query("scope[type]"), ["account"]);
        assert_eq!(query("expand[]"), ["payload"], "the payload is expandable");
        assert_eq!(
            seen.authorization.as_deref(),
            Some(format!("Bearer {API_KEY}").as_str())
        );
        assert_eq!(seen.account.as_deref(), Some(account));
    }
}

#[tokio::test]
async fn a_missing_secret_is_permanent_and_asks_to_complete_the_settings() {
    let fake = FakeStripe::start().await;
    let server = Server::start(&fake, Duration::from_secs(5)).await;
    let (status, body) = server.execute("req_missing", Some("acct_new")).await;
    assert!((400..500).contains(&status), "{status} {body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`email_api_key`") && message.contains("complete the app's settings"),
        "{message}"
    );
    // Recorded like any permanent failure: the retry replays it without asking Stripe again.
    fake.set("acct_new", "email_api_key", Answer::Found("late"));
    assert_eq!(
        server.execute("req_missing", Some("acct_new")).await,
        (status, body)
    );
    assert_eq!(fake.seen().len(), 1);
}

#[tokio::test]
async fn outages_and_rate_limits_are_transient_and_the_retry_runs_again() {
    let fake = FakeStripe::start().await;
    let server = Server::start(&fake, Duration::from_secs(5)).await;
    for (status, account) in [(500, "acct_down"), (503, "acct_down2"), (429, "acct_busy")] {
        fake.set(account, "email_api_key", Answer::Status(status));
        let id = format!("req_{account}");
        let (answered, body) = server.execute(&id, Some(account)).await;
        assert!(
            (500..600).contains(&answered),
            "{status}: {answered} {body}"
        );
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(&format!("HTTP {status}")), "{message}");
        // Not recorded, not cached: once Stripe is back, the same request id runs again.
        fake.set(account, "email_api_key", Answer::Found("back"));
        let (answered, body) = server.execute(&id, Some(account)).await;
        assert_eq!(answered, 200, "{body}");
        assert_eq!(body["output"]["key"], "back");
    }
    assert_eq!(fake.seen().len(), 6);
}

#[tokio::test]
async fn a_slow_store_times_out_within_the_calls_deadline() {
    let fake = FakeStripe::start().await;
    fake.set("acct_1", "email_api_key", Answer::Found("too_late"));
    fake.delay(Duration::from_secs(3));
    let server = Server::start(&fake, Duration::from_millis(600)).await;
    let started = std::time::Instant::now();
    let (status, body) = server.execute("req_slow", Some("acct_1")).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "bounded by the deadline"
    );
    assert!((500..600).contains(&status), "{status} {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did not answer in time"),
        "{body}"
    );
    // Transient: the retry runs again (and succeeds once Stripe is quick).
    fake.delay(Duration::ZERO);
    let (status, body) = server.execute("req_slow", Some("acct_1")).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn concurrent_executes_make_one_upstream_call() {
    let fake = FakeStripe::start().await;
    fake.set("acct_1", "email_api_key", Answer::Found("shared"));
    fake.delay(Duration::from_millis(300));
    let server = Server::start(&fake, Duration::from_secs(5)).await;
    let ids: Vec<String> = (0..6).map(|i| format!("req_concurrent_{i}")).collect();
    let calls = ids.iter().map(|id| server.execute(id, Some("acct_1")));
    let answers = join_all(calls).await;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(body["output"]["key"], "shared");
    }
    assert_eq!(fake.seen().len(), 1, "single-flight");
}

/// Runs the futures together on this task.
async fn join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<_> = futures.map(|f| Some(Box::pin(f))).collect();
    let mut results: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (slot, result) in pending.iter_mut().zip(results.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *result = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    results.into_iter().map(Option::unwrap).collect()
}

#[tokio::test]
async fn no_account_and_a_refused_key_are_permanent_and_name_the_fix() {
    let fake = FakeStripe::start().await;
    let server = Server::start(&fake, Duration::from_secs(5)).await;
    let (status, body) = server.execute("req_no_account", None).await;
    assert!((400..500).contains(&status), "{status} {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stripe_context"),
        "{body}"
    );
    assert!(fake.seen().is_empty(), "no account, no request");

    // A server with the wrong key: Stripe's 401 is permanent and names the setting, not the key.
    let config = ServerConfig::new()
        .platform(
            Stripe::new([SECRET])
                .unwrap()
                .secret_store("sk_test_wrong_key_never_shown", &fake.url)
                .unwrap(),
        )
        .store(Arc::new(MemoryStore::new()));
    assert!(!format!("{config:?}").contains("sk_test_wrong_key_never_shown"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        App::new(())
            .action::<ShowKey>()
            .serve_on(listener, &config, std::future::pending())
            .await
    });
    let wrong = Server {
        url,
        client: reqwest::Client::new(),
        stop: None,
    };
    let (status, body) = wrong.execute("req_wrong_key", Some("acct_1")).await;
    assert!((400..500).contains(&status), "{status} {body}");
    let text = body.to_string();
    assert!(
        text.contains("STRIPE_API_KEY") && !text.contains("sk_test_wrong_key"),
        "{text}"
    );
}

#[tokio::test]
async fn the_example_reads_its_email_key_from_the_store_when_configured() {
    let fake = FakeStripe::start().await;
    fake.set("acct_1", "email_api_key", Answer::Found("mail_key_1"));
    let config = ServerConfig::new()
        .platform(
            Stripe::new([SECRET])
                .unwrap()
                .secret_store(API_KEY, &fake.url)
                .unwrap(),
        )
        .store(Arc::new(MemoryStore::new()));
    let outbox = temp_path("outbox.jsonl");
    let server = crate::harness::start_on(config, outbox).await;
    let input = json!({"audience_id": "aud_customers", "template_id": "tpl_welcome", "template_variables": {"first_name": "Ada"}});
    let execute = |id: &str, account: &str| json!({"id": id, "custom_input": input, "context": {"stripe_context": account}});
    let (status, body) = server
        .signed("/stripe/send_email/execute", &execute("req_ex_1", "acct_1"))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server
        .signed(
            "/stripe/send_email/execute",
            &execute("req_ex_2", "acct_unset"),
        )
        .await;
    assert!((400..500).contains(&status), "{status} {body}");
    let lines = server.outbox_lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["account"], "acct_1");
    assert_eq!(lines[0]["key_source"], "secret_store");
    assert!(!lines[0].to_string().contains("mail_key_1"));
    server.stop().await;

    // Unconfigured (the default `serve`): the demo key, for any account.
    let server = crate::harness::start().await;
    let (status, body) = server
        .signed("/stripe/send_email/execute", &execute("req_ex_3", "acct_1"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.outbox_lines()[0]["key_source"], "demo");
    server.stop().await;
}

#[tokio::test]
async fn the_simulator_serves_a_fake_secret_store_per_account() {
    let store = FakeSecretStore::new()
        .secret("acct_1", "email_api_key", "k1")
        .failing("acct_down", "email_api_key", 500)
        .failing("acct_busy", "email_api_key", 429)
        .slow("acct_slow", "email_api_key", Duration::from_secs(5));
    let sim =
        Simulator::new(App::new(Mailer::new(temp_path("outbox.jsonl"))).action::<SendEmail>())
            .simulation(StripeSimulation::new().secret_store(store.clone()))
            .deadline(Duration::from_millis(500));
    let sample = || SendEmail {
        audience_id: "aud_customers".into(),
        segment_id: None,
        template_id: "tpl_welcome".into(),
        template_variables: Some(serde_json::from_value(json!({"first_name": "Ada"})).unwrap()),
        message: None,
    };
    let run = sim.execute(sample()).caller("acct_1").delivered(2).await;
    assert_eq!(run.statuses(), [200, 200]);
    assert_eq!(run.handler_calls(), 1);
    for account in ["acct_down", "acct_busy", "acct_slow"] {
        let run = sim.execute(sample()).caller(account).await;
        assert!(
            (500..600).contains(&run.first().status),
            "{account}: {:?}",
            run.first()
        );
    }
    let run = sim.execute(sample()).caller("acct_unset").await;
    assert_eq!(run.first().status, 422, "{:?}", run.first());
    // The default account has no secret either: a permanent failure, not the demo key.
    let run = sim.execute(sample()).await;
    assert_eq!(run.first().status, 422);
    assert_eq!(store.calls(), 6);

    // Without a fake store the simulated Stripe has no key: the example uses its demo key.
    let plain =
        Simulator::new(App::new(Mailer::new(temp_path("outbox.jsonl"))).action::<SendEmail>());
    assert_eq!(plain.execute(sample()).await.first().status, 200);
}

/// Set by `secret_store_logs_never_show_the_key_or_a_value` to run the child half.
const LOGS_CHILD: &str = "ACTIONKIT_SECRETS_LOGS_CHILD";

/// The child half of `secret_store_logs_never_show_the_key_or_a_value`, in a process of its own
/// (see `logs.rs`); without the variable it does nothing.
#[test]
fn secrets_logs_child_entry() {
    in_logging_child(LOGS_CHILD, || async {
        let fake = FakeStripe::start().await;
        fake.set(
            "acct_1",
            "email_api_key",
            Answer::Found("value_never_logged"),
        );
        fake.set("acct_down", "email_api_key", Answer::Status(500));
        let server = Server::start(&fake, Duration::from_secs(5)).await;
        for (id, account) in [
            ("req_l1", "acct_1"),
            ("req_l2", "acct_down"),
            ("req_l3", "acct_x"),
        ] {
            server.execute(id, Some(account)).await;
        }
        let context = StripeContext::from_value(&json!({"stripe_context": "acct_1"}));
        tracing::info!(?context, secrets = ?Stripe::new([SECRET]).unwrap().secret_store(API_KEY, &fake.url).unwrap(), "debug output");
        writeln!(std::io::stdout().lock(), "child-done").unwrap();
    });
}

#[test]
fn secret_store_logs_never_show_the_key_or_a_value() {
    let output = run_child(
        "stripe_secrets::secrets_logs_child_entry",
        &[(LOGS_CHILD, "1")],
    );
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 logs");
    assert!(
        output.status.success() && stdout.contains("child-done"),
        "the child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("Stripe Secret Store refused a look-up") && stdout.contains("status=500"),
        "the outage is logged: {stdout}"
    );
    assert!(stdout.contains("Secret(***)"), "{stdout}");
    for leak in [API_KEY, "value_never_logged"] {
        assert!(!stdout.contains(leak), "the logs leak `{leak}`:\n{stdout}");
    }
}
