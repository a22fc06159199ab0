//! The one request path, for every platform. Read top to bottom, this is what happens to any
//! request:
//!
//! 1. **limit**: the body is buffered up to the configured limit (`413 too_large` past it)
//!    within the body timeout (`408` past it);
//! 2. **verify**: the platform checks its signature over the raw bytes (`401 signature`);
//! 3. **the action exists** (`404 not_found`, in the platform's shape);
//! 4. **decode**: the platform turns the body into a runtime [`Call`] (`400 invalid_input`);
//! 5. **runtime**: input validation, idempotency claim, the handler under its deadline
//!    ([`Runtime::answer`]), unless the platform takes the call over (epilot's queued callbacks);
//! 6. **record**: the runtime records the platform's rendered bytes, whatever happens to the
//!    connection, so a retry replays them;
//! 7. **render and answer**: the platform's bytes, with `Retry-After` where there is one, and
//!    one log line.
//!
//! Form state follows the same steps 1–4 (the platform decodes a form call), then
//! [`Runtime::form_state_call`] under the form-state budget.

use std::future::Future as _;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::post;

use super::ServerConfig;
use super::metrics::{Metrics, RouteMetrics};
use super::response::{action_id, bytes_response, read_body};
use crate::platform::{Adapter, Dispatch, Endpoint};
use crate::runtime::{Answer, Failure, FailureKind, Outcome, Render, Runtime};

/// One platform's routes over the runtime.
struct Serving<S> {
    runtime: Arc<Runtime<S>>,
    adapter: Arc<dyn Adapter>,
    body_limit: usize,
    body_timeout: Duration,
    metrics: Arc<Metrics>,
    /// Each registered action's metric handles.
    routes: Vec<RouteMetrics>,
}

/// The routes of `adapter`, served by `runtime`, with `config`'s body limits.
pub(super) fn routes<S: Send + Sync + 'static>(
    runtime: Arc<Runtime<S>>,
    adapter: Arc<dyn Adapter>,
    config: &ServerConfig,
    metrics: Arc<Metrics>,
) -> Router {
    let routes = runtime
        .actions()
        .map(|action| metrics.route(adapter.name(), action.id))
        .collect();
    let serving = Arc::new(Serving {
        runtime,
        adapter: adapter.clone(),
        body_limit: config.body_limit,
        body_timeout: config.body_timeout,
        metrics,
        routes,
    });
    let mut router = Router::new();
    for route in adapter.routes() {
        router = match route.endpoint {
            Endpoint::Execute => router.route(route.path, post(execute::<S>)),
            Endpoint::FormState => router.route(route.path, post(form_state::<S>)),
        };
    }
    router.with_state(serving)
}

async fn execute<S: Send + Sync + 'static>(
    State(serving): State<Arc<Serving<S>>>,
    action: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let started = Instant::now();
    let action = action_id(action);
    let adapter = &serving.adapter;
    let admitted = admit(&serving, &action, request).await;
    let registered = registered_id(&serving, &action, &admitted);
    let call = admitted.and_then(|(id, headers, body)| adapter.decode(id, &headers, &body));
    let answer = match call {
        Ok(call) => {
            let request_id = call.request_id.clone();
            // Formatted only when the line is written.
            let caller = tracing::enabled!(tracing::Level::INFO)
                .then(|| adapter.caller(&call))
                .flatten();
            let answer = match adapter.dispatch(call) {
                Dispatch::Run(call) => {
                    let render: Arc<dyn Render> = adapter.clone();
                    serving.runtime.answer(call, render).await
                }
                Dispatch::TakenOver(taken) => Answer::rendered(&taken.await, &**adapter),
            };
            log_answered(
                adapter.name(),
                &action,
                &request_id,
                caller.as_deref(),
                &answer,
                started,
            );
            answer
        }
        Err(failure) => {
            log_refused(adapter.name(), &action, &failure);
            Answer::rendered(&Outcome::Failure(failure), &**adapter)
        }
    };
    let route = serving
        .routes
        .iter()
        .find(|route| route.action == registered);
    serving
        .metrics
        .record(route, adapter.name(), registered, &answer, started);
    respond(answer)
}

async fn form_state<S: Send + Sync + 'static>(
    State(serving): State<Arc<Serving<S>>>,
    action: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let started = Instant::now();
    let action = action_id(action);
    let adapter = &serving.adapter;
    let admitted = admit(&serving, &action, request).await;
    let registered = registered_id(&serving, &action, &admitted);
    let request = admitted.and_then(|(id, _, body)| Ok((id, adapter.decode_form_call(&body)?)));
    let answered = match request {
        Ok((id, call)) => serving.runtime.form_state_call(id, call).await,
        Err(failure) => Err(failure),
    };
    let answer = match answered {
        Ok(response) => Answer {
            status: 200,
            body: adapter.render_form_state(&response).into(),
            retry_after: None,
            label: "success",
            replayed: false,
            ran: true,
        },
        Err(failure) => Answer::rendered(&Outcome::Failure(failure), &**adapter),
    };
    tracing::info!(
        platform = adapter.name(),
        action = %action,
        outcome = answer.label,
        status = answer.status,
        latency_ms = started.elapsed().as_millis() as u64,
        "get_form_state answered"
    );
    serving
        .metrics
        .record_form_state(adapter.name(), registered, &answer, started);
    respond(answer)
}

