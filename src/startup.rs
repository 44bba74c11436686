//! Starting the server: one function from settings, a store, a listener and a shutdown signal
//! to a running service (the binary and the tests both start scimd through it).

use crate::admin::token::AdminToken;
use crate::http::{connections, router, AppState, KeyLimiter, RateLimit};
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::provisioning::{managers, Provisioning};
use crate::provisioning_log::{self, ProvisioningLog};
use crate::store::Store;
use chrono::Utc;
use projections::db::DbError;
use projections::error::ProjectionError;
use projections::metadata::timestamp;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// The externally visible base URL (e.g. `https://scim.example.com`), if a proxy hides it.
    pub public_url: Option<String>,
    /// Body sizes, Bulk, filters, pages, values, timeouts.
    pub limits: Limits,
    /// How often the projector looks for events written by other processes.
    pub projector_poll: Duration,
    /// A name claim older than this whose owner does not hold the name is an orphan: a create
    /// may take it over, and the periodic sweep removes it. Longer than any request can take.
    pub claim_grace: Duration,
    /// Enables the admin HTTP API under `/admin/v1`.
    pub admin_token: Option<AdminToken>,
    /// How long provisioning log entries are kept; `None` keeps them forever.
    pub provisioning_log_retention: Option<Duration>,
    /// How often entries past retention are pruned (they are also pruned at start-up).
    pub provisioning_log_prune_every: Duration,
    /// How long requests in flight at shutdown may take to finish before scimd exits anyway.
    pub shutdown_grace: Duration,
    /// Requests each API key may send, per process.
    pub rate_limit: RateLimit,
    /// The bearer token `/metrics` asks for; `None` leaves it open, like `/healthz`.
    pub metrics_token: Option<AdminToken>,
}

/// Seconds after which a name claim of an interrupted create is an orphan, at least: twice the
/// default request timeout, so that no live request loses its claim (`serve` stretches it to
/// twice a longer timeout).
pub const CLAIM_GRACE_SECS: u64 = 120;

const CLAIM_SWEEP_EVERY: Duration = Duration::from_secs(600);

/// Seconds requests in flight at shutdown get to finish unless told otherwise: well under the
/// 30 s Kubernetes and systemd wait before they SIGKILL.
pub const SHUTDOWN_GRACE_SECS: u64 = 20;

/// Days the provisioning log keeps entries unless told otherwise.
pub const PROVISIONING_LOG_RETENTION_DAYS: u32 = 90;

/// The retention of `days` days, where 0 means forever (`None`).
pub fn retention_of_days(days: u32) -> Option<Duration> {
    (days > 0).then(|| Duration::from_secs(u64::from(days) * 24 * 60 * 60))
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            public_url: None,
            limits: Limits::default(),
            projector_poll: Duration::from_millis(500),
            claim_grace: Duration::from_secs(CLAIM_GRACE_SECS),
            admin_token: None,
            provisioning_log_retention: retention_of_days(PROVISIONING_LOG_RETENTION_DAYS),
            provisioning_log_prune_every: Duration::from_secs(60 * 60),
            shutdown_grace: Duration::from_secs(SHUTDOWN_GRACE_SECS),
            rate_limit: RateLimit::default(),
            metrics_token: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot bring the read model up to date: {0}")]
    Projection(#[from] ProjectionError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Brings the read model up to date, then serves until `shutdown` resolves and in-flight
/// requests have finished.
pub async fn serve(
    store: Arc<Store>,
    settings: ServerSettings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartupError> {
    store.projector.prepare().await?;
    let reached = store.projector.catch_up().await?;
    tracing::info!(%reached, "read model is up to date");
    let claim_grace = claim_grace(&settings);
    reconcile_claims(&store, claim_grace).await;
    let report_linker = start_linking_waiting_reports(&store).await;
    let pruner = match settings.provisioning_log_retention {
        Some(retention) => {
            let every = settings.provisioning_log_prune_every;
            Some(provisioning_log::start_pruning(store.db.clone(), retention, every).await)
        }
        None => None,
    };
    let (log, log_writer) = ProvisioningLog::start(store.db.clone());

    let projector = tokio::spawn(Arc::clone(&store.projector).run(settings.projector_poll));
    let reconciler = tokio::spawn({
        let store = Arc::clone(&store);
        let grace = claim_grace;
        // The sweep reads every claim; creates take orphans over themselves in between.
        let every = grace.max(CLAIM_SWEEP_EVERY);
        async move {
            loop {
                tokio::time::sleep(every).await;
                reconcile_claims(&store, grace).await;
            }
        }
    });
    let metrics = Arc::new(Metrics::new(&store.metrics, &log));
    let state = AppState {
        provisioning: Provisioning::new(store, claim_grace),
        public_url: settings.public_url,
        limits: settings.limits,
        admin_token: settings.admin_token.map(Arc::new),
        provisioning_log: log.clone(),
        rate_limit: KeyLimiter::new(settings.rate_limit),
        metrics,
        metrics_token: settings.metrics_token.map(Arc::new),
    };
    let app = router(state);
    let served = connections::serve(
        listener,
        app,
        settings.limits.header_read_timeout,
        settings.shutdown_grace,
        shutdown,
    )
    .await;
    projector.abort();
    reconciler.abort();
    report_linker.abort();
    if let Some(pruner) = pruner {
        pruner.abort();
    }
    // Requests have finished: store what they logged before the process goes.
    if let Err(error) = log.flush().await {
        tracing::warn!(%error, "provisioning log entries may be lost");
    }
    log_writer.abort();
    Ok(served?)
}

/// The age past which a claim of a never-created owner is an orphan: no request that could
/// still be creating it runs that long.
fn claim_grace(settings: &ServerSettings) -> Duration {
    let longest_request = settings.limits.request_timeout;
    settings.claim_grace.max(longest_request.saturating_mul(2))
}

async fn reconcile_claims(store: &Store, grace: Duration) {
    let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
    let cutoff = Utc::now().checked_sub_signed(grace).unwrap_or(Utc::now());
    match store.claims.reconcile(&timestamp(cutoff)).await {
        Ok(0) => {}
        Ok(removed) => tracing::info!(removed, "removed name claims left by interrupted requests"),
        Err(error) => tracing::warn!(%error, "could not reconcile name claims"),
    }
}

/// How often reports left waiting for a manager that exists are looked for (see
/// `provisioning::managers`); such reports are rare, and a request links them at once.
const REPORT_SWEEP_EVERY: Duration = Duration::from_secs(600);

/// Links the reports left waiting for a manager that exists, now (before the server answers)
/// and then every `REPORT_SWEEP_EVERY`.
async fn start_linking_waiting_reports(store: &Arc<Store>) -> tokio::task::JoinHandle<()> {
    link_waiting_reports(store).await;
    let store = Arc::clone(store);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(REPORT_SWEEP_EVERY).await;
            link_waiting_reports(&store).await;
        }
    })
}

async fn link_waiting_reports(store: &Store) {
    match managers::link_waiting_reports(store).await {
        Ok(0) => {}
        Ok(linked) => tracing::info!(linked, "linked reports left waiting for their manager"),
        Err(error) => tracing::warn!(%error, "could not look for reports waiting for a manager"),
    }
}
