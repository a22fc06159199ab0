//! What the runtime gives back: [`Executed`] in-process, and for servers the [`Answer`] their
//! platform's [`Render`] put on the wire (recorded and replayed byte for byte).

#[cfg(doc)]
use super::Runtime;
use super::{FailureKind, Outcome};
use crate::store::Recorded;

/// The result of [`Runtime::execute`].
#[derive(Clone, Debug, PartialEq)]
pub struct Executed {
    /// What to answer.
    pub outcome: Outcome,
    /// Whether the outcome was replayed from the store (the handler did not run).
    pub replayed: bool,
    /// Whether the handler ran for this call.
    pub ran: bool,
}

/// Puts outcomes on the wire: each platform renders its own body, and the runtime records
/// exactly those bytes, so a replay answers byte for byte what the first call answered without
/// serialising anything again.
///
/// ```
/// use actionkit_core::runtime::{Outcome, Render};
/// struct Plain;
/// impl Render for Plain {
///     fn render(&self, outcome: &Outcome) -> Vec<u8> {
///         outcome.label().as_bytes().to_vec()
///     }
/// }
/// assert_eq!(Plain.render(&Outcome::Success { output: actionkit_core::runtime::Output::null() }), b"success");
/// ```
pub trait Render: Send + Sync + 'static {
    /// The response body for `outcome` (its status is [`Outcome::status`]).
    fn render(&self, outcome: &Outcome) -> Vec<u8>;
}

/// The platform-neutral rendering: the [`Outcome`] itself as JSON, as in-process calls and
/// queued work record it.
#[derive(Clone, Copy, Debug, Default)]
pub struct OutcomeJson;

impl Render for OutcomeJson {
    fn render(&self, outcome: &Outcome) -> Vec<u8> {
        serde_json::to_vec(outcome).expect("outcomes serialise")
    }
}

/// What [`Runtime::answer`] gives a server: the status and the rendered body (replayed bytes
/// for a completed id), with what the log line needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The rendered body.
    pub body: bytes::Bytes,
    /// Seconds the platform should wait before retrying, for `Retry-After`.
    pub retry_after: Option<u64>,
    /// `success` or the failure's type, for logs.
    pub label: &'static str,
    /// Whether the body was replayed from the store (the handler did not run).
    pub replayed: bool,
    /// Whether the handler ran for this call.
    pub ran: bool,
}

impl Answer {
    /// The answer for an outcome the runtime did not record (a refusal, or work a platform
    /// took over), rendered by `render`; neither replayed nor run.
    pub fn rendered(outcome: &Outcome, render: &dyn Render) -> Self {
        Answer {
            status: outcome.status(),
            body: render.render(outcome).into(),
            retry_after: outcome.failure().and_then(|f| f.retry_after),
            label: outcome.label(),
            replayed: false,
            ran: false,
        }
    }
}

/// A completed id's recorded answer, byte for byte.
pub(super) fn replay(recorded: Recorded) -> Answer {
    Answer {
        status: recorded.status,
        label: if recorded.status < 300 {
            "success"
        } else {
            FailureKind::Permanent.as_str()
        },
        body: recorded.body,
        retry_after: None,
        replayed: true,
        ran: false,
    }
}
