//! `scimd serve`: the SCIM API (and the admin API and console when it has a token) on the chosen
//! store.

use super::open;
use anyhow::Context as _;
use clap::Args;
use scimd::admin;
use scimd::admin::token::{AdminToken, MIN_ADMIN_TOKEN_CHARS};
use scimd::http::connections::MAX_CONNECTIONS;
use scimd::http::{FailedAuthLimit, RateLimit, FAILED_AUTH_BURST, FAILED_AUTH_PER_MINUTE};
use scimd::limits::{self, Limits};
use scimd::scim::bulk::BulkLimits;
use scimd::scim::filter::{self, FilterLimits};
use scimd::scim::limits::{self as scim_limits, ValueLimits};
use scimd::scim::list::{self, ListLimits};
use scimd::startup::{self, ServerSettings};
use scimd::store::{redact, StoreSettings};
use scimd::tls::{self, Certificates, Identity, TlsFiles};
use scimd::webhooks::{self, schedule, Backoff, WebhookSettings};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::mpsc;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port
    #[arg(long, env = "SCIMD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Base URL clients reach scimd at, when a proxy hides it (e.g. https://scim.example.com)
    #[arg(long, env = "SCIMD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Serve HTTPS (HTTP/2 and HTTP/1.1) with this PEM certificate chain, the server's own
    /// certificate first; needs --tls-key. Reloaded when the files change and on SIGHUP
    #[arg(
        long,
        env = "SCIMD_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert (PKCS#8, PKCS#1 RSA or SEC1 EC)
    #[arg(
        long,
        env = "SCIMD_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Seconds between checks of the certificate and key files for a change to reload; 0: reload
    /// on SIGHUP only
    #[arg(long, env = "SCIMD_TLS_RELOAD_SECS", default_value_t = tls::RELOAD_POLL_SECS)]
    pub tls_reload_secs: u64,
    /// Database connections in the pool
    #[arg(long, env = "SCIMD_POOL_SIZE", default_value_t = 16)]
    pub pool_size: u32,
    /// Milliseconds a database statement may run (PostgreSQL) or wait for the write lock
    /// (SQLite) before the request fails; 0: no limit
    #[arg(long, env = "SCIMD_STATEMENT_TIMEOUT_MS", default_value_t = 30_000)]
    pub statement_timeout_ms: u64,
    /// Largest request body accepted, in bytes (larger bodies get 413)
    #[arg(long, env = "SCIMD_MAX_BODY_BYTES", default_value_t = limits::MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// Most operations in one /Bulk request (more get 413)
    #[arg(long, env = "SCIMD_BULK_MAX_OPERATIONS", default_value_t = 1000)]
    pub bulk_max_operations: usize,
    /// Largest /Bulk request body accepted, in bytes (larger bodies get 413)
    #[arg(long, env = "SCIMD_BULK_MAX_PAYLOAD_BYTES", default_value_t = 1024 * 1024)]
    pub bulk_max_payload_bytes: usize,
    /// Longest filter accepted, in bytes (longer ones get 400 invalidFilter)
    #[arg(long, env = "SCIMD_MAX_FILTER_LENGTH", default_value_t = filter::MAX_FILTER_LENGTH)]
    pub max_filter_length: usize,
    /// Deepest nesting of '(', 'not (' and '[' in a filter (deeper gets 400 invalidFilter)
    #[arg(long, env = "SCIMD_MAX_FILTER_DEPTH", default_value_t = filter::MAX_FILTER_DEPTH)]
    pub max_filter_depth: usize,
    /// Most resources in one page of a list; a larger count is reduced to it
    #[arg(long, env = "SCIMD_MAX_PAGE_SIZE", default_value_t = list::MAX_PAGE_SIZE,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub max_page_size: i64,
    /// Longest string value of an attribute, in characters (longer gets 400 invalidValue)
    #[arg(long, env = "SCIMD_MAX_VALUE_CHARS", default_value_t = scim_limits::MAX_VALUE_CHARS)]
    pub max_value_chars: usize,
    /// Most values of one multi-valued attribute, group members aside (400 invalidValue)
    #[arg(long, env = "SCIMD_MAX_VALUES", default_value_t = scim_limits::MAX_VALUES)]
    pub max_values: usize,
    /// Most group members one POST, PUT or PATCH may name (400 invalidValue)
    #[arg(long, env = "SCIMD_MAX_MEMBERS_PER_REQUEST", default_value_t = scim_limits::MAX_MEMBERS)]
    pub max_members_per_request: usize,
    /// Seconds a request may take once its headers are in (then 503)
    #[arg(long, env = "SCIMD_REQUEST_TIMEOUT_SECS", default_value_t = limits::REQUEST_TIMEOUT_SECS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_secs: u64,
    /// Seconds a client has to send a request's headers, or an idle connection to start its
    /// next request (then the connection is closed)
    #[arg(long, env = "SCIMD_HEADER_READ_TIMEOUT_SECS", default_value_t = limits::HEADER_READ_TIMEOUT_SECS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout_secs: u64,
    /// Seconds a client has to send a request's body once its headers are in (then 408)
    #[arg(long, env = "SCIMD_BODY_READ_TIMEOUT_SECS", default_value_t = limits::BODY_READ_TIMEOUT_SECS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub body_read_timeout_secs: u64,
    /// Enables the admin HTTP API under /admin/v1 with this secret (at least 32 characters);
    /// prefer the environment variable, which stays out of the process list
    #[arg(long, env = "SCIMD_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Testing only: abort the process once events are committed and before the projections
    /// are, to prove that a restart recovers
    #[arg(long, env = "SCIMD_ABORT_BEFORE_PROJECTION_COMMIT", hide = true)]
    pub abort_before_projection_commit: bool,
    /// Days provisioning log entries are kept before they are pruned; 0 keeps them forever
    #[arg(long, env = "SCIMD_PROVISIONING_LOG_RETENTION_DAYS", default_value_t = startup::PROVISIONING_LOG_RETENTION_DAYS)]
    pub provisioning_log_retention_days: u32,
    /// Seconds requests in flight at SIGTERM/Ctrl-C get to finish before scimd exits anyway
    #[arg(long, env = "SCIMD_SHUTDOWN_GRACE_SECS", default_value_t = startup::SHUTDOWN_GRACE_SECS)]
    pub shutdown_grace_secs: u64,
    /// Requests a second each API key may sustain (per process: each replica counts its own);
    /// more get 429 with Retry-After; 0: no limit
    #[arg(long, env = "SCIMD_RATE_LIMIT_PER_SECOND", default_value_t = 0)]
    pub rate_limit_per_second: u32,
    /// Requests each API key may send at once after a quiet spell; 0: one second's worth
    #[arg(long, env = "SCIMD_RATE_LIMIT_BURST", default_value_t = 0)]
    pub rate_limit_burst: u32,
    /// Connections served at once; one more is closed as soon as it is accepted
    #[arg(long, env = "SCIMD_MAX_CONNECTIONS", default_value_t = MAX_CONNECTIONS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_connections: usize,
    /// Failed authentications (missing, unknown, revoked or wrong key or token) a client address
    /// may sustain a minute, per process; more get 429 with Retry-After and are not written to
    /// the provisioning log; 0: no limit. A valid credential is never limited
    #[arg(long, env = "SCIMD_FAILED_AUTH_PER_MINUTE", default_value_t = FAILED_AUTH_PER_MINUTE)]
    pub failed_auth_per_minute: u32,
    /// Failed authentications a client address may make at once; 0: one minute's worth
    #[arg(long, env = "SCIMD_FAILED_AUTH_BURST", default_value_t = FAILED_AUTH_BURST)]
    pub failed_auth_burst: u32,
    /// Makes /metrics ask for this bearer token (at least 32 characters); without it /metrics
    /// is open like /healthz
    #[arg(long, env = "SCIMD_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Webhooks may go to http:// URLs and loopback hosts (localhost, 127.0.0.1, ::1): for
    /// development and tests only
    #[arg(long, env = "SCIMD_WEBHOOK_ALLOW_LOOPBACK")]
    pub webhook_allow_loopback: bool,
    /// Seconds one webhook attempt may take, connecting included (then it failed: timeout)
    #[arg(long, env = "SCIMD_WEBHOOK_TIMEOUT", value_name = "SECS", default_value_t = webhooks::TIMEOUT_SECS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_timeout: u64,
    /// Milliseconds of the first retry's backoff ceiling; it doubles with each failure in a row
    #[arg(long, env = "SCIMD_WEBHOOK_RETRY_BASE_MS", default_value_t = schedule::BASE_MS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_retry_base_ms: u64,
    /// Milliseconds the backoff ceiling grows to at most
    #[arg(long, env = "SCIMD_WEBHOOK_RETRY_CAP_MS", default_value_t = schedule::CAP.as_millis() as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_retry_cap_ms: u64,
    /// Seconds an endpoint may keep failing before it is disabled (default: three days)
    #[arg(long, env = "SCIMD_WEBHOOK_GIVE_UP_AFTER", value_name = "SECS", default_value_t = schedule::GIVE_UP_AFTER_SECS)]
    pub webhook_give_up_after: u64,
    /// Milliseconds between looks at the store for events other replicas published and for
    /// retries that came due (this process's own events are delivered at once)
    #[arg(long, env = "SCIMD_WEBHOOK_POLL_MS", default_value_t = 500,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_poll_ms: u64,
    /// Seconds a replica holds an endpoint it delivers to before another may take it over
    /// (renewed while delivering): after a crash, the longest an endpoint waits; best at least
    /// twice --webhook-timeout
    #[arg(long, env = "SCIMD_WEBHOOK_LEASE_SECS", default_value_t = webhooks::LEASE_SECS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_lease_secs: u64,
    /// Log lines as human-readable text or as one JSON object per line
    #[arg(long, env = "SCIMD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

