//! What the store counts for `/metrics`: command conflicts and retries, and events appended,
//! by aggregate type. The counters belong to one `Store`, so that servers sharing a process
//! (the integration tests) keep separate counts; the server registers them with its registry.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

/// The only label: the aggregate type (`User`, `Group`, `InstanceSettings`), never its id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct AggregateLabel {
    pub aggregate: &'static str,
}

impl AggregateLabel {
    pub fn of(aggregate: &'static str) -> Self {
        Self { aggregate }
    }
}

pub type ByAggregate = Family<AggregateLabel, Counter>;

#[derive(Debug, Clone, Default)]
pub struct StoreMetrics {
    /// Commands that lost a race on their aggregate (or found the membership view moved).
    pub conflicts: ByAggregate,
    /// Commands run again after a conflict.
    pub retries: ByAggregate,
    /// Commands that gave up after conflicting on every attempt.
    pub retries_exhausted: ByAggregate,
    pub events_appended: ByAggregate,
    /// Instance settings loaded from their events because they changed (or were never loaded)
    /// since this process last loaded them.
    pub settings_loads: Counter,
    /// API keys looked up in the store because they were not held verified in memory.
    pub key_lookups: Counter,
}
