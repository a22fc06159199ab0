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
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use super::kept::Kept;
use super::{Failure, FailureKind, Outcome, Render};
use crate::context::Context;
use crate::handler::{BoxFuture, HandlerResult};
use crate::store::{Claim, IdempotencyStore, InputHash, Lease, Recorded, StoreError};

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
    pub store_errors: super::StoreErrors,
    pub render: Arc<dyn Render>,
    pub action: &'static str,
    /// The hash of the input, kept with an outcome the store cannot take yet.
    pub input: InputHash,
    pub kept: Arc<Kept>,
}

impl Run {
    /// Runs the handler to its outcome, renders it once, and records or releases the id —
    /// here, or, if this future is dropped first (the caller hung up), on a task of its own.
    ///
    /// Nothing is boxed for that: the parts the rest of the run needs (the handler's future is
    /// already boxed) sit in a [`Survivor`], whose `Drop` spawns whatever stage was left.
    pub async fn finish(self) -> Ran {
        let mut survivor = Survivor(Some(Stage::Handling(self)));
        let outcome = match &mut survivor.0 {
            Some(Stage::Handling(run)) => handle(&run.ctx, &mut run.handler).await,
            _ => unreachable!("a run starts by handling"),
        };
        let Some(Stage::Handling(run)) = survivor.0.take() else {
            unreachable!("a run starts by handling")
        };
        let body = Bytes::from(run.render.render(&outcome));
        let record = Record::of(run, &outcome, body);
        survivor.0 = Some(Stage::Recording(record));
        let body = match &survivor.0 {
            Some(Stage::Recording(record)) => {
                record.store().await;
                record.body.clone()
            }
            _ => unreachable!("recording follows handling"),
        };
        survivor.0 = None;
        Ran { outcome, body }
    }
}

/// Where a run is, owned, so its `Drop` can carry the rest on.
enum Stage {
    Handling(Run),
    Recording(Record),
}

struct Survivor(Option<Stage>);

impl Drop for Survivor {
    fn drop(&mut self) {
        let Some(stage) = self.0.take() else { return };
        // Outside a runtime (it is shutting down) nothing can run it; the lease then expires
        // and the id becomes claimable again, as after a crash.
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        match stage {
            Stage::Handling(run) => {
                handle.spawn(async move {
                    run.finish().await;
                });
            }
            // Storing is one write keyed by the lease: doing it again after an interrupted
            // attempt records the same bytes, or finds them recorded.
            Stage::Recording(record) => {
                handle.spawn(async move {
                    record.store().await;
                });
            }
        }
    }
}

/// A finished handler's outcome on its way to the store: recorded when it is one that is
/// replayed, else the id released.
#[derive(Clone)]
struct Record {
    ctx: Context,
    lease: Lease,
    store: Arc<dyn IdempotencyStore>,
    store_errors: super::StoreErrors,
    action: &'static str,
    input: InputHash,
    kept: Arc<Kept>,
    recorded: Option<Recorded>,
    body: Bytes,
}

impl Record {
    fn of(run: Run, outcome: &Outcome, body: Bytes) -> Self {
        let replayed = match outcome {
            Outcome::Success { .. } => true,
            Outcome::Failure(f) => f.kind == FailureKind::Permanent,
        };
        let recorded = replayed.then(|| Recorded {
            status: outcome.status(),
            body: body.clone(),
            recorded_at: SystemTime::now(),
        });
        Record {
            ctx: run.ctx,
            lease: run.lease,
            store: run.store,
            store_errors: run.store_errors,
            action: run.action,
            input: run.input,
            kept: run.kept,
            recorded,
            body,
        }
    }

    /// Records the outcome (or releases the id). If the store is unavailable, the outcome is
    /// kept (so a redelivery replays it) and recorded by a task of its own once the store answers.
    async fn store(&self) {
        match self.try_store().await {
            Ok(()) => {}
            Err(StoreError::Unavailable { .. }) => {
                self.store_errors.inc();
                if let Some(recorded) = &self.recorded {
                    self.kept
                        .keep(self.lease.key(), self.input, recorded.clone());
                }
                tracing::warn!(
                    request_id = self.ctx.request_id(),
                    action = self.action,
                    "the store is unavailable; the outcome is kept and recorded when it is back"
                );
                let record = self.clone();
                tokio::spawn(async move { record.store_later().await });
            }
            Err(err) => self.gave_up(&err),
        }
    }