pub async fn serve(database: &str, args: ServeArgs) -> anyhow::Result<()> {
    let shutdown = shutdown_signal()?;
    // An attempt begun under a lease should end before it runs out: another replica may take
    // the endpoint over then, and send that event again (a duplicate, never a loss).
    if args.webhook_lease_secs < 2 * args.webhook_timeout {
        tracing::warn!(
            lease_secs = args.webhook_lease_secs,
            timeout_secs = args.webhook_timeout,
            "--webhook-lease-secs is under twice --webhook-timeout: a slow attempt may outlast \
             its lease and be repeated by another replica"
        );
    }
    // Taken whether or not there is a certificate to reload: left to its default, SIGHUP (a unit
    // file's `ExecReload`, a closed terminal) would end the process.
    let hangups = signal(SignalKind::hangup()).context("listening for SIGHUP")?;
    // Before the store: a certificate that cannot be served stops scimd before it changes
    // anything (a first start creates an instance and prints its key).
    let https = match (args.tls_cert.clone(), args.tls_key.clone()) {
        (Some(certificate), Some(key)) => {
            let poll =
                Some(Duration::from_secs(args.tls_reload_secs)).filter(|poll| !poll.is_zero());
            Some(start_tls(TlsFiles { certificate, key }, poll, hangups)?)
        }
        _ => {
            tokio::spawn(ignore_hangups(hangups));
            None
        }
    };
    let store = open(&StoreSettings {
        statement_timeout: Some(Duration::from_millis(args.statement_timeout_ms))
            .filter(|timeout| !timeout.is_zero()),
        ..StoreSettings::new(database, args.pool_size)
    })
    .await?;
    if let Some(issued) = admin::ensure_default_instance(&store).await? {
        println!(
            "Created instance {:?} with an API key for integration user {:?}.",
            admin::DEFAULT_INSTANCE,
            issued.record.integration_user
        );
        println!("Store the key now: it is shown only this once.");
        println!("{}", issued.token);
    }
    if args.abort_before_projection_commit {
        // Armed once the first start's own events (the instance, its key) are projected: the
        // crash under test is a request's.
        admin::catch_up(&store).await?;
        store.projector.abort_before_commit();
    }
    let listener = TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let address = listener.local_addr()?;
    let scheme = if https.is_some() { "https" } else { "http" };
    println!(
        "scimd listening on {scheme}://{address}/scim/v2 (store: {})",
        redact(database)
    );
    let admin_token = args
        .admin_token
        .as_deref()
        .map(AdminToken::new)
        .transpose()?;
    if admin_token.is_some() {
        println!("admin console on {scheme}://{address}/admin/ (sign in with the admin token)");
    } else {
        println!(
            "admin console and API off: set SCIMD_ADMIN_TOKEN (at least {MIN_ADMIN_TOKEN_CHARS} characters) to turn them on"
        );
    }
    let limits = limits_of(&args);
    let webhooks = webhook_settings(&args);
    // A secret of the same kind as the admin token: kept as a digest, compared in constant
    // time, refused when short.
    let metrics_token = args
        .metrics_token
        .as_deref()
        .map(AdminToken::new)
        .transpose()
        .map_err(|_| {
            anyhow::anyhow!(
                "the metrics token must be at least {MIN_ADMIN_TOKEN_CHARS} characters without spaces"
            )
        })?;
    let settings = ServerSettings {
        admin_token,
        metrics_token,
        public_url: args.public_url,
        limits,
        provisioning_log_retention: startup::retention_of_days(
            args.provisioning_log_retention_days,
        ),
        shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
        rate_limit: RateLimit {
            per_second: args.rate_limit_per_second,
            burst: args.rate_limit_burst,
            ..RateLimit::default()
        },
        max_connections: args.max_connections,
        failed_auth_limit: FailedAuthLimit {
            per_minute: args.failed_auth_per_minute,
            burst: args.failed_auth_burst,
        },
        tls: https.as_ref().map(|https| Arc::clone(&https.config)),
        webhooks,
        ..ServerSettings::default()
    };
    startup::serve(Arc::clone(&store), settings, listener, shutdown).await?;
    if let Some(https) = https {
        https.reloader.abort();
    }
    store.db.close().await;
    tracing::info!("stopped");
    Ok(())
}

