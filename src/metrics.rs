//! The server's Prometheus metrics, rendered by `GET /metrics` in the text exposition format.
//!
//! One registry per server, never a global one: several servers share a process in the
//! integration tests, and each must count only its own work. No label carries an instance,
//! a key, a resource id or a raw path: they would let the series grow without bound, and
//! tenant names are not public.

use crate::provisioning_log::ProvisioningLog;
use crate::store::metrics::StoreMetrics;
use projections::runner::Projector;
use prometheus_client::encoding::{prometheus_text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::time::Duration;

pub use prometheus_text::CONTENT_TYPE;

/// The route label of a request that matched no route (a 404 from a fallback).
pub const UNMATCHED_ROUTE: &str = "unmatched";

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

type Latencies = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// Which credential a refused request failed to present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A SCIM API key under `/scim/v2`.
    ScimKey,
    /// The admin token of `/admin/v1`.
    AdminToken,
    /// The token of `/metrics`.
    MetricsToken,
}

impl Credential {
    fn label(self) -> CredentialLabels {
        let credential = match self {
            Self::ScimKey => "scim_key",
            Self::AdminToken => "admin_token",
            Self::MetricsToken => "metrics_token",
        };
        CredentialLabels { credential }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CredentialLabels {
    credential: &'static str,
}

/// What the accept loop counts: the connections it serves and those it turned away at the cap.
#[derive(Clone, Default)]
pub struct ConnectionMetrics {
    pub open: Gauge,
    pub refused: Counter,
}

/// What authentication counts: refusals, and those answered 429 because their client address
/// had failed too often.
#[derive(Clone, Default)]
pub struct AuthMetrics {
    failed: Family<CredentialLabels, Counter>,
    limited: Family<CredentialLabels, Counter>,
}

impl AuthMetrics {
    pub fn failed(&self, credential: Credential) {
        self.failed.get_or_create(&credential.label()).inc();
    }

    pub fn limited(&self, credential: Credential) {
        self.limited.get_or_create(&credential.label()).inc();
    }
}

/// 1 ms to about 16 s: a read answers in milliseconds, a large Bulk request in seconds.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latencies: Latencies,
    projection_lag: Gauge,
    pub connections: ConnectionMetrics,
    pub auth: AuthMetrics,
}

impl Metrics {
    /// The registry of one server: its own request metrics, and those its store and
    /// provisioning log count.
    pub fn new(store: &StoreMetrics, log: &ProvisioningLog) -> Self {
        let mut registry = Registry::with_prefix("scimd");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let latencies = Latencies::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            latencies.clone(),
        );
        registry.register(
            "command_conflicts",
            "Commands that lost a concurrent write to their aggregate",
            store.conflicts.clone(),
        );
        registry.register(
            "command_retries",
            "Commands run again after a conflict",
            store.retries.clone(),
        );
        registry.register(
            "command_retries_exhausted",
            "Commands that conflicted on every attempt and failed",
            store.retries_exhausted.clone(),
        );
        registry.register(
            "events_appended",
            "Events appended to the event log by this server",
            store.events_appended.clone(),
        );
        registry.register(
            "instance_settings_loads",
            "Instance settings loaded from the event log rather than found current in memory",
            store.settings_loads.clone(),
        );
        registry.register(
            "api_key_lookups",
            "API keys looked up in the store rather than found verified in memory",
            store.key_lookups.clone(),
        );
        let projection_lag = Gauge::default();
        registry.register(
            "projection_lag_events",
            "Committed events the slowest projection has not applied yet, read at scrape time",
            projection_lag.clone(),
        );
        registry.register(
            "provisioning_log_dropped_entries",
            "Provisioning log entries never stored (queue full or store failing)",
            log.dropped_counter(),
        );
        registry.register(
            "provisioning_log_truncated_fields",
            "Paths, user agents, details and subjects cut short before they were stored in the \
             provisioning log",
            log.truncated_counter(),
        );
        let connections = ConnectionMetrics::default();
        registry.register(
            "http_connections_open",
            "HTTP connections being served",
            connections.open.clone(),
        );
        registry.register(
            "http_connections_refused",
            "HTTP connections closed unread because the connection cap was reached",
            connections.refused.clone(),
        );
        let auth = AuthMetrics::default();
        registry.register(
            "failed_authentications",
            "Requests refused for a missing, unknown, revoked or wrong credential, by credential",
            auth.failed.clone(),
        );
        registry.register(
            "failed_authentications_limited",
            "Refused requests answered 429 because their client address failed too often, by \
             credential",
            auth.limited.clone(),
        );
        Self {
            registry,
            requests,
            latencies,
            projection_lag,
            connections,
            auth,
        }
    }

    /// Counts one answered request. `method` must come from a fixed set (see
    /// `http::metrics`), `route` must be a route template or `UNMATCHED_ROUTE`.
    pub fn observe_request(
        &self,
        method: &'static str,
        route: &str,
        status: u16,
        elapsed: Duration,
    ) {
        let route = route.to_string();
        self.latencies
            .get_or_create(&RouteLabels {
                method,
                route: route.clone(),
            })
            .observe(elapsed.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
    }

    /// Every metric as text, with the projection lag read from the store now. When the store
    /// does not answer, the lag keeps its last value (and `/readyz` says the store is down).
    pub async fn render(&self, projector: &Projector) -> Result<String, std::fmt::Error> {
        match projector.lag().await {
            Ok(lag) => {
                self.projection_lag.set(lag);
            }
            Err(error) => tracing::warn!(%error, "cannot read the projection lag"),
        }
        let mut text = String::new();
        prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}
