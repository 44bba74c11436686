//! The IdP-like load of issue 6 against a running scimd, over HTTP: it starts nothing itself.
//! W0 (only when asked for) is the floor: a request that reads no resource.
//! W1 creates users (about fifteen attributes and the enterprise extension), W2 looks users up
//! by `userName eq`, W3 deactivates users and changes their attributes, W4 grows one group by
//! batches of 100 members, W5 walks every user by pages of 100 (startIndex, then cursor).
//! Each workload runs at each concurrency; non-2xx answers are errors. It prints requests/s
//! and p50/p99 per workload and writes the same as JSON.
//!
//! ```text
//! cargo bench --bench workloads -- --url http://127.0.0.1:8080/scim/v2 --token KEY
//!     [--workloads w0,w1,w2,w3,w4,w5] [--users 100000] [--requests 20000]
//!     [--concurrency 16,64] [--group-members 100000] [--exclude-members] [--json out.json]
//! ```
//! `--url` and `--token` default to `SCIMD_BENCH_URL` and `SCIMD_BENCH_TOKEN`.

mod client;
mod documents;
mod measure;
mod report;
mod workloads;

use client::Scim;
use report::{print_table, Report, Row};
use std::process::ExitCode;
use std::sync::Arc;
use workloads::{Known, Paging};

const USAGE: &str = "cargo bench --bench workloads -- --url URL --token KEY [--workloads w0,w1,w2,w3,w4,w5] [--users N] [--requests N] [--concurrency 16,64] [--group-members N] [--exclude-members] [--json PATH]";

struct Options {
    url: String,
    token: String,
    workloads: Vec<u8>,
    users: usize,
    requests: usize,
    concurrency: Vec<usize>,
    group_members: usize,
    exclude_members: bool,
    json: Option<String>,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        url: std::env::var("SCIMD_BENCH_URL")
            .unwrap_or_else(|_| "http://127.0.0.1:8080/scim/v2".to_string()),
        token: std::env::var("SCIMD_BENCH_TOKEN").unwrap_or_default(),
        workloads: vec![1, 2, 3, 4, 5],
        users: 100_000,
        requests: 20_000,
        concurrency: vec![16, 64],
        group_members: 100_000,
        exclude_members: false,
        json: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value; {USAGE}"));
        match arg.as_str() {
            "--url" => options.url = value()?,
            "--token" => options.token = value()?,
            "--workloads" => {
                options.workloads = list(&value()?, |w| {
                    let number = w.trim().trim_start_matches(['w', 'W']).parse().ok()?;
                    (0..=5).contains(&number).then_some(number)
                })?
            }
            "--users" => options.users = number(&value()?)?,
            "--requests" => options.requests = number(&value()?)?,
            "--concurrency" => {
                options.concurrency = list(&value()?, |c| c.trim().parse().ok().filter(|c| *c > 0))?
            }
            "--group-members" => options.group_members = number(&value()?)?,
            "--exclude-members" => options.exclude_members = true,
            "--json" => options.json = Some(value()?),
            // What cargo bench passes to every bench target.
            "--bench" => {}
            "--help" | "-h" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other}; {USAGE}")),
        }
    }
    if options.token.is_empty() {
        return Err(format!(
            "no API key: pass --token or set SCIMD_BENCH_TOKEN; {USAGE}"
        ));
    }
    Ok(options)
}

fn number(text: &str) -> Result<usize, String> {
    text.replace('_', "")
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))
}

fn list<T>(text: &str, parse: impl Fn(&str) -> Option<T>) -> Result<Vec<T>, String> {
    let items = text
        .split(',')
        .map(|item| parse(item).ok_or(format!("{item:?} is not allowed in {text:?}; {USAGE}")))
        .collect::<Result<Vec<T>, String>>()?;
    if items.is_empty() {
        return Err(format!("{text:?} names nothing"));
    }
    Ok(items)
}