fn webhook_settings(args: &ServeArgs) -> WebhookSettings {
    WebhookSettings {
        allow_loopback: args.webhook_allow_loopback,
        timeout: Duration::from_secs(args.webhook_timeout),
        backoff: Backoff {
            base: Duration::from_millis(args.webhook_retry_base_ms),
            cap: Duration::from_millis(args.webhook_retry_cap_ms),
            give_up_after: Duration::from_secs(args.webhook_give_up_after),
        },
        poll: Duration::from_millis(args.webhook_poll_ms),
        lease: Duration::from_secs(args.webhook_lease_secs),
    }
}

fn limits_of(args: &ServeArgs) -> Limits {
    Limits {
        max_body_bytes: args.max_body_bytes,
        bulk: BulkLimits {
            max_operations: args.bulk_max_operations,
            max_payload_bytes: args.bulk_max_payload_bytes,
        },
        list: ListLimits {
            filter: FilterLimits {
                max_length: args.max_filter_length,
                max_depth: args.max_filter_depth,
            },
            max_page_size: args.max_page_size,
        },
        values: ValueLimits {
            max_chars: args.max_value_chars,
            max_values: args.max_values,
            max_members: args.max_members_per_request,
        },
        request_timeout: Duration::from_secs(args.request_timeout_secs),
        header_read_timeout: Duration::from_secs(args.header_read_timeout_secs),
        body_read_timeout: Duration::from_secs(args.body_read_timeout_secs),
    }
}

