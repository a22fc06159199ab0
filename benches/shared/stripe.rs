//! What `execute` and `http` share: one Stripe action, the actionkit router serving it, and a
//! hand-written axum router doing the same work with the same crates (HMAC-SHA256 signature
//! check, typed serde decoding with the same validation, an in-memory idempotency map behind a
//! mutex, the same handler, JSON encoding).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actionkit::platform::stripe::Stripe;
use actionkit::server::{App, ServerConfig};
use actionkit::signature::stripe;
use actionkit::store::MemoryStore;
use actionkit::{Action, ActionError, Context, InputType};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use hmac::{Hmac, KeyInit as _, Mac as _};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

pub const SECRET: &str = "whsec_bench_secret";
pub const ACTION: &str = "bench_charge";
pub const PATH: &str = "/stripe/bench_charge/execute";
/// The execute budget both servers enforce.
pub const DEADLINE: Duration = Duration::from_secs(20);
/// Stripe's timestamp tolerance, as actionkit's verifier uses.
const TOLERANCE: u64 = 300;

/// How a charge is billed.
#[derive(InputType, Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Currency {
    Eur,
    Usd,
    Gbp,
}

/// Charge a customer.
#[derive(Action, Serialize, Deserialize, Debug)]
#[serde(deny_unknown_fields)]
#[action(id = "bench_charge", execute = charge)]
pub struct BenchCharge {
    #[field(min_length = 1, max_length = 64)]
    pub customer: String,
    #[field(minimum = 1, maximum = 1_000_000)]
    pub amount: u32,
    pub currency: Currency,
    pub note: Option<String>,
}

/// The handler both servers call.
pub async fn charge(ctx: Context, input: BenchCharge) -> Result<Value, ActionError> {
    Ok(json!({
        "charge": format!("ch_{}", ctx.request_id()),
        "customer": input.customer,
        "amount": input.amount,
        "currency": input.currency,
        "noted": input.note.is_some(),
    }))
}

/// actionkit's router for the action, with an in-memory store.
pub fn actionkit_router() -> Router {
    let config = ServerConfig::new()
        .platform(Stripe::new([SECRET]).expect("a valid secret"))
        .store(Arc::new(MemoryStore::new()))
        .deadline(DEADLINE);
    // The epilot callback worker is not run: the bench sends no epilot calls.
    let (router, _background) = App::new(()).action::<BenchCharge>().into_router(&config);
    router
}

// The hand-written server.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    id: String,
    custom_input: BenchCharge,
    #[serde(default)]
    context: Value,
}

enum Entry {
    Running([u8; 32]),
    Done { hash: [u8; 32], body: Bytes },
}

pub struct Baseline {
    mac: Hmac<Sha256>,
    seen: Mutex<HashMap<String, Entry>>,
}

/// The hand-written router: the same route, the same checks, the same answers on success.
pub fn baseline_router() -> Router {
    let shared = Arc::new(Baseline {
        mac: Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length"),
        seen: Mutex::new(HashMap::new()),
    });
    Router::new()
        .route("/stripe/{action}/execute", post(baseline_execute))
        .with_state(shared)
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    let body = json!({"error": {"type": kind, "message": message}});
    respond(
        status,
        Bytes::from(serde_json::to_vec(&body).expect("JSON")),
    )
}

fn respond(status: StatusCode, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn verify(mac: &Hmac<Sha256>, header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut v1 = Vec::new();
    for entry in header.split(',') {
        match entry.trim().split_once('=') {
            Some(("t", value)) => t = Some(value),
            Some(("v1", value)) => v1.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    let Ok(timestamp) = t.parse::<u64>() else {
        return false;
    };
    let mut mac = mac.clone();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    let ok = v1.iter().any(|sig| mac.clone().verify_slice(sig).is_ok());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    ok && now.abs_diff(timestamp) <= TOLERANCE
}

async fn baseline_execute(
    State(shared): State<Arc<Baseline>>,
    Path(action): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    if !signature.is_some_and(|s| verify(&shared.mac, s, &body)) {
        return error(StatusCode::UNAUTHORIZED, "signature", "bad signature");
    }
    if action != ACTION {
        return error(StatusCode::NOT_FOUND, "not_found", "no such action");
    }
    let envelope: Envelope = match serde_json::from_slice(&body) {
        Ok(envelope) => envelope,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_input", &e.to_string()),
    };
    let input = envelope.custom_input;
    let len = input.customer.chars().count();
    if envelope.id.is_empty()
        || !(1..=64).contains(&len)
        || !(1..=1_000_000).contains(&input.amount)
    {
        return error(StatusCode::BAD_REQUEST, "invalid_input", "out of range");
    }
    let _ = envelope.context;
    let hash: [u8; 32] = Sha256::digest(serde_json::to_vec(&input).expect("JSON")).into();
    let key = format!("stripe:{action}:{}", envelope.id);
    {
        let mut seen = shared.seen.lock().expect("not poisoned");
        match seen.get(&key) {
            Some(Entry::Done { hash: h, body }) if *h == hash => {
                return respond(StatusCode::OK, body.clone());
            }
            Some(Entry::Running(h)) if *h == hash => {
                return error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "in_progress",
                    "retry later",
                );
            }
            Some(_) => {
                return error(StatusCode::CONFLICT, "idempotency_conflict", "id reused");
            }
            None => {
                seen.insert(key.clone(), Entry::Running(hash));
            }
        }
    }
    let ctx = Context::new(envelope.id, "stripe", DEADLINE);
    let output = match tokio::time::timeout(DEADLINE, charge(ctx, input)).await {
        Ok(Ok(output)) => output,
        _ => {
            shared.seen.lock().expect("not poisoned").remove(&key);
            return error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "failed");
        }
    };
    let body = Bytes::from(serde_json::to_vec(&json!({"output": output})).expect("JSON"));
    shared.seen.lock().expect("not poisoned").insert(
        key,
        Entry::Done {
            hash,
            body: body.clone(),
        },
    );
    respond(StatusCode::OK, body)
}

// Requests.

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A fresh, signed execute request: (body, `Stripe-Signature`), with a request id never used
/// before in this process.
pub fn signed_request() -> (Bytes, String) {
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let body = serde_json::to_vec(&json!({
        "id": format!("req_{n:012}"),
        "custom_input": {
            "customer": "cus_Nfz1AbCdEf",
            "amount": 1_999 + (n % 1000) as u32,
            "currency": "eur",
            "note": null
        },
        "context": {"workflow": "wf_bench", "workflow_run": "wr_1"}
    }))
    .expect("JSON");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let signature = stripe::sign(SECRET, now, &body);
    (Bytes::from(body), signature)
}
