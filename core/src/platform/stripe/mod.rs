//! Stripe Workflows custom actions as remote functions: `POST /stripe/<action id>/execute` and
//! `POST /stripe/<action id>/get_form_state`, each verifying `Stripe-Signature` over the raw body
//! before reading it as JSON.

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

pub use self::wire::StripeContext;
use crate::runtime::{Call, Failure, FailureKind, Outcome, Runtime};
use crate::server::response::{
    action_id, json_response, log_answered, log_refused, read_body, single_header,
};
use crate::signature::stripe::{HEADER, StripeVerifier};

/// The platform name in idempotency keys and [`Context::platform`](crate::Context::platform).
pub const PLATFORM: &str = "stripe";

struct Shared<S> {
    runtime: Arc<Runtime<S>>,
    verifier: Option<StripeVerifier>,
}

/// The Stripe routes over `runtime`. With no verifier every request is refused with 401: no
/// configuration turns verification off.
///
/// ```
/// use std::sync::Arc;
/// use actionkit_core::runtime::Runtime;
/// use actionkit_core::signature::stripe::StripeVerifier;
/// let routes: axum::Router = actionkit_core::platform::stripe::routes(
///     Arc::new(Runtime::new(())),
///     Some(StripeVerifier::new(["whsec_test"]).unwrap()),
/// );
/// ```
pub fn routes<S: Send + Sync + 'static>(
    runtime: Arc<Runtime<S>>,
    verifier: Option<StripeVerifier>,
) -> Router {
    let shared = Arc::new(Shared { runtime, verifier });
    Router::new()
        .route("/stripe/{action}/execute", post(execute::<S>))
        .route("/stripe/{action}/get_form_state", post(form_state::<S>))
        .with_state(shared)
}

async fn execute<S: Send + Sync + 'static>(
    State(shared): State<Arc<Shared<S>>>,
    action: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let action = action_id(action);
    let started = Instant::now();
    let envelope =
        admit(&shared, &action, &headers, body).and_then(|body| wire::decode_execute(&body));
    let outcome = match envelope {
        Ok(envelope) => {
            let request_id = envelope.id.clone();
            let mut call =
                Call::new(action.clone(), envelope.id, envelope.custom_input).platform(PLATFORM);
            call.extensions.insert(StripeContext(envelope.context));
            let done = shared.runtime.execute(call).await;
            log_answered(PLATFORM, &action, &request_id, &done, started);
            done.outcome
        }
        Err(failure) => {
            log_refused(PLATFORM, &action, &failure);
            Outcome::Failure(failure)
        }
    };
    respond(&outcome)
}

async fn form_state<S: Send + Sync + 'static>(
    State(shared): State<Arc<Shared<S>>>,
    action: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let action = action_id(action);
    let started = Instant::now();
    let answer = match admit(&shared, &action, &headers, body)
        .and_then(|body| wire::decode_form_state(&body))
    {
        Ok(request) => shared.runtime.form_state(&action, request).await,
        Err(failure) => Err(failure),
    };
    let (status, label) = match &answer {
        Ok(_) => (200, "success"),
        Err(f) => (f.status, f.kind.as_str()),
    };
    tracing::info!(platform = PLATFORM, action = %action, outcome = label, status, latency_ms = started.elapsed().as_millis() as u64, "get_form_state answered");
    match answer {
        Ok(response) => json_response(
            StatusCode::OK,
            &serde_json::to_value(response).expect("JSON"),
            None,
        ),
        Err(failure) => respond(&Outcome::Failure(failure)),
    }
}

/// Body size, signature, then the action's existence — in that order, before any JSON is read.
fn admit<S: Send + Sync + 'static>(
    shared: &Shared<S>,
    action: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Bytes, Failure> {
    let body = read_body(body)?;
    let Some(verifier) = &shared.verifier else {
        return Err(Failure::new(
            401,
            FailureKind::Signature,
            "no Stripe signing secret is configured; set STRIPE_SIGNING_SECRET",
        ));
    };
    let header = single_header(headers, HEADER)?.ok_or_else(|| {
        Failure::new(
            401,
            FailureKind::Signature,
            format!("missing `{HEADER}` header"),
        )
    })?;
    verifier
        .verify(&header, &body, SystemTime::now())
        .map_err(|e| Failure::new(401, FailureKind::Signature, e.to_string()))?;
    if shared.runtime.action_info(action).is_none() {
        return Err(Failure::new(
            404,
            FailureKind::NotFound,
            format!("no action `{action}`"),
        ));
    }
    Ok(body)
}

fn respond(outcome: &Outcome) -> Response {
    let status =
        StatusCode::from_u16(outcome.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let retry_after = outcome.failure().and_then(|f| f.retry_after);
    json_response(status, &wire::outcome_body(outcome), retry_after)
}
