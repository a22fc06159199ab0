//! The preview pages (`serve --preview`, `ACTIONKIT_PREVIEW=1`): each action's form rendered in
//! the browser by the JSONForms renderer from its input and UI schemas, driven by the action's
//! real form-state dispatch, with a "Run" button that executes it.
//!
//! | route | what |
//! | --- | --- |
//! | `GET /preview/` | the actions, with links |
//! | `GET /preview/<action>` | the action's form, a side panel of every request and answer, "Run" |
//! | `POST /preview/<action>/form_state` | a form-state request (`{"values", "changed_field"}`), answered by [`Runtime::form_state_call`] |
//! | `POST /preview/<action>/run` | `{"id"?, "values"}`: executes the values, answers `{"request_id", "status", "replayed", "body"}` |
//! | `GET /preview/assets/…` | the page's script and style sheet, embedded in the binary |
//!
//! The calls skip signature checks (the page calls the runtime in-process, as platform
//! `preview`), so the pages are off unless asked for ([`ServerConfig::preview`]) and served
//! only on a loopback address: [`App::serve_on`](super::App::serve_on) and `serve` refuse to
//! start otherwise ([`loopback_only`]). Requests are also refused unless their `Host` is a
//! loopback name (a DNS-rebinding page cannot reach them), and the two `POST` routes take only
//! `application/json` (a cross-site form cannot post one without a CORS preflight, which is
//! never granted). Runs are recorded in an in-memory idempotency store of the preview's own, never
//! the server's store, so a preview id never collides with or replays a platform's call.
//! Nothing a platform is configured with reaches the page or the calls: a handler sees a
//! [`Context`](crate::Context) of platform `preview` with no platform extensions (so a
//! platform's secret store reads as not configured).
//!
//! ```no_run
//! use actionkit_core::server::{App, ServerConfig};
//! # async fn demo(app: App<()>) -> std::io::Result<()> {
//! // Then open http://127.0.0.1:8080/preview/ (`serve --preview` on the command line).
//! app.serve(ServerConfig::new().preview(true)).await
//! # }
//! ```
//!
//! The front end lives in `preview/` at the repository's root (pinned npm packages, built by
//! `preview/build.sh` into `assets/` here); the built files are committed, so building
//! actionkit needs no node.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};

#[cfg(doc)]
use super::ServerConfig;
use super::response::{action_id, bytes_response, json_response};
use crate::form_state::FormStateRequest;
use crate::runtime::{Call, FailureKind, FormCall, OutcomeJson, Render, Runtime};
use crate::store::{IdempotencyStore, MemoryStore};

/// The platform name of preview calls: the [`Context::platform`](crate::Context::platform) a
/// handler or provider sees, and the first segment of the preview store's keys.
///
/// ```
/// # use actionkit_core::Context;
/// // A handler can tell a preview run from a platform's call.
/// fn is_preview(ctx: &Context) -> bool {
///     ctx.platform() == actionkit_core::server::preview::PLATFORM
/// }
/// # assert!(is_preview(&Context::new("r", "preview", std::time::Duration::from_secs(1))));
/// ```
pub const PLATFORM: &str = "preview";

/// The memo scope of preview form-state calls: provider answers are shared among preview calls
/// only, never with a platform's callers.
const CALLER: &str = "preview";

const SCRIPT: &str = include_str!("assets/preview.js");
const STYLE: &str = include_str!("assets/preview.css");

/// Whether the preview may be served on `addr`: only on a loopback address, because its routes
/// run actions without checking signatures.
///
/// ```
/// use actionkit_core::server::preview::loopback_only;
/// assert!(loopback_only("127.0.0.1:8080".parse().unwrap()).is_ok());
/// assert!(loopback_only("[::1]:8080".parse().unwrap()).is_ok());
/// let refused = loopback_only("0.0.0.0:8080".parse().unwrap()).unwrap_err();
/// assert!(refused.contains("loopback"), "{refused}");
/// ```
///
/// # Errors
/// A message saying why, naming the address and the settings to change.
pub fn loopback_only(addr: SocketAddr) -> Result<(), String> {
    if addr.ip().to_canonical().is_loopback() {
        return Ok(());
    }
    Err(format!(
        "the preview (ACTIONKIT_PREVIEW, --preview) runs actions without checking signatures, \
         so it is served only on a loopback address; {addr} is not one: serve on 127.0.0.1 or \
         [::1] (ACTIONKIT_ADDR, --addr), or turn the preview off"
    ))
}

