//! Execute deliveries: one request id delivered once or several times, in a row or at once,
//! retried on 5xx like a platform.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::Duration;

use serde_json::Value;

use super::{Simulator, fresh_id, now};
use crate::schema::to_input;

/// An execute call being set up; `.await` it to run.
pub struct Executing<'s, S, A> {
    sim: &'s Simulator<S>,
    input: Value,
    id: String,
    caller: Option<String>,
    deliveries: usize,
    concurrent: bool,
    retries: usize,
    _action: PhantomData<fn() -> A>,
}

/// One delivery's final answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: Value,
    /// How many requests it took (1 + retries).
    pub attempts: usize,
}

/// What an execute run did.
#[derive(Clone, Debug)]
pub struct ExecuteRun {
    /// The request id used.
    pub id: String,
    /// Each delivery's final answer.
    pub deliveries: Vec<Delivery>,
    handler_calls: u64,
}

impl ExecuteRun {
    /// How many times the handler ran for this run (1 for any number of deliveries of a
    /// completed id).
    pub fn handler_calls(&self) -> u64 {
        self.handler_calls
    }

    /// The final status of every delivery.
    pub fn statuses(&self) -> Vec<u16> {
        self.deliveries.iter().map(|d| d.status).collect()
    }

    /// The first delivery's answer.
    pub fn first(&self) -> &Delivery {
        &self.deliveries[0]
    }
}

impl<'s, S: Send + Sync + 'static, A: crate::Action + serde::Serialize> Executing<'s, S, A> {
    pub(super) fn new(sim: &'s Simulator<S>, input: A) -> Self {
        Self::from_value(sim, to_input(&input))
    }

    /// Delivers `input` as action `A`'s input whatever its shape (a saved configuration of an
    /// earlier version, say).
    pub(super) fn from_value(sim: &'s Simulator<S>, input: Value) -> Self {
        Executing {
            sim,
            input,
            id: fresh_id("req"),
            caller: None,
            deliveries: 1,
            concurrent: false,
            retries: 0,
            _action: PhantomData,
        }
    }

    /// Uses this request id (to replay an earlier run).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// Runs the call for `caller`, where the platform names one in its requests (an account, an
    /// organisation; the simulation's default otherwise).
    pub fn caller(mut self, caller: impl Into<String>) -> Self {
        self.caller = Some(caller.into());
        self
    }

    /// Delivers the same id `n` times (default 1).
    pub fn delivered(mut self, n: usize) -> Self {
        self.deliveries = n.max(1);
        self
    }

    /// Sends all deliveries at once instead of one after another.
    pub fn concurrently(mut self) -> Self {
        self.concurrent = true;
        self
    }

    /// Retries a delivery answered with a 5xx up to `n` times, waiting for `Retry-After` (capped
    /// by [`Simulator::max_backoff`]); 4xx answers are final, as on the platforms.
    pub fn retries(mut self, n: usize) -> Self {
        self.retries = n;
        self
    }

    async fn run(self) -> ExecuteRun {
        let before = self.sim.handler_runs(A::ID).await;
        let deliveries = if self.concurrent {
            let all = (0..self.deliveries).map(|_| self.deliver());
            futures_join_all(all).await
        } else {
            let mut out = Vec::new();
            for _ in 0..self.deliveries {
                out.push(self.deliver().await);
            }
            out
        };
        let after = self.sim.handler_runs(A::ID).await;
        ExecuteRun {
            id: self.id.clone(),
            deliveries,
            handler_calls: after - before,
        }
    }

    async fn deliver(&self) -> Delivery {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (status, body, retry_after) = self.send_once().await;
            if status >= 500 && attempts <= self.retries {
                let wait = Duration::from_secs(retry_after.unwrap_or(0))
                    .min(self.sim.settings.max_backoff);
                tokio::time::sleep(wait.max(Duration::from_millis(5))).await;
                continue;
            }
            return Delivery {
                status,
                body,
                attempts,
            };
        }
    }

    async fn send_once(&self) -> (u16, Value, Option<u64>) {
        let played = self.sim.playing();
        let request = played.simulation.execute_for(
            A::ID,
            &self.id,
            &self.input,
            self.caller.as_deref(),
            now(),
        );
        let (status, retry_after, body) = self.sim.send(request).await;
        assert!(
            played.simulation.keeps_contract(status, &body),
            "a {} answer broke the contract: {status} {body}",
            played.platform.name()
        );
        (status, body, retry_after)
    }
}

fn futures_join_all<F: Future<Output = Delivery>>(
    futures: impl Iterator<Item = F>,
) -> impl Future<Output = Vec<Delivery>> {
    let mut set: Vec<Pin<Box<F>>> = futures.map(Box::pin).collect();
    async move {
        let mut out = Vec::with_capacity(set.len());
        // Poll them together by racing within one task: a small join without extra crates.
        let mut slots: Vec<Option<Delivery>> = (0..set.len()).map(|_| None).collect();
        std::future::poll_fn(|cx| {
            let mut pending = false;
            for (i, fut) in set.iter_mut().enumerate() {
                if slots[i].is_none() {
                    match fut.as_mut().poll(cx) {
                        std::task::Poll::Ready(d) => slots[i] = Some(d),
                        std::task::Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(())
            }
        })
        .await;
        out.extend(slots.into_iter().map(|d| d.expect("all ready")));
        out
    }
}

impl<'s, S: Send + Sync + 'static, A: crate::Action + serde::Serialize> IntoFuture
    for Executing<'s, S, A>
{
    type Output = ExecuteRun;
    type IntoFuture = Pin<Box<dyn Future<Output = ExecuteRun> + Send + 's>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}