/// HTTPS being served: its configuration, and the task that reloads its certificate.
struct Https {
    config: Arc<rustls::ServerConfig>,
    reloader: tokio::task::JoinHandle<()>,
}

/// Loads the certificate and key (failing with the file and the cause), warns if the
/// certificate expires soon, and from now on reloads it when the files change (read every
/// `poll`) and on each of `hangups` (SIGHUP).
fn start_tls(
    files: TlsFiles,
    poll: Option<Duration>,
    mut hangups: Signal,
) -> anyhow::Result<Https> {
    let (identity, contents) = Identity::load(&files).context("cannot serve HTTPS")?;
    let facts = &identity.facts;
    tracing::info!(
        certificate = %files.certificate.display(),
        subject = %facts.subject,
        serial = %facts.serial,
        not_after = %facts.not_after.to_rfc3339(),
        "serving HTTPS"
    );
    facts.warn_if_expiring(chrono::Utc::now());
    let certificates = Certificates::new(files, &identity);
    let config = tls::server_config(certificates.clone()).context("cannot serve HTTPS")?;
    let (ask, asked) = mpsc::channel(1);
    let reloader = tokio::spawn(async move {
        let watching = certificates.watch(contents, poll, asked);
        let forwarding = async move {
            while hangups.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading the TLS certificate");
                // A reload already asked for reads the files anew.
                let _ = ask.try_send(());
            }
        };
        tokio::join!(watching, forwarding);
    });
    Ok(Https { config, reloader })
}

/// Without a certificate there is nothing to reload: SIGHUP is only noted.
async fn ignore_hangups(mut hangups: Signal) {
    while hangups.recv().await.is_some() {
        tracing::info!("SIGHUP: nothing to reload (no TLS certificate is served)");
    }
}

/// Listens for Ctrl-C (SIGINT) and SIGTERM from the moment it is called, so that a signal sent
/// while the store opens or the projections catch up still stops scimd gracefully; the future
/// resolves on the first, and in-flight requests then finish before the process exits.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    let stop = stop_signal()?;
    Ok(async move {
        stop.await;
        tracing::info!("shutting down: finishing requests in flight");
    })
}

/// Resolves on the first Ctrl-C (SIGINT) or SIGTERM received from the moment it is called.
pub(super) fn stop_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for Ctrl-C")?;
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}