/// The registered id a request names, for its metric labels: from admission, or (a request
/// refused before that, say for its signature) looked up; `""` for an unknown action, so no
/// client can grow the label space.
fn registered_id<S: Send + Sync + 'static, T>(
    serving: &Serving<S>,
    action: &str,
    admitted: &Result<(&'static str, T, Bytes), Failure>,
) -> &'static str {
    match admitted {
        Ok((id, _, _)) => id,
        Err(_) => serving.runtime.action_id(action).unwrap_or_default(),
    }
}

/// Steps 1–3: the body within its limit, the signature, then the action's existence — before
/// any JSON is read. Gives back the action's registered id, the headers (moved out of the
/// request, not cloned as axum's `HeaderMap` extractor does) and the body.
async fn admit<S: Send + Sync + 'static>(
    serving: &Serving<S>,
    action: &str,
    request: Request,
) -> Result<(&'static str, HeaderMap, Bytes), Failure> {
    let (parts, body) = request.into_parts();
    let Some(body) = read_within(body, serving.body_limit, serving.body_timeout).await else {
        return Err(Failure::new(
            FailureKind::SlowBody,
            format!(
                "the request body did not arrive within {} ms (the server's body timeout, \
                 ACTIONKIT_BODY_TIMEOUT_MS); send the whole body at once",
                serving.body_timeout.as_millis()
            ),
        ));
    };
    let body = read_body(body)?;
    let headers = parts.headers;
    serving.adapter.verify(&headers, &body, SystemTime::now())?;
    let Some(id) = serving.runtime.action_id(action) else {
        return Err(Failure::new(
            FailureKind::NotFound,
            format!("no action `{action}`"),
        ));
    };
    Ok((id, headers, body))
}

/// The body, read up to `limit`, or `None` past `timeout`. A body already here (the usual case)
/// is read on the first poll, without making a timer.
async fn read_within(
    body: axum::body::Body,
    limit: usize,
    timeout: Duration,
) -> Option<Result<Bytes, axum::Error>> {
    let read = axum::body::to_bytes(body, limit);
    tokio::pin!(read);
    let first = std::future::poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await;
    match first {
        Poll::Ready(done) => Some(done),
        Poll::Pending => tokio::time::timeout(timeout, read).await.ok(),
    }
}

fn respond(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = bytes_response(status, answer.body, answer.retry_after);
    if status == StatusCode::PAYLOAD_TOO_LARGE || status == StatusCode::REQUEST_TIMEOUT {
        // The rest of the body is left unread, so hyper closes the connection after the answer:
        // say so, or a client that pools the connection fails its next request on it.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Logs a call the runtime answered: platform, action, request id, who it ran for (when the
/// platform says), outcome, status, whether it was a replay, and the latency. Never the input, a
/// secret or a token.
fn log_answered(
    platform: &'static str,
    action: &str,
    request_id: &str,
    caller: Option<&str>,
    answer: &Answer,
    started: Instant,
) {
    tracing::info!(
        platform,
        action = %action,
        request_id = %request_id,
        caller,
        outcome = answer.label,
        status = answer.status,
        replayed = answer.replayed,
        latency_ms = started.elapsed().as_millis() as u64,
        "call answered"
    );
}

/// Logs a request refused before it reached the runtime (size, signature, unknown action, shape).
fn log_refused(platform: &'static str, action: &str, failure: &Failure) {
    tracing::info!(platform, action = %action, outcome = failure.kind.as_str(), status = failure.status, "request refused");
}

/// Unknown routes and methods: in the shape of the platform whose mount the path is under,
/// else the server's own `{"error": {"type", "message"}}`.
pub(super) fn route_error(
    adapters: &[Arc<dyn Adapter>],
    status: StatusCode,
    method: &Method,
    uri: &Uri,
) -> Response {
    let path = uri.path();
    let (kind, message) = if status == StatusCode::METHOD_NOT_ALLOWED {
        (
            "method_not_allowed",
            format!("`{path}` does not accept `{method}`"),
        )
    } else {
        ("not_found", format!("no route `{method} {path}`"))
    };
    let owner = adapters.iter().find(|a| {
        let mount = a.mount();
        path == mount || path.strip_prefix(mount).is_some_and(|r| r.starts_with('/'))
    });
    let body = match owner {
        Some(adapter) => adapter.render_route_error(kind, &message),
        None => plain_error(kind, &message),
    };
    bytes_response(status, body, None)
}

/// `{"error": {"type": kind, "message": message}}`.
pub(crate) fn plain_error(kind: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"error": {"type": kind, "message": message}}))
        .expect("JSON values serialise")
}
