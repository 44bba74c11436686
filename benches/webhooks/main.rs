//! Webhook delivery under a steady write load: a release `scimd serve` on a fresh store with
//! one webhook endpoint to a receiver in this process, SCIM writes publishing events at a steady
//! rate (1,000 events/s by default) for a fixed period, and then: the delivery rate, the delay
//! from commit to delivery (p50/p95/p99/max) and whether delivery kept up. The events are
//! `user.created`, one per `POST /Users`, or with `--members K` `group.member_added`, K per
//! `PATCH /Groups/{id}` (the rate of events then asks for a K times lower rate of requests).
//!
//! The commit time is bracketed two ways: from the moment the SCIM response came back (after
//! the commit, so that delay is a little short of the true one) and from the event's
//! `occurredAt` (stamped when the command is handled, before the commit, so that one is a
//! little long).
//!
//! `cargo bench --bench webhooks [-- --rate 1000] [--seconds 30] [--members K]
//! [--store sqlite|postgres|both]`

#[path = "../../tests/api/common/postgres.rs"]
#[allow(dead_code)]
mod postgres;

#[path = "../common/server.rs"]
mod server;

mod load;
mod receiver;
mod report;

use receiver::Inbox;
use serde_json::{json, Value};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const INSTANCE: &str = "bench";
const ADMIN_TOKEN: &str = "webhook-bench-admin-token-0123456789abcdef";
/// How long to wait for the last deliveries once nothing new has arrived.
const QUIET: Duration = Duration::from_secs(30);
const USAGE: &str = "cargo bench --bench webhooks -- [--rate EVENTS_PER_S] [--seconds N] \
     [--members PER_REQUEST] [--store sqlite|postgres|both]";

type Failure = Box<dyn std::error::Error + Send + Sync>;

struct Options {
    rate: u32,
    period: Duration,
    /// Events come from PATCHes adding this many group members each; 0: from user creates.
    members: usize,
    stores: Vec<&'static str>,
}

fn options() -> Result<Options, Failure> {
    let mut options = Options {
        rate: 1000,
        period: Duration::from_secs(30),
        members: 0,
        stores: vec!["sqlite", "postgres"],
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value; {USAGE}"));
        match arg.as_str() {
            "--rate" => options.rate = value()?.parse()?,
            "--seconds" => options.period = Duration::from_secs(value()?.parse()?),
            "--members" => options.members = value()?.parse()?,
            "--store" => {
                options.stores = match value()?.as_str() {
                    "sqlite" => vec!["sqlite"],
                    "postgres" => vec!["postgres"],
                    "both" => vec!["sqlite", "postgres"],
                    other => {
                        return Err(format!("--store sqlite|postgres|both, not {other}").into())
                    }
                }
            }
            // What cargo bench passes to every bench target.
            "--bench" => {}
            other => return Err(format!("unknown argument {other}; {USAGE}").into()),
        }
    }
    if options.rate == 0 || options.period.is_zero() {
        return Err(format!("the rate and the period must be above zero; {USAGE}").into());
    }
    Ok(options)
}

fn main() -> ExitCode {
    let result = options().and_then(|options| {
        let runtime = tokio::runtime::Runtime::new()?;
        for store in &options.stores {
            runtime.block_on(bench(store, &options))?;
        }
        Ok(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn bench(store: &str, options: &Options) -> Result<(), Failure> {
    let dir = tempfile::tempdir()?;
    let url = match store {
        "sqlite" => format!("sqlite://{}", dir.path().join("bench.db").display()),
        _ => postgres::PostgresServer::shared().create_database().await,
    };
    scimd(&url, &["instances", "create", INSTANCE])?;
    let key = scimd(
        &url,
        &[
            "keys",
            "create",
            "--instance",
            INSTANCE,
            "--integration-user",
            "okta",
        ],
    )?;
    let token = key.lines().last().unwrap_or_default().to_string();
    let inbox = Arc::new(Inbox::default());
    let hook_url = receiver::start(Arc::clone(&inbox)).await?;
    let (mut server, base) = server::start_server(
        &url,
        &["--admin-token", ADMIN_TOKEN, "--webhook-allow-loopback"],
    )?;
    let client = load::Scim::new(&base, &token)?;
    let run_id = format!("w{}", chrono::Utc::now().timestamp_millis());
    let events = (f64::from(options.rate) * options.period.as_secs_f64()).round() as usize;
    let (shape, writes) = match options.members {
        0 => (load::Shape::Creates, "SCIM user creates".to_string()),
        per_request => (
            load::Shape::members(&client, &run_id, events, per_request).await?,
            format!("group members added by PATCHes of {per_request}"),
        ),
    };
    let secret = create_endpoint(&base, &hook_url).await?;
    inbox.set_secret(&secret)?;
    println!(
        "== {store}: {} events/s of {writes} for {} s, one webhook endpoint",
        options.rate,
        options.period.as_secs()
    );

    let written = load::run(&client, &shape, &run_id, options.rate, options.period).await?;
    let expected = written.answered.len();
    let (mut count, mut changed) = (inbox.count(), Instant::now());
    while count < expected && changed.elapsed() < QUIET {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = inbox.count();
        if now != count {
            (count, changed) = (now, Instant::now());
        }
    }
    let refused = inbox.refused.load(std::sync::atomic::Ordering::Relaxed);
    report::print(store, options.rate, &written, &inbox.take(), refused);
    server.kill()?;
    server.wait()?;
    Ok(())
}

/// Runs `scimd` to completion; its stdout.
fn scimd(url: &str, args: &[&str]) -> Result<String, Failure> {
    server::run_scimd(url, args, Stdio::inherit())
}

/// One endpoint for every event type, through the admin API; its secret.
async fn create_endpoint(base: &str, hook_url: &str) -> Result<String, Failure> {
    let admin = base.trim_end_matches("/scim/v2");
    let response = reqwest::Client::new()
        .post(format!("{admin}/admin/v1/instances/{INSTANCE}/webhooks"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"url": hook_url, "description": "webhook bench"}))
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if status.as_u16() != 201 {
        return Err(format!("creating the endpoint: {status} {body}").into());
    }
    let secret = body["secret"].as_str().ok_or("no secret in the answer")?;
    Ok(secret.to_string())
}
