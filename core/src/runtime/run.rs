//! Running a claimed call: the handler, inline on the caller's task, under its deadline and with
//! panics caught, then its outcome recorded. The run survives its caller: if the request's future
//! is dropped (the client disconnected, a proxy timed out) the rest of the run moves to a task of
//! its own, so a started handler always finishes (or times out) and its outcome is recorded, and
//! the platform's retry replays it instead of running the side effect again.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::SystemTime;

use bytes::Bytes;

use super::{Failure, FailureKind, Outcome, Render};
use crate::context::Context;
use crate::handler::{BoxFuture, HandlerResult};
use crate::store::{IdempotencyStore, Lease, Recorded};

/// What a finished run hands back: the outcome and its rendered bytes (recorded when the
/// outcome is one that is replayed).
pub(super) struct Ran {
    pub outcome: Outcome,
    pub body: Bytes,
}

/// Everything a run needs, owned, so it can outlive the request that started it.
pub(super) struct Run {
    pub ctx: Context,
    pub handler: BoxFuture<HandlerResult>,
    pub lease: Lease,
    pub store: Arc<dyn IdempotencyStore>,
    pub render: Arc<dyn Render>,
    pub action: &'static str,
}

impl Run {
    /// Runs the handler to its outcome, renders it once, and records or releases the id.
    pub async fn finish(self) -> Ran {
        let Run {
            ctx,
            handler,
            lease,
            store,
            render,
            action,
        } = self;
        let outcome = handle(&ctx, handler).await;
        let body = Bytes::from(render.render(&outcome));
        let recorded = match &outcome {
            Outcome::Success { .. } => true,
            Outcome::Failure(f) => f.kind == FailureKind::Permanent,
        };
        let (stored, body) = if recorded {
            let record = Recorded {
                status: outcome.status(),
                body,
                recorded_at: SystemTime::now(),
            };
            (store.complete(&lease, &record).await, record.body)
        } else {
            (store.release(&lease).await, body)
        };
        if let Err(err) = stored {
            tracing::error!(request_id = ctx.request_id(), action, error = %err, "could not record the outcome");
        }
        Ran { outcome, body }
    }
}

/// The handler inline, under the deadline, with a panic turned into `500 internal`.
async fn handle(ctx: &Context, handler: BoxFuture<HandlerResult>) -> Outcome {
    match tokio::time::timeout_at(ctx.deadline(), CatchUnwind(handler)).await {
        Ok(Ok(Ok(output))) => Outcome::Success { output },
        Ok(Ok(Err(err))) => Outcome::from(err),
        Ok(Err(panic)) => {
            let detail = panic_message(panic);
            tracing::error!(request_id = ctx.request_id(), panic = %detail, "the handler panicked");
            Outcome::Failure(Failure::new(
                FailureKind::Internal,
                "the handler failed unexpectedly; the platform may retry",
            ))
        }
        Err(_) => {
            // The timeout dropped the handler's future; tell anything it spawned to stop too.
            ctx.cancel();
            Outcome::Failure(Failure::new(
                FailureKind::Timeout,
                "the handler did not finish before its deadline",
            ))
        }
    }
}

/// A future that finishes on a task of its own if it is dropped before completing.
pub(super) struct Detached<T: Send + 'static> {
    inner: Option<BoxFuture<T>>,
}

impl<T: Send + 'static> Detached<T> {
    pub fn new(future: impl Future<Output = T> + Send + 'static) -> Self {
        Detached {
            inner: Some(Box::pin(future)),
        }
    }
}

impl<T: Send + 'static> Future for Detached<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<T> {
        let Some(inner) = self.inner.as_mut() else {
            panic!("`Detached` polled after completion");
        };
        let ready = inner.as_mut().poll(cx);
        if ready.is_ready() {
            self.inner = None;
        }
        ready
    }
}

impl<T: Send + 'static> Drop for Detached<T> {
    fn drop(&mut self) {
        if let Some(rest) = self.inner.take() {
            // Outside a runtime (it is shutting down) nothing can run it; the lease then expires
            // and the id becomes claimable again, as after a crash.
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move {
                    rest.await;
                });
            }
        }
    }
}

/// `catch_unwind` for a future: a panic while polling becomes `Err(payload)`.
pub(super) struct CatchUnwind<F>(pub F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

pub(super) fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => payload
            .downcast::<&'static str>()
            .map(|s| (*s).to_owned())
            .unwrap_or_else(|_| "a non-string panic".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_dropped_detached_future_finishes_on_its_own_task() {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let detached = Detached::new(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            flag.store(true, Ordering::SeqCst);
        });
        // Poll once, then drop it as a disconnected request would.
        let _ = tokio::time::timeout(Duration::from_millis(1), detached).await;
        assert!(!done.load(Ordering::SeqCst));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(done.load(Ordering::SeqCst), "the rest ran after the drop");
    }

    #[tokio::test]
    async fn a_panic_while_polling_is_caught() {
        let future: BoxFuture<u8> = Box::pin(async { panic!("boom") });
        let caught = CatchUnwind(future).await.unwrap_err();
        assert_eq!(panic_message(caught), "boom");
    }
}
