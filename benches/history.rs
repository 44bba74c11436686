//! How long the auditor's commands take on a log of 100,000 events: `scimd rebuild`,
//! `scimd history` exported as JSON Lines and CSV (with the exporter's peak memory, which
//! must not grow with the log), `scimd verify`, `scimd show` and `scimd audit verify`; and
//! what each page of the admin console asks of the admin API on that log.
//!
//! The log is written the way IdPs write it: a real `scimd serve` over a fresh store, fed
//! over HTTP by concurrent clients creating users, changing them and grouping them.
//!
//! `cargo bench --bench history [-- --events N] [--store sqlite|postgres|both]
//! [--baseline path/to/another/scimd]`: with `--baseline`, that build's `rebuild` and `verify`
//! are timed too, on the same log, just before this build's: old and new side by side.

#[path = "../tests/api/common/postgres.rs"]
#[allow(dead_code)]
mod postgres;

#[path = "common/server.rs"]
mod server;

#[path = "history/console_pages.rs"]
mod console_pages;

use serde_json::{json, Value};
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SCIMD: &str = env!("CARGO_BIN_EXE_scimd");
const INSTANCE: &str = "bench";
const COHORT: usize = 50;
const CLIENTS: usize = 8;

type Failure = Box<dyn std::error::Error + Send + Sync>;

struct Options {
    events: usize,
    stores: Vec<&'static str>,
    baseline: Option<String>,
}

fn options() -> Result<Options, Failure> {
    let mut events = 100_000;
    let mut stores = vec!["sqlite", "postgres"];
    let mut baseline = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--events" => events = args.next().ok_or("--events needs a number")?.parse()?,
            "--baseline" => baseline = Some(args.next().ok_or("--baseline needs a path")?),
            "--store" => {
                stores = match args.next().as_deref() {
                    Some("sqlite") => vec!["sqlite"],
                    Some("postgres") => vec!["postgres"],
                    Some("both") => vec!["sqlite", "postgres"],
                    other => {
                        return Err(format!("--store sqlite|postgres|both, not {other:?}").into())
                    }
                }
            }
            // What cargo bench passes to every bench target.
            "--bench" => {}
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(Options {
        events,
        stores,
        baseline,
    })
}

fn main() -> Result<(), Failure> {
    let options = options()?;
    let runtime = tokio::runtime::Runtime::new()?;
    for store in &options.stores {
        let dir = tempfile::tempdir()?;
        let url = match *store {
            "sqlite" => format!("sqlite://{}", dir.path().join("bench.db").display()),
            _ => runtime.block_on(postgres::PostgresServer::shared().create_database()),
        };
        println!(
            "== {store}: writing {} events through the SCIM API",
            options.events
        );
        let written = runtime.block_on(write_log(&url, options.events))?;
        println!("{written}");
        if let Some(baseline) = &options.baseline {
            let label = format!("{store} (baseline {baseline})");
            let (rebuilt, verified) = rebuild_and_verify(Some(baseline), &url)?;
            println!("{label}: {rebuilt}");
            println!("{label}: {verified}");
        }
        measure(&url, store)?;
        runtime.block_on(console_pages::measure(&url, store))?;
    }
    Ok(())
}

/// Runs `scimd` to completion; its stdout.
fn scimd(url: &str, args: &[&str]) -> Result<String, Failure> {
    server::run_scimd(url, args, Stdio::null())
}

async fn write_log(url: &str, events: usize) -> Result<String, Failure> {
    scimd(url, &["instances", "create", INSTANCE])?;
    let key = scimd(
        url,
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
    let (mut server, base) = server::start_server(url, &[])?;
    let started = Instant::now();
    // Events written so far, as each cohort's requests imply; `scimd rebuild` counts them.
    let written = Arc::new(AtomicUsize::new(0));
    let cohorts = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (base, token) = (base.clone(), token.clone());
        let (written, cohorts) = (Arc::clone(&written), Arc::clone(&cohorts));
        clients.push(tokio::spawn(async move {
            let client = Client::new(base, token);
            while written.load(Ordering::Relaxed) < events {
                let cohort = cohorts.fetch_add(1, Ordering::Relaxed);
                let count = client.cohort(cohort).await?;
                written.fetch_add(count, Ordering::Relaxed);
            }
            Ok::<(), Failure>(())
        }));
    }
    for client in clients {
        client.await??;
    }
    let seconds = started.elapsed().as_secs_f64();
    server.kill()?;
    server.wait()?;
    let requests = cohorts.load(Ordering::Relaxed) * (2 * COHORT + 1);
    Ok(format!(
        "made {requests} requests in {seconds:.1} s ({:.0} requests/s from {CLIENTS} clients)",
        requests as f64 / seconds
    ))
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    fn new(base: String, token: String) -> Self {
        Self {
            http: reqwest::Client::new(),
            base,
            token,
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> Result<Value, Failure> {
        let response = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
            .send()
            .await?;
        answer(path, response).await
    }

    async fn get(&self, path: &str) -> Result<Value, Failure> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        answer(path, response).await
    }

    /// Users created, then retitled, then put in a group of their own; how many events that
    /// wrote (a created or retitled user is two: the change and the mapped fields it changed).
    async fn cohort(&self, cohort: usize) -> Result<usize, Failure> {
        let mut ids = Vec::with_capacity(COHORT);
        for n in 0..COHORT {
            let user = json!({
                "userName": format!("user{cohort}-{n}@corp.example"),
                "externalId": format!("00u{cohort}x{n}"),
                "name": {"givenName": format!("Given{n}"), "familyName": format!("Family{cohort}")},
                "emails": [{"value": format!("user{cohort}-{n}@corp.example"), "type": "work", "primary": true}],
                "title": "Engineer",
                "active": true,
            });
            let created = self.send(reqwest::Method::POST, "/Users", user).await?;
            ids.push(created["id"].as_str().unwrap_or_default().to_string());
        }
        for id in &ids {
            let change = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "title", "value": "Staff Engineer"}],
            });
            self.send(reqwest::Method::PATCH, &format!("/Users/{id}"), change)
                .await?;
        }
        let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
        let group = json!({"displayName": format!("Team {cohort}"), "members": members});
        self.send(reqwest::Method::POST, "/Groups", group).await?;
        Ok(COHORT * 4 + 1 + COHORT)
    }
}