/// What the preview routes share: the runtime and the preview's own idempotency store.
struct Preview<S> {
    runtime: Arc<Runtime<S>>,
    store: Arc<dyn IdempotencyStore>,
}

/// The preview routes over `runtime`, with a fresh in-memory idempotency store of their own.
pub(super) fn routes<S: Send + Sync + 'static>(runtime: Arc<Runtime<S>>) -> Router {
    let preview = Arc::new(Preview {
        runtime,
        store: Arc::new(MemoryStore::new()),
    });
    Router::new()
        .route("/preview", get(|| async { redirect("preview/") }))
        .route("/preview/", get(index::<S>))
        .route(
            "/preview/assets/preview.js",
            get(|headers: HeaderMap| async move {
                asset(&headers, "text/javascript; charset=utf-8", SCRIPT)
            }),
        )
        .route(
            "/preview/assets/preview.css",
            get(|headers: HeaderMap| async move {
                asset(&headers, "text/css; charset=utf-8", STYLE)
            }),
        )
        .route("/preview/{action}", get(page::<S>))
        .route("/preview/{action}/form_state", post(form_state::<S>))
        .route("/preview/{action}/run", post(run::<S>))
        .with_state(preview)
}

/// `GET /preview/`: every action, linked.
async fn index<S: Send + Sync + 'static>(
    State(preview): State<Arc<Preview<S>>>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = local_host(&headers) {
        return refused.into_response();
    }
    let mut items = String::new();
    for action in preview.runtime.actions() {
        items.push_str(&format!(
            "<li><a href=\"{id}\">{name}</a> <code>{id}</code>{description}</li>\n",
            id = escape(action.id),
            name = escape(action.name),
            description = action
                .description
                .map(|d| format!("<p>{}</p>", escape(d)))
                .unwrap_or_default(),
        ));
    }
    html(
        StatusCode::OK,
        "actions",
        &format!(
            "<main class=\"index\"><h1>Actions</h1>\n<ul class=\"actions\">\n{items}</ul>\n\
             <p class=\"note\">A preview of each action's form, driven by its real form state. \
             Runs use an idempotency store of their own.</p></main>"
        ),
    )
}

/// `GET /preview/<action>`: the page; the script renders the form from the embedded data.
async fn page<S: Send + Sync + 'static>(
    State(preview): State<Arc<Preview<S>>>,
    action: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = local_host(&headers) {
        return refused.into_response();
    }
    let action = action_id(action);
    let Some(info) = preview.runtime.action_info(&action) else {
        return html(
            StatusCode::NOT_FOUND,
            "not found",
            &format!(
                "<main class=\"index\"><h1>No action <code>{}</code></h1>\
                 <p><a href=\"./\">All actions</a></p></main>",
                escape(&action)
            ),
        );
    };
    let data = json!({
        "id": info.id,
        "name": info.name,
        "description": info.description,
        "input_schema": info.input_schema,
        "ui_schema": info.ui_schema,
        "form_state": preview.runtime.has_form_state(info.id),
    });
    html(
        StatusCode::OK,
        info.name,
        &format!(
            "<div id=\"root\"></div>\n<script id=\"action\" type=\"application/json\">{}</script>\n\
             <script src=\"assets/preview.js\"></script>",
            script_json(&data)
        ),
    )
}

/// `POST /preview/<action>/form_state`: the action's form-state dispatch, in-process.
async fn form_state<S: Send + Sync + 'static>(
    State(preview): State<Arc<Preview<S>>>,
    action: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request: FormStateRequest = match admit(&headers, &body) {
        Ok(request) => request,
        Err(refused) => return refused.into_response(),
    };
    let action = action_id(action);
    let call = FormCall::new(request).platform(PLATFORM).caller(CALLER);
    match preview.runtime.form_state_call(&action, call).await {
        Ok(answer) => json_response(
            StatusCode::OK,
            &serde_json::to_value(&answer).expect("form-state answers serialise"),
            None,
        ),
        Err(failure) => error_response(
            StatusCode::from_u16(failure.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            failure.kind.as_str(),
            &failure.message,
        ),
    }
}

