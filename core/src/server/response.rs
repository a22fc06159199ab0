//! JSON responses, body reading and header access shared by the pipeline and the platforms.

use axum::body::{Body, Bytes};
use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use crate::runtime::{Failure, FailureKind};

/// A JSON response, with `Retry-After` when given.
pub fn json_response(status: StatusCode, body: &Value, retry_after: Option<u64>) -> Response {
    bytes_response(
        status,
        serde_json::to_vec(body).expect("JSON values serialise"),
        retry_after,
    )
}

/// A response of JSON bytes, with `Retry-After` when given.
pub fn bytes_response(
    status: StatusCode,
    body: impl Into<Body>,
    retry_after: Option<u64>,
) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(secs) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// Whether reading a body failed because it passed the limit.
fn is_too_large(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = source {
        if error.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = error.source();
    }
    false
}

/// The `{action}` path segment, percent-decoded. One that is not UTF-8 once decoded names no
/// action: it reads as `U+FFFD`, so the request is answered like any unknown action (404 after
/// its signature, in the platform's error shape) instead of with axum's plain-text 400.
pub fn action_id(path: Result<Path<String>, PathRejection>) -> String {
    match path {
        Ok(Path(action)) => action,
        Err(_) => char::REPLACEMENT_CHARACTER.to_string(),
    }
}

/// The buffered body, or `413 too_large` (past the limit) / `400 invalid_input`.
pub fn read_body(body: Result<Bytes, axum::Error>) -> Result<Bytes, Failure> {
    body.map_err(|rejection| {
        if is_too_large(&rejection) {
            Failure::new(
                FailureKind::TooLarge,
                "the request body is larger than the server accepts",
            )
        } else {
            Failure::new(
                FailureKind::InvalidInput,
                format!("the request body could not be read: {rejection}"),
            )
        }
    })
}

/// A header a platform reads: its name, looked up without parsing it per request, and how
/// messages show it. Make them `const`s, so the name is checked at compile time.
#[cfg_attr(not(any(feature = "stripe", feature = "epilot")), allow(dead_code))]
#[derive(Clone, Debug)]
pub struct Header {
    name: HeaderName,
    shown: &'static str,
}

#[cfg_attr(not(any(feature = "stripe", feature = "epilot")), allow(dead_code))]
impl Header {
    /// `name` in lowercase (as HTTP/2 and `http` want it), shown in messages as `shown`.
    ///
    /// # Panics
    /// At compile time in a `const`, when `name` is not a valid lowercase header name.
    pub const fn new(name: &'static str, shown: &'static str) -> Self {
        Header {
            name: HeaderName::from_static(name),
            shown,
        }
    }
}

/// The one value of header `name`: `None` when absent; a `401 signature` failure when it appears
/// more than once or is not text (signature headers are only trusted when unambiguous).
#[cfg_attr(not(any(feature = "stripe", feature = "epilot")), allow(dead_code))]
pub fn single_header<'h>(
    headers: &'h axum::http::HeaderMap,
    header: &Header,
) -> Result<Option<&'h str>, Failure> {
    let name = header.shown;
    let mut values = headers.get_all(&header.name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Failure::new(
            FailureKind::Signature,
            format!("`{name}` appears more than once"),
        ));
    }
    first.to_str().map(Some).map_err(|_| {
        Failure::new(
            FailureKind::Signature,
            format!("`{name}` is not valid text"),
        )
    })
}

/// The one value of header `name`, which must be present: a `401 signature` failure naming it
/// when it is missing (see [`single_header`] for the other refusals).
#[cfg_attr(not(any(feature = "stripe", feature = "epilot")), allow(dead_code))]
pub fn required_header<'h>(
    headers: &'h axum::http::HeaderMap,
    header: &Header,
) -> Result<&'h str, Failure> {
    let name = header.shown;
    single_header(headers, header)?
        .ok_or_else(|| Failure::new(FailureKind::Signature, format!("missing `{name}` header")))
}