/// A response's JSON body; an error for a failure status.
async fn answer(path: &str, response: reqwest::Response) -> Result<Value, Failure> {
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() {
        return Err(format!("{path}: {status} {body}").into());
    }
    Ok(body)
}

/// `scimd rebuild`, then `scimd verify`, by `program` (this build's scimd if `None`): what
/// each took.
fn rebuild_and_verify(program: Option<&str>, url: &str) -> Result<(String, String), Failure> {
    let run = |args: &[&str]| match program {
        Some(program) => server::run_program(program, url, args, Stdio::null()),
        None => scimd(url, args),
    };
    let rebuilt: Value = serde_json::from_str(&run(&["rebuild", "--json"])?)?;
    let events = rebuilt["events"].as_f64().unwrap_or_default();
    let seconds = rebuilt["seconds"].as_f64().unwrap_or_default();
    let rebuilt = format!(
        "rebuild of {events} events: {seconds:.2} s ({:.0} events/s)",
        events / seconds
    );
    let started = Instant::now();
    let verified: Value = serde_json::from_str(&run(&["verify", "--json"])?)?;
    let verified = format!(
        "verify: identical = {}, {:.2} s",
        verified["identical"],
        started.elapsed().as_secs_f64()
    );
    Ok((rebuilt, verified))
}

fn measure(url: &str, store: &str) -> Result<(), Failure> {
    let (rebuilt, verified) = rebuild_and_verify(None, url)?;
    println!("{store}: {rebuilt}");
    for format in ["jsonl", "csv"] {
        let export = export(url, format)?;
        println!(
            "{store}: history export as {format}: {} entries, {:.1} MB in {:.2} s ({:.0} entries/s), peak memory {:.1} MB",
            export.lines,
            export.bytes as f64 / 1e6,
            export.seconds,
            export.lines as f64 / export.seconds,
            export.peak_kb as f64 / 1024.0
        );
    }
    println!("{store}: {verified}");
    let started = Instant::now();
    let user = [
        "show",
        "--instance",
        INSTANCE,
        "--user",
        "user0-0@corp.example",
    ];
    let shown: Value = serde_json::from_str(&scimd(url, &user)?)?;
    println!(
        "{store}: show (time travel) of a user in {} group(s): {:.2} s",
        shown["groups"].as_array().map_or(0, Vec::len),
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let audited: Value = serde_json::from_str(&scimd(url, &["--json", "audit", "verify"])?)?;
    println!(
        "{store}: audit verify: intact = {}, {:.2} s",
        audited[0]["intact"],
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

struct Export {
    lines: usize,
    bytes: usize,
    seconds: f64,
    peak_kb: u64,
}

/// Streams `scimd history` to nowhere, counting what it prints and watching its peak memory.
fn export(url: &str, format: &str) -> Result<Export, Failure> {
    let started = Instant::now();
    let mut child = Command::new(SCIMD)
        .args(["history", "--instance", INSTANCE, "--format", format])
        .env("SCIMD_DATABASE_URL", url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let status_path = format!("/proc/{}/status", child.id());
    let peak = Arc::new(AtomicUsize::new(0));
    let watcher = {
        let peak = Arc::clone(&peak);
        std::thread::spawn(move || {
            while let Ok(status) = std::fs::read_to_string(&status_path) {
                if let Some(kb) = high_water_kb(&status) {
                    peak.fetch_max(kb, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let (mut lines, mut bytes) = (0, 0);
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = stdout.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        bytes += read;
        lines += buffer[..read].iter().filter(|byte| **byte == b'\n').count();
    }
    let status = child.wait()?;
    let seconds = started.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!("scimd history failed: {status:?}").into());
    }
    let _ = watcher.join();
    Ok(Export {
        // CSV starts with a header line.
        lines: if format == "csv" {
            lines.saturating_sub(1)
        } else {
            lines
        },
        bytes,
        seconds,
        peak_kb: peak.load(Ordering::Relaxed) as u64,
    })
}

fn high_water_kb(status: &str) -> Option<usize> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
}