    async fn try_store(&self) -> Result<(), StoreError> {
        // Through the `dyn` itself: the `Arc` forwarding impl would box a second future.
        let store: &dyn IdempotencyStore = &*self.store;
        let Some(recorded) = &self.recorded else {
            return store.release(&self.lease).await;
        };
        match store.complete(&self.lease, recorded).await {
            // The claim is gone (a store that lost it in a fault, or a lease that expired and
            // was purged) yet the side effect happened: claim the id again to record it, unless
            // someone else holds it or it is recorded already.
            Err(StoreError::LeaseLost) => {
                match store
                    .claim(self.lease.key(), &self.input, RECLAIM_LEASE)
                    .await?
                {
                    Claim::Acquired(lease) => store.complete(&lease, recorded).await,
                    Claim::Replay(_) => Ok(()),
                    Claim::InProgress { .. } | Claim::Conflict => Err(StoreError::LeaseLost),
                }
            }
            stored => stored,
        }
    }

    /// Tries again, with backoff, until the store takes the outcome or the id is no longer ours.
    async fn store_later(self) {
        let mut wait = Duration::from_millis(50);
        loop {
            tokio::time::sleep(wait).await;
            match self.try_store().await {
                Ok(()) => {
                    tracing::info!(
                        request_id = self.ctx.request_id(),
                        action = self.action,
                        "the store is back; the kept outcome is recorded"
                    );
                    break;
                }
                Err(StoreError::Unavailable { .. }) => wait = (wait * 2).min(MAX_STORE_WAIT),
                Err(err) => {
                    self.gave_up(&err);
                    break;
                }
            }
        }
        self.kept.forget(self.lease.key());
    }

    fn gave_up(&self, err: &StoreError) {
        tracing::error!(request_id = self.ctx.request_id(), action = self.action, error = %err, "could not record the outcome");
    }
}

/// The lease taken to record an outcome whose claim the store lost.
const RECLAIM_LEASE: Duration = Duration::from_secs(30);

/// The longest wait between attempts to record a kept outcome.
const MAX_STORE_WAIT: Duration = Duration::from_secs(2);

/// The handler inline, under the deadline, with a panic turned into `500 internal`.
async fn handle(ctx: &Context, handler: &mut BoxFuture<HandlerResult>) -> Outcome {
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
    use crate::store::MemoryStore;

    async fn dropped_while<F: Future<Output = ()> + Send + 'static>(
        handler: F,
        store: Arc<MemoryStore>,
    ) -> Lease {
        let hash = crate::store::InputHash([3; 32]);
        let Ok(crate::store::Claim::Acquired(lease)) = store
            .claim("test:a:r1", &hash, Duration::from_secs(30))
            .await
        else {
            panic!("a fresh id is acquired");
        };
        let run = Run {
            ctx: Context::new("r1", "test", Duration::from_secs(5)),
            handler: Box::pin(async move {
                handler.await;
                Ok(crate::runtime::Output::null())
            }),
            lease: lease.clone(),
            store,
            store_errors: super::super::StoreErrors::default(),
            render: Arc::new(super::super::OutcomeJson),
            action: "a",
            input: hash,
            kept: Arc::default(),
        };
        // Poll it a little, then drop it as a disconnected request would.
        let _ = tokio::time::timeout(Duration::from_millis(5), run.finish()).await;
        lease
    }

    #[tokio::test]
    async fn a_run_dropped_mid_handler_finishes_and_records_on_its_own_task() {
        let store = Arc::new(MemoryStore::new());
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        dropped_while(
            async move {
                tokio::time::sleep(Duration::from_millis(30)).await;
                flag.store(true, Ordering::SeqCst);
            },
            store.clone(),
        )
        .await;
        assert!(
            !done.load(Ordering::SeqCst),
            "dropped before the handler finished"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(
            done.load(Ordering::SeqCst),
            "the handler ran to its end after the drop"
        );
        let hash = crate::store::InputHash([3; 32]);
        let claim = store
            .claim("test:a:r1", &hash, Duration::from_secs(30))
            .await
            .unwrap();
        let crate::store::Claim::Replay(recorded) = claim else {
            panic!("the outcome was recorded: {claim:?}");
        };
        assert_eq!(recorded.status, 200);
    }

    #[tokio::test]
    async fn a_panic_while_polling_is_caught() {
        let future: BoxFuture<u8> = Box::pin(async { panic!("boom") });
        let caught = CatchUnwind(future).await.unwrap_err();
        assert_eq!(panic_message(caught), "boom");
    }
}
