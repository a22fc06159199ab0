//! `wait_for_callback`: when epilot's event carries a `resume_token` and a `callback_post_url`,
//! the call is answered at once (`200 {}`), the work is queued durably in the store, and a
//! [`CallbackWorker`] runs the handler (through the same idempotent runtime) and then POSTs
//! exactly `{"resume_token": …}` to the callback URL:
//!
//! - `2xx`: the flow is resumed; the job is finished as delivered;
//! - `400`, `403`, `404`: epilot will never accept this token (documented answers of its resume
//!   endpoint), so the job is finished as failed at once, logged once with the status, and not
//!   retried;
//! - anything else (`429`, `5xx`, no answer): retried with exponential backoff until it
//!   succeeds or the [`RetryPolicy`] budget runs out (then finished as failed).
//!
//! A resume cannot carry the handler's outcome: the flow goes on whether the handler succeeded
//! or failed (a failure is logged).
//!
//! Every step is recorded, so a restart neither loses nor repeats work: a job whose handler
//! finished only retries its callback; a job interrupted mid-handler runs again after its lease
//! expires (the runtime's idempotency record then replays a completed handler). With the
//! PostgreSQL store several replicas share the queue; a job is claimed atomically, by one at a
//! time, and a crashed replica's jobs are picked up when its lease expires.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Notify;

use super::wire::{self, EpilotEvent};
use crate::context::Secret;
use crate::runtime::{Call, Engine, FailureKind, Outcome};
use crate::store::{CallbackQueue, JobLease, PendingJob};

/// The longest wait between polls of an unavailable callback queue.
pub const MAX_OUTAGE_WAIT: Duration = Duration::from_secs(10);

/// How a [`CallbackWorker`] retries.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// The first wait.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
    /// Attempts (handler runs plus callback POSTs) before giving up.
    pub attempts: u32,
}

