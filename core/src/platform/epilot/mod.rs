//! epilot automation custom actions (`external_integration`): `POST /epilot/<action id>`,
//! verified with Standard Webhooks (`v1a` Ed25519 with epilot's public key, or `v1` HMAC with a
//! `whsec_` secret) before the body is read as JSON, idempotent on `webhook-id`.
//!
//! The action's input is `data.action_config.custom_action_config`, decoded and validated
//! exactly as on Stripe; the rest of the event reaches the handler as an [`EpilotEvent`]
//! through [`Context::extension`](crate::Context::extension), including the `x-epilot-token`
//! (a [`Secret`]: never logged, redacted in `Debug`).

pub mod callback;
pub mod wire;

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;

pub use self::wire::EpilotEvent;
use crate::context::Secret;
use crate::runtime::{Call, Failure, FailureKind, Outcome, Runtime};
use crate::server::response::{
    action_id, json_response, log_answered, log_refused, read_body, single_header,
};
use crate::signature::standard_webhooks::{
    ID_HEADER, SIGNATURE_HEADER, StandardWebhooksVerifier, TIMESTAMP_HEADER,
};
use crate::store::CallbackQueue;
use tokio::sync::Notify;

/// The platform name in idempotency keys and [`Context::platform`](crate::Context::platform).
pub const PLATFORM: &str = "epilot";
/// The header carrying epilot's bearer token.
pub const TOKEN_HEADER: &str = "x-epilot-token";

struct Shared<S> {
    runtime: Arc<Runtime<S>>,
    verifier: Option<StandardWebhooksVerifier>,
    queue: Arc<dyn CallbackQueue>,
    wake: Arc<Notify>,
}

/// The epilot route over `runtime`. With no verifier every request is refused with 401. Calls
/// that wait for a callback are queued on `queue`, and `wake` is notified for each (see
/// [`callback`]).
///
/// ```
/// use std::sync::Arc;
/// use actionkit_core::runtime::Runtime;
/// use actionkit_core::store::MemoryStore;
/// let routes: axum::Router = actionkit_core::platform::epilot::routes(
///     Arc::new(Runtime::new(())),
///     None,
///     Arc::new(MemoryStore::new()),
///     Arc::default(),
/// );
/// ```
pub fn routes<S: Send + Sync + 'static>(
    runtime: Arc<Runtime<S>>,
    verifier: Option<StandardWebhooksVerifier>,
    queue: Arc<dyn CallbackQueue>,
    wake: Arc<Notify>,
) -> Router {
    Router::new()
        .route("/epilot/{action}", post(execute::<S>))
        .with_state(Arc::new(Shared {
            runtime,
            verifier,
            queue,
            wake,
        }))
}

async fn execute<S: Send + Sync + 'static>(
    State(shared): State<Arc<Shared<S>>>,
    action: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let action = action_id(action);
    let started = Instant::now();
    let token = single_header(&headers, TOKEN_HEADER)
        .ok()
        .flatten()
        .map(Secret::new);
    let call = admit(&shared, &action, &headers, body)
        .and_then(|(id, body)| Ok((id, wire::decode(&body, token)?)));
    let outcome = match call {
        Ok((id, decoded)) if decoded.callback.is_some() => {
            let outcome = defer(&shared, &action, &id, decoded).await;
            log_deferred(&action, &id, &outcome, started);
            outcome
        }
        Ok((id, decoded)) => {
            let mut call = Call::new(action.clone(), id.clone(), decoded.input).platform(PLATFORM);
            call.extensions.insert(decoded.event);
            let done = shared.runtime.execute(call).await;
            log_answered(PLATFORM, &action, &id, &done, started);
            done.outcome
        }
        Err(failure) => {
            log_refused(PLATFORM, &action, &failure);
            Outcome::Failure(failure)
        }
    };
    let status =
        StatusCode::from_u16(outcome.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(
        status,
        &wire::outcome_body(&outcome),
        outcome.failure().and_then(|f| f.retry_after),
    )
}

/// Validates the input, queues the work durably and answers `{}`; the callback worker does the
/// rest. A redelivery of a queued id is accepted again and queues nothing.
async fn defer<S: Send + Sync + 'static>(
    shared: &Shared<S>,
    action: &str,
    id: &str,
    decoded: wire::Decoded,
) -> Outcome {
    let Some((resume_token, url)) = &decoded.callback else {
        unreachable!("only called with a callback")
    };
    if let Err(failure) = shared.runtime.check_input(action, decoded.input.clone()) {
        return Outcome::Failure(failure);
    }
    let job = callback::Job::new(action, id, decoded.input, &decoded.event, resume_token, url);
    let payload = serde_json::to_vec(&job).expect("jobs serialise");
    match shared
        .queue
        .enqueue(&callback::job_key(action, id), &payload)
        .await
    {
        Ok(_) => {
            shared.wake.notify_one();
            Outcome::Success {
                output: serde_json::Value::Null,
            }
        }
        Err(err) => {
            tracing::error!(error = %err, "the callback queue is unavailable");
            Outcome::Failure(Failure::new(
                503,
                FailureKind::Transient,
                "the work queue is unavailable; retry later",
            ))
        }
    }
}

fn log_deferred(action: &str, id: &str, outcome: &Outcome, started: Instant) {
    tracing::info!(
        platform = PLATFORM, action = %action, request_id = %id, outcome = outcome.label(), status = outcome.status(),
        latency_ms = started.elapsed().as_millis() as u64, "call queued for a callback"
    );
}

/// Body size, signature, then the action — before any JSON is read. Returns the webhook id.
fn admit<S: Send + Sync + 'static>(
    shared: &Shared<S>,
    action: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(String, Bytes), Failure> {
    let body = read_body(body)?;
    let Some(verifier) = &shared.verifier else {
        return Err(Failure::new(
            401,
            FailureKind::Signature,
            "no epilot key is configured; set EPILOT_PUBLIC_KEY or WEBHOOK_SECRET",
        ));
    };
    let header = |name: &str| -> Result<String, Failure> {
        single_header(headers, name)?.ok_or_else(|| {
            Failure::new(
                401,
                FailureKind::Signature,
                format!("missing `{name}` header"),
            )
        })
    };
    let (id, timestamp, signature) = (
        header(ID_HEADER)?,
        header(TIMESTAMP_HEADER)?,
        header(SIGNATURE_HEADER)?,
    );
    verifier
        .verify(&id, &timestamp, &signature, &body, SystemTime::now())
        .map_err(|e| Failure::new(401, FailureKind::Signature, e.to_string()))?;
    if shared.runtime.action_info(action).is_none() {
        return Err(Failure::new(
            404,
            FailureKind::NotFound,
            format!("no action `{action}`"),
        ));
    }
    Ok((id, body))
}
