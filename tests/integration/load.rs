//! A bounded load test on loopback: every id delivered several times at once, on both
//! platforms and both actions, interleaved with bad requests, at a bounded concurrency.
//! Each id runs its side effect exactly once; every delivery answers 200 (run or replayed) or
//! 503 `in_progress`; every bad request its 4xx.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actionkit::signature::standard_webhooks::WebhookSigningKey;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::corpus::{Request, Target, error_of, welcome};
use crate::harness::{WEBHOOK_SECRET, config, now, start_with};

/// Unique request ids; each is delivered [`DELIVERIES`] times.
const IDS: usize = 200;
const DELIVERIES: usize = 4;
/// Bad requests, one after each id's deliveries.
const BAD: usize = IDS;
/// Requests in flight at once.
const CONCURRENCY: usize = 32;

/// Where id `i` goes: `(target, action)`, spread over both platforms and both actions.
fn route(i: usize) -> (Target, &'static str) {
    match i % 4 {
        0 => (Target::Execute, "send_email"),
        1 => (Target::Epilot, "send_email"),
        2 => (Target::Execute, "effect"),
        _ => (Target::Epilot, "effect"),
    }
}

/// The input of id `i`: a short sleep in the effect so duplicates overlap.
fn input(i: usize, action: &str) -> Value {
    if action == "send_email" {
        let mut input = welcome();
        input["template_variables"]["first_name"] = json!(format!("Ada {i}"));
        input
    } else {
        json!({"label": format!("l{i}"), "sleep_ms": 20})
    }
}

/// A genuine delivery. Most epilot ones are signed `v1` (HMAC): Ed25519 verification in an
/// unoptimised test build costs milliseconds, which would measure the crypto, not the runtime;
/// every tenth epilot id is signed `v1a` (Ed25519) as epilot signs.
fn delivery(target: Target, action: &str, id: &str, body: Vec<u8>, i: usize) -> Request {
    if target != Target::Epilot || (i / 4).is_multiple_of(10) {
        return target.signed(action, id, body);
    }
    let timestamp = now();
    let hmac = WebhookSigningKey::hmac_secret(WEBHOOK_SECRET).expect("the v1 secret");
    let signature = hmac.sign(id, timestamp, &body);
    Request::post(target.path(action), body)
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
}

enum Expect {
    /// A delivery of id `.0`: 200 or 503 `in_progress`.
    Delivery(usize),
    /// A bad request: this status, error type and field.
    Refused(u16, &'static str, Option<&'static str>),
}