impl Default for RetryPolicy {
    /// 1 s doubling to 5 min, 20 attempts (about an hour in all).
    fn default() -> Self {
        RetryPolicy {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(300),
            attempts: 20,
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use actionkit_core::platform::epilot::callback::RetryPolicy;
    /// let policy = RetryPolicy { initial: Duration::from_secs(1), max: Duration::from_secs(5), attempts: 9 };
    /// assert_eq!(policy.backoff(0), Duration::from_secs(1));
    /// assert_eq!(policy.backoff(2), Duration::from_secs(4));
    /// assert_eq!(policy.backoff(7), Duration::from_secs(5));
    /// ```
    pub fn backoff(&self, attempt: u32) -> Duration {
        self.initial
            .saturating_mul(2u32.saturating_pow(attempt.min(20)))
            .min(self.max)
    }
}

/// The queued work: everything needed to run the handler and resume the flow after a restart.
#[derive(Serialize, Deserialize)]
pub(crate) struct Job {
    pub action: String,
    pub request_id: String,
    pub input: Value,
    pub org_id: String,
    pub entity: Value,
    pub execution_id: Option<String>,
    pub execution_action_id: Option<String>,
    pub trigger_event: Value,
    pub app_options: Value,
    pub app_config: Value,
    /// Short-lived (minutes); kept so a retried handler can still call epilot.
    pub token: Option<String>,
    pub resume_token: String,
    pub callback_url: String,
}

impl Job {
    pub(crate) fn new(
        action: &str,
        request_id: &str,
        input: Value,
        event: &EpilotEvent,
        resume: &Secret,
        url: &str,
    ) -> Self {
        Job {
            action: action.to_owned(),
            request_id: request_id.to_owned(),
            input,
            org_id: event.org_id.clone(),
            entity: event.entity.clone(),
            execution_id: event.execution_id.clone(),
            execution_action_id: event.execution_action_id.clone(),
            trigger_event: event.trigger_event.clone(),
            app_options: event.app_options_raw.clone(),
            app_config: event.app_config.clone(),
            token: event.token.as_ref().map(|t| t.expose().to_owned()),
            resume_token: resume.expose().to_owned(),
            callback_url: url.to_owned(),
        }
    }

    fn event(&self) -> EpilotEvent {
        EpilotEvent {
            org_id: self.org_id.clone(),
            entity: self.entity.clone(),
            execution_id: self.execution_id.clone(),
            execution_action_id: self.execution_action_id.clone(),
            trigger_event: self.trigger_event.clone(),
            app_options_raw: self.app_options.clone(),
            app_config: self.app_config.clone(),
            token: self.token.clone().map(Secret::new),
        }
    }
}

/// How a resume POST went.
#[derive(Debug, PartialEq, Eq)]
enum Resume {
    /// `2xx`: the flow goes on.
    Done,
    /// `400`, `403` or `404`: epilot will never accept this token (the execution cannot be
    /// resumed, is not the app's, or is gone); retrying cannot help.
    Refused(u16),
    /// Anything else (`429`, `5xx`, another status, no answer): retried with backoff.
    Failed(String),
}

impl Resume {
    fn from_status(status: u16) -> Self {
        match status {
            200..=299 => Resume::Done,
            400 | 403 | 404 => Resume::Refused(status),
            _ => Resume::Failed(format!("the callback URL answered HTTP {status}")),
        }
    }
}

/// The idempotency-store key of a queued epilot call.
pub(crate) fn job_key(action: &str, request_id: &str) -> String {
    format!("{}-callback:{action}:{request_id}", super::PLATFORM)
}

/// Runs queued `wait_for_callback` work until its server stops.
#[doc(hidden)]
pub struct CallbackWorker {
    runtime: Arc<dyn Engine>,
    queue: Arc<dyn CallbackQueue>,
    client: reqwest::Client,
    policy: RetryPolicy,
    wake: Arc<Notify>,
    metrics: crate::platform::WorkMetrics,
}

impl CallbackWorker {
    /// A worker over `runtime` and `queue`.
    pub fn new(
        runtime: Arc<dyn Engine>,
        queue: Arc<dyn CallbackQueue>,
        policy: RetryPolicy,
    ) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("a TLS backend is built in");
        CallbackWorker {
            runtime,
            queue,
            client,
            policy,
            wake: Arc::new(Notify::new()),
            metrics: crate::platform::WorkMetrics::default(),
        }
    }

    /// Counts its resume attempts into `metrics` (the server's `/metrics`).
    pub fn metrics(mut self, metrics: crate::platform::WorkMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Wakes the worker at once (after a job was queued).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Works until `stop` completes: claims due jobs one at a time, and otherwise waits for a
    /// wake-up or polls every `poll`. While the queue is unavailable it waits longer and longer
    /// (up to [`MAX_OUTAGE_WAIT`]) and logs once when the outage starts and once when it ends.
    pub async fn run(self, poll: Duration, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let mut outage: Option<Duration> = None;
        loop {
            match self
                .queue
                .claim_due(self.runtime.budget() + Duration::from_secs(30))
                .await
            {
                Ok(found) => {
                    if outage.take().is_some() {
                        tracing::info!("the callback queue is available again");
                    }
                    if let Some((job, lease)) = found {
                        self.process(job, lease).await;
                        continue;
                    }
                }
                Err(err) => {
                    let wait = match outage {
                        None => {
                            tracing::error!(error = %err, "the callback queue is unavailable; retrying with backoff (logged once)");
                            poll
                        }
                        Some(wait) => (wait * 2).min(MAX_OUTAGE_WAIT),
                    };
                    outage = Some(wait);
                }
            }
            tokio::select! {
                () = &mut stop => return,
                () = self.wake.notified(), if outage.is_none() => {}
                () = tokio::time::sleep(outage.unwrap_or(poll)) => {}
            }
        }
    }

    async fn process(&self, job: PendingJob, lease: JobLease) {
        let Ok(work) = serde_json::from_slice::<Job>(&job.payload) else {
            tracing::error!(key = %job.key, "a queued callback could not be read; dropping it");
            let _ = self.queue.finish(&lease, false).await;
            return;
        };
        let span = tracing::info_span!("callback", platform = super::PLATFORM, action = %work.action, request_id = %work.request_id);
        let _enter = span.enter();
        drop(_enter);
        if job.outcome.is_none() {
            let mut call = Call::new(
                work.action.clone(),
                work.request_id.clone(),
                work.input.clone(),
            )
            .platform(super::PLATFORM);
            call.extensions.insert(work.event());
            let done = self.runtime.execute(call).await;
            let retry = done
                .outcome
                .failure()
                .is_some_and(|f| f.kind.is_retryable() || f.kind == FailureKind::InProgress);
            if retry {
                span.in_scope(|| {
                    tracing::warn!(
                        outcome = done.outcome.label(),
                        attempt = job.attempts + 1,
                        "the deferred handler will be retried"
                    )
                });
                return self.later(&lease, job.attempts).await;
            }
            let outcome = serde_json::to_vec(&done.outcome).expect("outcomes serialise");
            if let Err(err) = self.queue.record_outcome(&lease, &outcome).await {
                span.in_scope(
                    || tracing::error!(error = %err, "could not record the deferred outcome"),
                );
                return;
            }
            if let Outcome::Failure(f) = &done.outcome {
                span.in_scope(|| {
                    tracing::warn!(
                        outcome = f.kind.as_str(),
                        "the deferred handler failed permanently; resuming the flow anyway"
                    )
                });
            }
        }
        match self.resume(&work).await {
            Resume::Done => {
                span.in_scope(|| tracing::info!(attempts = job.attempts + 1, "flow resumed"));
                if let Err(err) = self.queue.finish(&lease, true).await {
                    span.in_scope(
                        || tracing::error!(error = %err, "could not mark the callback done"),
                    );
                }
            }
            Resume::Refused(status) => {
                span.in_scope(|| {
                    tracing::error!(
                        status,
                        attempt = job.attempts + 1,
                        "epilot refused the resume token; the flow stays paused (not retried)"
                    )
                });
                if let Err(err) = self.queue.finish(&lease, false).await {
                    span.in_scope(
                        || tracing::error!(error = %err, "could not mark the callback failed"),
                    );
                }
            }
            Resume::Failed(reason) => {
                span.in_scope(|| tracing::warn!(attempt = job.attempts + 1, %reason, "resuming the flow failed"));
                self.later(&lease, job.attempts).await;
            }
        }
    }

    /// POSTs exactly `{"resume_token": "…"}` (with only `Content-Type: application/json`, as
    /// epilot's own apps do) and classifies the answer.
    async fn resume(&self, work: &Job) -> Resume {
        self.metrics.callback_attempt();
        let answered = self
            .client
            .post(&work.callback_url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(wire::resume_body(&work.resume_token))
            .send()
            .await;
        match answered {
            Ok(response) => Resume::from_status(response.status().as_u16()),
            Err(e) => Resume::Failed(format!(
                "the callback URL could not be reached: {}",
                e.without_url()
            )),
        }
    }

    async fn later(&self, lease: &JobLease, attempts: u32) {
        let result = if attempts + 1 >= self.policy.attempts {
            tracing::error!(
                attempts = attempts + 1,
                "giving up on a deferred call: its retry budget ran out"
            );
            self.queue.finish(lease, false).await
        } else {
            self.queue
                .retry_later(lease, self.policy.backoff(attempts))
                .await
        };
        if let Err(err) = result {
            tracing::error!(error = %err, "could not reschedule a deferred call");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use axum::http::{HeaderMap, StatusCode};

    use super::*;
    use crate::runtime::Runtime;
    use crate::store::{MemoryStore, StoreError};

    /// A memory queue that remembers how its jobs were finished.
    #[derive(Default)]
    struct Recording {
        store: MemoryStore,
        finished: Mutex<Vec<bool>>,
    }

    #[async_trait]
    impl CallbackQueue for Recording {
        async fn enqueue(&self, key: &str, payload: &[u8]) -> Result<bool, StoreError> {
            self.store.enqueue(key, payload).await
        }
        async fn claim_due(
            &self,
            lease: Duration,
        ) -> Result<Option<(PendingJob, JobLease)>, StoreError> {
            self.store.claim_due(lease).await
        }
        async fn record_outcome(&self, lease: &JobLease, outcome: &[u8]) -> Result<(), StoreError> {
            self.store.record_outcome(lease, outcome).await
        }
        async fn retry_later(&self, lease: &JobLease, delay: Duration) -> Result<(), StoreError> {
            self.store.retry_later(lease, delay).await
        }
        async fn finish(&self, lease: &JobLease, delivered: bool) -> Result<(), StoreError> {
            self.finished.lock().unwrap().push(delivered);
            self.store.finish(lease, delivered).await
        }
        async fn pending(&self) -> Result<u64, StoreError> {
            self.store.pending().await
        }
    }

    /// A resume endpoint on loopback answering `status`, recording what it was sent.
    async fn receiver(status: u16) -> (String, Arc<Mutex<Vec<(Option<String>, Vec<u8>)>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let app = axum::Router::new().route(
            "/v1/automation/public/executions:resume",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let log = log.clone();
                async move {
                    let content_type = headers
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    log.lock().unwrap().push((content_type, body.to_vec()));
                    StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (
            format!("http://{addr}/v1/automation/public/executions:resume"),
            seen,
        )
    }

    /// A job whose handler already ran: only its resume is left.
    async fn handled_job(queue: &Recording, url: &str) -> (PendingJob, JobLease) {
        let job = Job::new(
            "send_email",
            "msg_1",
            Value::Null,
            &EpilotEvent::default(),
            &Secret::new("rt_1".to_owned()),
            url,
        );
        let key = job_key("send_email", "msg_1");
        queue
            .enqueue(&key, &serde_json::to_vec(&job).unwrap())
            .await
            .unwrap();
        let (_, lease) = queue
            .claim_due(Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap();
        queue.record_outcome(&lease, b"{}").await.unwrap();
        queue.retry_later(&lease, Duration::ZERO).await.unwrap();
        let (job, lease) = queue
            .claim_due(Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap();
        assert!(job.outcome.is_some());
        (job, lease)
    }

    #[tokio::test]
    async fn resume_answers_decide_between_done_failed_and_retried() {
        for (status, finished, pending) in [
            (200, vec![true], 0),
            (204, vec![true], 0),
            (400, vec![false], 0),
            (403, vec![false], 0),
            (404, vec![false], 0),
            (429, vec![], 1),
            (500, vec![], 1),
            (503, vec![], 1),
        ] {
            let queue = Arc::new(Recording::default());
            let (url, seen) = receiver(status).await;
            let counted = crate::platform::WorkMetrics::default();
            let worker = CallbackWorker::new(
                Arc::new(Runtime::new(())),
                queue.clone(),
                RetryPolicy::default(),
            )
            .metrics(counted.clone());
            let (job, lease) = handled_job(&queue, &url).await;
            worker.process(job, lease).await;
            assert_eq!(
                counted.callback_attempts(),
                1,
                "HTTP {status}: one attempt counted"
            );
            assert_eq!(*queue.finished.lock().unwrap(), finished, "HTTP {status}");
            assert_eq!(queue.pending().await.unwrap(), pending, "HTTP {status}");
            let seen = seen.lock().unwrap();
            assert_eq!(seen.len(), 1, "HTTP {status}: one POST");
            assert_eq!(seen[0].0.as_deref(), Some("application/json"));
            assert_eq!(seen[0].1, br#"{"resume_token":"rt_1"}"#);
        }
    }

    /// A queue that is down while `down` is set, counting how often it is asked for work.
    #[derive(Default)]
    struct Outage {
        inner: MemoryStore,
        down: std::sync::atomic::AtomicBool,
        polls: std::sync::atomic::AtomicUsize,
    }

    #[async_trait]
    impl CallbackQueue for Outage {
        async fn enqueue(&self, key: &str, payload: &[u8]) -> Result<bool, StoreError> {
            self.inner.enqueue(key, payload).await
        }
        async fn claim_due(
            &self,
            lease: Duration,
        ) -> Result<Option<(PendingJob, JobLease)>, StoreError> {
            use std::sync::atomic::Ordering::SeqCst;
            self.polls.fetch_add(1, SeqCst);
            if self.down.load(SeqCst) {
                return Err(StoreError::unavailable(
                    "polling",
                    std::io::Error::other("down"),
                ));
            }
            self.inner.claim_due(lease).await
        }
        async fn record_outcome(&self, lease: &JobLease, outcome: &[u8]) -> Result<(), StoreError> {
            self.inner.record_outcome(lease, outcome).await
        }
        async fn retry_later(&self, lease: &JobLease, delay: Duration) -> Result<(), StoreError> {
            self.inner.retry_later(lease, delay).await
        }
        async fn finish(&self, lease: &JobLease, delivered: bool) -> Result<(), StoreError> {
            self.inner.finish(lease, delivered).await
        }
        async fn pending(&self) -> Result<u64, StoreError> {
            self.inner.pending().await
        }
    }

    #[tokio::test]
    async fn an_unavailable_queue_is_polled_with_backoff_and_work_resumes_when_it_is_back() {
        use std::sync::atomic::Ordering::SeqCst;
        let queue = Arc::new(Outage::default());
        queue.down.store(true, SeqCst);
        let worker = CallbackWorker::new(
            Arc::new(Runtime::new(())),
            queue.clone(),
            RetryPolicy::default(),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(worker.run(Duration::from_millis(5), async move {
            let _ = stopped.await;
        }));
        tokio::time::sleep(Duration::from_millis(600)).await;
        let polls = queue.polls.load(SeqCst);
        // Every 5 ms would be about 120 polls; doubling waits make about 7.
        assert!(
            (2..=12).contains(&polls),
            "{polls} polls in 600 ms of outage"
        );
        queue.down.store(false, SeqCst);
        let back = async {
            while queue.polls.load(SeqCst) < polls + 3 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(2), back)
            .await
            .expect("once the queue is back, the worker polls at its usual pace again");
        stop.send(()).unwrap();
        running.await.unwrap();
    }

    #[tokio::test]
    async fn an_unreachable_callback_url_is_retried() {
        let queue = Arc::new(Recording::default());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/resume", listener.local_addr().unwrap());
        drop(listener);
        let worker = CallbackWorker::new(
            Arc::new(Runtime::new(())),
            queue.clone(),
            RetryPolicy::default(),
        );
        let (job, lease) = handled_job(&queue, &url).await;
        worker.process(job, lease).await;
        assert!(queue.finished.lock().unwrap().is_empty());
        assert_eq!(queue.pending().await.unwrap(), 1);
    }

    #[test]
    fn only_the_documented_refusals_are_permanent() {
        assert_eq!(Resume::from_status(200), Resume::Done);
        for status in [400, 403, 404] {
            assert_eq!(Resume::from_status(status), Resume::Refused(status));
        }
        for status in [401, 408, 409, 429, 500, 502, 503] {
            assert!(matches!(Resume::from_status(status), Resume::Failed(_)));
        }
    }
}
