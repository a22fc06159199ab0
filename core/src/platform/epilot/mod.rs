//! epilot automation custom actions (`external_integration`): `POST /epilot/<action id>`,
//! verified with Standard Webhooks (`v1a` Ed25519 with epilot's public key, or `v1` HMAC with a
//! `whsec_` secret) before the body is read as JSON, idempotent on `webhook-id`.
//!
//! The action's input is `data.action_config.custom_action_config`, decoded and validated
//! exactly as on Stripe; the rest of the event reaches the handler as an [`EpilotEvent`]
//! through [`Context::extension`](crate::Context::extension), including the `x-epilot-token`
//! (a [`Secret`](crate::Secret): never logged, redacted in `Debug`).

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
use crate::server::response::{action_id, json_response, read_body, single_header};
use crate::signature::standard_webhooks::{
    ID_HEADER, SIGNATURE_HEADER, StandardWebhooksVerifier, TIMESTAMP_HEADER,
};

/// The platform name in idempotency keys and [`Context::platform`](crate::Context::platform).
pub const PLATFORM: &str = "epilot";
/// The header carrying epilot's bearer token.
pub const TOKEN_HEADER: &str = "x-epilot-token";

struct Shared<S> {
    runtime: Arc<Runtime<S>>,
    verifier: Option<StandardWebhooksVerifier>,
}

/// The epilot route over `runtime`. With no verifier every request is refused with 401.
///
/// ```
/// use std::sync::Arc;
/// use actionkit_core::runtime::Runtime;
/// let routes: axum::Router = actionkit_core::platform::epilot::routes(Arc::new(Runtime::new(())), None);
/// ```
pub fn routes<S: Send + Sync + 'static>(
    runtime: Arc<Runtime<S>>,
    verifier: Option<StandardWebhooksVerifier>,
) -> Router {
    Router::new()
        .route("/epilot/{action}", post(execute::<S>))
        .with_state(Arc::new(Shared { runtime, verifier }))
}

async fn execute<S: Send + Sync + 'static>(
    State(shared): State<Arc<Shared<S>>>,
    action: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let action = action_id(action);
    let started = Instant::now();
    let outcome = match admit(&shared, &action, &headers, body) {
        Ok((id, body)) => {
            let token = single_header(&headers, TOKEN_HEADER)
                .ok()
                .flatten()
                .map(Secret::new);
            match wire::decode(&body, token) {
                Ok(decoded) => {
                    let mut call =
                        Call::new(action.clone(), id.clone(), decoded.input).platform(PLATFORM);
                    call.extensions.insert(decoded.event);
                    let done = shared.runtime.execute(call).await;
                    tracing::info!(
                        platform = PLATFORM, action = %action, request_id = %id, outcome = done.outcome.label(),
                        status = done.outcome.status(), replayed = done.replayed,
                        latency_ms = started.elapsed().as_millis() as u64, "epilot call answered"
                    );
                    done.outcome
                }
                Err(failure) => Outcome::Failure(failure),
            }
        }
        Err(failure) => Outcome::Failure(failure),
    };
    if let Outcome::Failure(f) = &outcome
        && matches!(
            f.kind,
            FailureKind::Signature
                | FailureKind::InvalidInput
                | FailureKind::NotFound
                | FailureKind::TooLarge
        )
    {
        tracing::info!(platform = PLATFORM, action = %action, outcome = f.kind.as_str(), status = f.status, "epilot call refused");
    }
    let status =
        StatusCode::from_u16(outcome.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(
        status,
        &wire::outcome_body(&outcome),
        outcome.failure().and_then(|f| f.retry_after),
    )
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
