//! Starting the server: one function from settings, a store, a listener and a shutdown signal
//! to a running service (the binary and the tests both start scimd through it).

use crate::admin::token::AdminToken;
use crate::http::connections::{self, ConnectionSettings, MAX_CONNECTIONS};
use crate::http::{
    router, AppState, FailedAuthLimit, FailedAuthLimiter, KeyLimiter, RateLimit, Webhooks,
};
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::provisioning::{managers, Provisioning};
use crate::provisioning_log::{self, ProvisioningLog};
use crate::store::{orphaned_before, Store};
use crate::webhooks::sender::ClientError;
use crate::webhooks::{Sender, WebhookSettings, Worker};
use chrono::Utc;
use projections::db::DbError;
use projections::error::ProjectionError;
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
    /// A name claim of a never-created owner that was not renewed for this long is an orphan,
    /// left by a process that died mid-create: a create takes it over, and the periodic sweep
    /// removes it. Requests renew the claims they hold every quarter of it, however long they
    /// take.
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
    /// Connections served at once; more are closed unread.
    pub max_connections: usize,
    /// Failed authentications each client address may make, per process (then 429).
    pub failed_auth_limit: FailedAuthLimit,
    /// Serves HTTPS with this configuration (`tls::server_config`); plain HTTP without.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// How webhooks are delivered (docs/webhooks.md).
    pub webhooks: WebhookSettings,
}

/// Seconds after which an unrenewed name claim of a never-created owner is an orphan: the
/// IdP's retry of a create cut off by a crash waits at most this long. Renewals every 7.5 s
/// leave room for a slow database and for clocks of replicas a little apart.
pub const CLAIM_GRACE_SECS: u64 = 30;

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
            max_connections: MAX_CONNECTIONS,
            failed_auth_limit: FailedAuthLimit::default(),
            tls: None,
            webhooks: WebhookSettings::default(),
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
    #[error(transparent)]
    Webhooks(#[from] ClientError),
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
    let claim_grace = settings.claim_grace;
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
    let sender = Sender::new(settings.webhooks.timeout)?;
    let deliveries = Worker::start(Arc::clone(&store), sender.clone(), settings.webhooks);
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
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        stop.send_replace(true);
    };
    let state = AppState {
        provisioning: Provisioning::new(store, claim_grace),
        public_url: settings.public_url,
        limits: settings.limits,
        admin_token: settings.admin_token.map(Arc::new),
        provisioning_log: log.clone(),
        rate_limit: KeyLimiter::new(settings.rate_limit),
        failed_auth: FailedAuthLimiter::new(settings.failed_auth_limit, metrics.auth.clone()),
        metrics: Arc::clone(&metrics),
        metrics_token: settings.metrics_token.map(Arc::new),
        stopping,
        webhooks: Arc::new(Webhooks {
            sender,
            allow_loopback: settings.webhooks.allow_loopback,
        }),
    };
    let app = router(state);
    let served = connections::serve(
        listener,
        app,
        ConnectionSettings {
            header_read_timeout: settings.limits.header_read_timeout,
            max_connections: settings.max_connections,
            metrics: metrics.connections.clone(),
            tls: settings.tls,
        },
        settings.shutdown_grace,
        shutdown,
    )
    .await;
    // Deliveries in flight finish and are recorded before the store closes; a delivery is
    // bounded by the attempt timeout.
    deliveries
        .stop(settings.webhooks.timeout + Duration::from_secs(1))
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

async fn reconcile_claims(store: &Store, grace: Duration) {
    match store
        .claims
        .reconcile(&orphaned_before(Utc::now(), grace))
        .await
    {
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
