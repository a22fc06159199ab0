//! `GET /metrics` (Prometheus text format) and `GET /readyz`.
//!
//! Recording is on the request path, so it is kept cheap: every label is a `&'static str` or a
//! number (the platform's name, the registered action id, the outcome label, the status), so a
//! label set is built on the stack and a family finds its counter under a read lock; only the
//! first call of each (platform, action, outcome, status) allocates. No request id, secret or
//! token is ever a label, and an unregistered action is counted under `action=""`, so a client
//! cannot grow the label space.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use serde_json::json;

use super::response::{bytes_response, json_response};
use crate::runtime::{Answer, StoreErrors};
use crate::store::Store;

/// How long `/readyz` and the queue-depth read at scrape time wait for the store.
const STORE_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The upper bounds of the duration histogram, in seconds: from a replay (~1 ms) to past the
/// default 20 s execute budget.
const DURATION_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    platform: &'static str,
    action: &'static str,
    outcome: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    platform: &'static str,
    action: &'static str,
}

/// One (platform, action)'s duration histogram and success counter, shared with the registry.
pub(crate) struct RouteMetrics {
    pub(crate) action: &'static str,
    duration: Histogram,
    succeeded: Counter,
}

/// The server's metrics and the store they probe.
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<CallLabels, Counter>,
    durations: Family<RouteLabels, Histogram, fn() -> Histogram>,
    replays: Counter,
    store_errors: StoreErrors,
    form_states: Family<CallLabels, Counter>,
    form_state_durations: Family<RouteLabels, Histogram, fn() -> Histogram>,
    callback_attempts: Counter,
    queue_depth: Gauge,
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

impl Metrics {
    /// Registers every metric, over `store` (probed by `/readyz` and for the queue depth).
    pub(crate) fn new(store: Arc<dyn Store>) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<CallLabels, Counter>::default();
        registry.register(
            "actionkit_requests",
            "Execute calls answered, by platform, action, outcome and HTTP status",
            requests.clone(),
        );
        let durations = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            duration_histogram,
        );
        registry.register(
            "actionkit_request_duration_seconds",
            "Time from a request's arrival to its answer, by platform and action",
            durations.clone(),
        );
        let replays = Counter::default();
        registry.register(
            "actionkit_replays",
            "Calls answered from the idempotency store without running the handler",
            replays.clone(),
        );
        let store_errors = StoreErrors::default();
        registry.register(
            "actionkit_store_errors",
            "Store operations that failed (the store was unavailable)",
            store_errors.clone(),
        );
        let form_states = Family::<CallLabels, Counter>::default();
        registry.register(
            "actionkit_form_state_requests",
            "get_form_state calls answered, by platform, action, outcome and HTTP status",
            form_states.clone(),
        );
        let form_state_durations =
            Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                duration_histogram,
            );
        registry.register(
            "actionkit_form_state_duration_seconds",
            "Time from a get_form_state call's arrival to its answer, by platform and action",
            form_state_durations.clone(),
        );
        let callback_attempts = Counter::default();
        registry.register(
            "actionkit_callback_attempts",
            "Attempts to deliver a deferred callback (epilot's resume), whatever their answer",
            callback_attempts.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "actionkit_callback_queue_depth",
            "Deferred jobs not yet finished, read from the store at scrape time",
            queue_depth.clone(),
        );
        Metrics {
            registry,
            requests,
            durations,
            replays,
            store_errors,
            form_states,
            form_state_durations,
            callback_attempts,
            queue_depth,
            store,
        }
    }

    /// Records one answered form-state call (`action`: a registered id or `""`). Rarer than
    /// execute calls and never on the hot path, so looked up each time.
    pub(crate) fn record_form_state(
        &self,
        platform: &'static str,
        action: &'static str,
        answer: &Answer,
        started: Instant,
    ) {
        self.form_states
            .get_or_create(&CallLabels {
                platform,
                action,
                outcome: answer.label,
                status: answer.status,
            })
            .inc();
        self.form_state_durations
            .get_or_create(&RouteLabels { platform, action })
            .observe(started.elapsed().as_secs_f64());
    }

    /// The counters handed to platforms' background work.
    pub(crate) fn work(&self) -> crate::platform::WorkMetrics {
        crate::platform::WorkMetrics::new(self.callback_attempts.clone())
    }

    /// The store-error counter, shared with the runtime.
    pub(crate) fn store_errors(&self) -> StoreErrors {
        self.store_errors.clone()
    }

    /// The handles of one (platform, action), resolved once when the routes are built, so the
    /// usual answer is recorded without a lookup.
    pub(crate) fn route(&self, platform: &'static str, action: &'static str) -> RouteMetrics {
        let succeeded = CallLabels {
            platform,
            action,
            outcome: "success",
            status: 200,
        };
        RouteMetrics {
            action,
            duration: self
                .durations
                .get_or_create(&RouteLabels { platform, action })
                .clone(),
            succeeded: self.requests.get_or_create(&succeeded).clone(),
        }
    }

    /// Records one answered call; `action` is a registered id or `""`, `route` its handles
    /// when it has some.
    pub(crate) fn record(
        &self,
        route: Option<&RouteMetrics>,
        platform: &'static str,
        action: &'static str,
        answer: &Answer,
        started: Instant,
    ) {
        let (outcome, status) = (answer.label, answer.status);
        let elapsed = started.elapsed().as_secs_f64();
        match route {
            Some(route) if outcome == "success" && status == 200 => {
                route.succeeded.inc();
            }
            _ => {
                self.requests
                    .get_or_create(&CallLabels {
                        platform,
                        action,
                        outcome,
                        status,
                    })
                    .inc();
            }
        }
        match route {
            Some(route) => route.duration.observe(elapsed),
            None => self
                .durations
                .get_or_create(&RouteLabels { platform, action })
                .observe(elapsed),
        }
        if answer.replayed {
            self.replays.inc();
        }
    }

    /// `GET /metrics`: the queue depth read from the store, then every metric as text.
    pub(crate) async fn scrape(&self) -> Response {
        match tokio::time::timeout(STORE_PROBE_TIMEOUT, self.store.pending()).await {
            Ok(Ok(depth)) => {
                self.queue_depth
                    .set(i64::try_from(depth).unwrap_or(i64::MAX));
            }
            Ok(Err(_)) | Err(_) => {
                self.store_errors.inc();
            }
        }
        let mut text = String::new();
        if prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry).is_err()
        {
            return bytes_response(StatusCode::INTERNAL_SERVER_ERROR, Vec::new(), None);
        }
        let mut response = bytes_response(StatusCode::OK, text, None);
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        );
        response
    }

    /// `GET /readyz`: `200` while the store answers a ping within 2 s, else `503`.
    pub(crate) async fn ready(&self) -> Response {
        // The reason goes to the log, not to whoever asks.
        match tokio::time::timeout(STORE_PROBE_TIMEOUT, self.store.ping()).await {
            Ok(Ok(())) => return json_response(StatusCode::OK, &json!({"status": "ready"}), None),
            Ok(Err(err)) => tracing::warn!(error = %err, "not ready: the store does not answer"),
            Err(_) => tracing::warn!("not ready: the store did not answer within 2 s"),
        }
        self.store_errors.inc();
        json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"status": "unavailable"}),
            Some(1),
        )
    }
}