/// What "Run" sends: the request id (a fresh one when absent) and the values.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunRequest {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    values: Map<String, Value>,
}

/// `POST /preview/<action>/run`: executes the values through the runtime, with idempotency kept
/// in the preview's own store.
async fn run<S: Send + Sync + 'static>(
    State(preview): State<Arc<Preview<S>>>,
    action: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request: RunRequest = match admit(&headers, &body) {
        Ok(request) => request,
        Err(refused) => return refused.into_response(),
    };
    let action = action_id(action);
    let Some(id) = preview.runtime.action_id(&action) else {
        return error_response(
            StatusCode::NOT_FOUND,
            FailureKind::NotFound.as_str(),
            &format!("no action `{action}`"),
        );
    };
    let request_id = match request.id.filter(|id| !id.trim().is_empty()) {
        Some(id) => id,
        None => fresh_request_id(),
    };
    let call = Call::new(id, request_id.as_str(), Value::Object(request.values)).platform(PLATFORM);
    let render: Arc<dyn Render> = Arc::new(OutcomeJson);
    let answer = preview
        .runtime
        .answer_in(&preview.store, call, render)
        .await;
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    json_response(
        StatusCode::OK,
        &json!({
            "request_id": request_id,
            "status": answer.status,
            "replayed": answer.replayed,
            "body": body,
        }),
        None,
    )
}

/// `preview_` and 16 random hex digits.
fn fresh_request_id() -> String {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).expect("the system has randomness");
    let mut id = String::from("preview_");
    for byte in random {
        id.push_str(&format!("{byte:02x}"));
    }
    id
}

/// A preview call's checks: a loopback `Host`, a JSON content type, a body that decodes.
fn admit<T: serde::de::DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, Refused> {
    local_host(headers)?;
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(Refused::invalid(
            "preview calls are `application/json`".into(),
        ));
    }
    serde_json::from_slice(body).map_err(|e| Refused::invalid(format!("not a preview call: {e}")))
}

/// Refuses a request whose `Host` is not a loopback name (`localhost`, `127.0.0.1`, `[::1]`…):
/// a page that re-binds its own host name to 127.0.0.1 still sends its own name.
fn local_host(headers: &HeaderMap) -> Result<(), Refused> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if is_loopback_host(host) {
        Ok(())
    } else {
        Err(Refused {
            status: StatusCode::FORBIDDEN,
            kind: "forbidden",
            message: "the preview answers only requests addressed to a loopback host \
                      (localhost, 127.0.0.1, [::1])"
                .into(),
        })
    }
}

fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// Why a preview request is refused, answered as `{"error": {"type", "message"}}`.
struct Refused {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

impl Refused {
    fn invalid(message: String) -> Self {
        Refused {
            status: StatusCode::BAD_REQUEST,
            kind: FailureKind::InvalidInput.as_str(),
            message,
        }
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        error_response(self.status, self.kind, &self.message)
    }
}

/// `{"error": {"type", "message"}}`, the shape of every refusal of the server.
fn error_response(status: StatusCode, kind: &str, message: &str) -> Response {
    json_response(
        status,
        &json!({"error": {"type": kind, "message": message}}),
        None,
    )
}

fn asset(headers: &HeaderMap, content_type: &'static str, body: &'static str) -> Response {
    if let Err(refused) = local_host(headers) {
        return refused.into_response();
    }
    let mut response = bytes_response(StatusCode::OK, body, None);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn redirect(to: &'static str) -> Response {
    (
        StatusCode::PERMANENT_REDIRECT,
        [(header::LOCATION, HeaderValue::from_static(to))],
    )
        .into_response()
}

fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} · actionkit preview</title>\n\
         <link rel=\"stylesheet\" href=\"assets/preview.css\">\n</head>\n<body>\n{body}\n</body>\n</html>\n",
        escape(title)
    );
    let mut response = bytes_response(status, page, None);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Scripts and styles from this server only (JSONForms validates with ajv, which compiles
    // schemas to functions: hence 'unsafe-eval'); no framing by other pages.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self' 'unsafe-eval'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    response
}

/// HTML text and attribute escaping.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON safe inside a `<script>` element: no `<`, `>` or `&` that could end it.
fn script_json(value: &Value) -> String {
    serde_json::to_string(value)
        .expect("JSON values serialise")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests;