fn main() -> ExitCode {
    let result = options().and_then(|options| {
        let runtime = tokio::runtime::Runtime::new()
            .map_err(|error| format!("cannot start the async runtime: {error}"))?;
        runtime.block_on(bench(options))
    });
    match result {
        Ok(0) => ExitCode::SUCCESS,
        Ok(errors) => {
            eprintln!("{errors} requests failed (see the errors above)");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the chosen workloads; the number of failed requests.
async fn bench(options: Options) -> Result<usize, String> {
    let widest = options.concurrency.iter().copied().max().unwrap_or(1);
    let scim = Scim::new(&options.url, &options.token, widest)?;
    let existing = scim.check().await?;
    let now = chrono::Utc::now();
    let run_id = format!("b{}", now.timestamp_millis());
    let seed = now.timestamp_nanos_opt().unwrap_or_default() as u64;
    let wants = |workload: u8| options.workloads.contains(&workload);
    println!(
        "scimd at {} holds {existing} users; run {run_id}, workloads {:?}, concurrency {:?}",
        scim.base(),
        options.workloads,
        options.concurrency
    );
    let mut rows: Vec<Row> = Vec::new();

    // The users W2-W4 work on: this run's W1 users, or else the instance's own, filled up to
    // --users.
    let mut users: Vec<Known> = Vec::new();
    if wants(1) {
        let levels = options.concurrency.len();
        for (level, &concurrency) in options.concurrency.iter().enumerate() {
            let first = options.users * level / levels;
            let count = options.users * (level + 1) / levels - first;
            let label = format!("W1 create c{concurrency}");
            let (row, created) =
                workloads::create(&scim, &run_id, &label, first, count, concurrency).await?;
            users.extend(created);
            rows.push(row);
        }
    } else if wants(2) || wants(3) || wants(4) {
        users = workloads::existing(&scim, existing).await?;
        let needed = if wants(4) {
            options.users.max(options.group_members)
        } else {
            options.users
        };
        if users.len() < needed {
            let missing = needed - users.len();
            eprintln!("creating {missing} users so that {needed} exist (not measured)");
            let (_, created) =
                workloads::create(&scim, &run_id, "fill", 0, missing, widest).await?;
            users.extend(created);
        }
    }
    let users = Arc::new(users);

    if wants(0) {
        for &concurrency in &options.concurrency {
            rows.push(workloads::floor(&scim, options.requests, concurrency).await?);
        }
    }
    if wants(2) {
        for &concurrency in &options.concurrency {
            let row =
                workloads::lookup(&scim, &users, &run_id, options.requests, concurrency, seed)
                    .await?;
            rows.push(row);
        }
    }
    if wants(3) {
        for &concurrency in &options.concurrency {
            let seed = seed.wrapping_add(concurrency as u64);
            rows.push(workloads::patch(&scim, &users, options.requests, concurrency, seed).await?);
        }
    }
    if wants(4) {
        if users.len() < options.group_members {
            eprintln!(
                "W4: only {} users are known, so each group gets {} members, not {} (ask --users {} or more)",
                users.len(),
                users.len(),
                options.group_members,
                options.group_members
            );
        }
        for &concurrency in &options.concurrency {
            let row = workloads::group(
                &scim,
                &users,
                &run_id,
                options.group_members,
                concurrency,
                options.exclude_members,
            )
            .await?;
            rows.push(row);
        }
    }
    if wants(5) {
        let total = scim.check().await?;
        rows.push(workloads::walk(&scim, Paging::Index, total).await?);
        rows.push(workloads::walk(&scim, Paging::Cursor, total).await?);
    }

    print_table(&rows);
    let errors = rows.iter().map(|row| row.errors).sum();
    if let Some(path) = &options.json {
        let report = Report {
            run_id,
            url: scim.base().to_string(),
            started_at: now.to_rfc3339(),
            users: users.len(),
            group_members: options.group_members.min(users.len()),
            concurrency: options.concurrency.clone(),
            results: rows,
        };
        let text = serde_json::to_string_pretty(&report)
            .map_err(|error| format!("cannot render the report: {error}"))?;
        std::fs::write(path, text + "\n")
            .map_err(|error| format!("cannot write {path}: {error}"))?;
        println!("wrote {path}");
    }
    Ok(errors)
}