/// The `n`-th bad request, cycling through the kinds of the corpus.
fn bad(n: usize) -> (Request, Expect) {
    let target = [Target::Execute, Target::FormState, Target::Epilot][n % 3];
    let id = format!("load-bad-{n}");
    let body = target.body_with(&id, welcome());
    match (n / 3) % 8 {
        0 => {
            let request = Request::post(target.path("send_email"), body);
            (request, Expect::Refused(401, "signature", None))
        }
        1 => {
            let mut request = target.signed("send_email", &id, body);
            request.body.push(b' ');
            (request, Expect::Refused(401, "signature", None))
        }
        2 => {
            let request = target.signed_as("send_email", &id, now() - 600, body);
            (request, Expect::Refused(401, "signature", None))
        }
        3 => {
            let truncated = body[..body.len() / 2].to_vec();
            let request = target.signed("send_email", &id, truncated);
            (request, Expect::Refused(400, "invalid_input", None))
        }
        4 => {
            let nested = "[".repeat(10_000).into_bytes();
            let request = target.signed("send_email", &id, nested);
            (request, Expect::Refused(400, "invalid_input", None))
        }
        5 => {
            let mut big = body;
            big.resize(64 * 1024 + 1, b' ');
            let request = target.signed("send_email", &id, big);
            (request, Expect::Refused(413, "too_large", None))
        }
        6 => {
            let request = target.signed("no_such_action", &id, body);
            (request, Expect::Refused(404, "not_found", None))
        }
        _ => {
            // Wrong-typed input; form state has no input, so its values are not JSON there.
            let mut wrong = welcome();
            wrong["audience_id"] = json!(1);
            match target {
                Target::FormState => {
                    let request = target.signed("send_email", &id, b"{\"values\": [}".to_vec());
                    (request, Expect::Refused(400, "invalid_input", None))
                }
                _ => {
                    let request = target.signed("send_email", &id, target.body_with(&id, wrong));
                    (
                        request,
                        Expect::Refused(400, "invalid_input", Some("/audience_id")),
                    )
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_runs_each_id_once() {
    // A generous deadline: a handler timing out under load would release its id by design,
    // which is not what this test measures.
    let server = Arc::new(start_with(config().deadline(Duration::from_secs(10))).await);

    // The plan: each id's deliveries back to back (so they run at once), then one bad request.
    let mut plan: Vec<(Request, Expect)> = Vec::new();
    for i in 0..IDS {
        let (target, action) = route(i);
        let id = format!("load-{i}");
        for _ in 0..DELIVERIES {
            let body = target.body_with(&id, input(i, action));
            plan.push((delivery(target, action, &id, body, i), Expect::Delivery(i)));
        }
        if i < BAD {
            plan.push(bad(i));
        }
    }

    let started = Instant::now();
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = Vec::with_capacity(plan.len());
    for (request, expect) in plan {
        let permit = permits.clone().acquire_owned().await.expect("open");
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            let answer = request.send_with_headers(&server).await;
            drop(permit);
            (request.path, expect, answer)
        }));
    }
    let mut answers = Vec::with_capacity(tasks.len());
    for task in tasks {
        answers.push(
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("every request answers within the bound")
                .expect("no panic"),
        );
    }
    let elapsed = started.elapsed();

    let mut by_id: BTreeMap<usize, Vec<u16>> = BTreeMap::new();
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for (path, expect, (status, body, headers)) in &answers {
        let (error, field) = error_of(path, body);
        match expect {
            Expect::Delivery(i) => {
                by_id.entry(*i).or_default().push(*status);
                let ok = match (status, error.as_deref()) {
                    (200, None) => true,
                    (503, Some("in_progress")) => headers.contains_key("retry-after"),
                    _ => false,
                };
                if !ok {
                    failures.push(format!("delivery of load-{i} on {path}: {status} {body}"));
                }
                *tally
                    .entry(format!(
                        "good {status} {}",
                        error.as_deref().unwrap_or("ok")
                    ))
                    .or_default() += 1;
            }
            Expect::Refused(want, kind, want_field) => {
                let got = (*status, error.as_deref(), field.as_deref());
                if got != (*want, Some(*kind), *want_field) {
                    failures.push(format!(
                        "bad request on {path}: expected {:?}, got {got:?}: {body}",
                        (want, kind, want_field)
                    ));
                }
                *tally.entry(format!("bad {status} {kind}")).or_default() += 1;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for (i, statuses) in &by_id {
        assert!(
            statuses.contains(&200),
            "load-{i} never succeeded: {statuses:?}"
        );
    }

    // Side effects == unique ids: one email per send_email id, one effect per effect id.
    let emails: Vec<String> = server
        .outbox_lines()
        .iter()
        .map(|line| line["request_id"].as_str().expect("an id").to_owned())
        .collect();
    let mut unique = emails.clone();
    unique.sort();
    unique.dedup();
    let expected_emails = (0..IDS).filter(|i| route(*i).1 == "send_email").count();
    assert_eq!(unique.len(), emails.len(), "an email was sent twice");
    assert_eq!(emails.len(), expected_emails, "one email per send_email id");
    let effects = server.effects.done();
    let expected_effects = IDS - expected_emails;
    assert_eq!(effects.len(), expected_effects, "one effect per effect id");
    assert!(
        effects.values().all(|&n| n == 1),
        "an effect ran twice: {effects:?}"
    );
    for id in effects.keys() {
        assert_eq!(server.effects.attempts(id), 1, "{id} was attempted twice");
    }

    let total = answers.len();
    println!(
        "load: {total} requests ({} deliveries of {IDS} ids, {BAD} bad) at concurrency \
         {CONCURRENCY} in {:.2?} ({:.0} req/s); side effects {} == unique ids {IDS}; {tally:?}",
        IDS * DELIVERIES,
        elapsed,
        total as f64 / elapsed.as_secs_f64(),
        emails.len() + effects.len(),
    );
    assert!(elapsed < Duration::from_secs(30), "bounded: {elapsed:?}");
    Arc::into_inner(server)
        .expect("all tasks done")
        .stop()
        .await;
}
