//! What the bench tells: one row per workload and concurrency (requests, errors, time,
//! requests/s, p50/p99), W4's batch latency at each group size, W5's first and last pages;
//! printed as a table on stdout and written as JSON.

use crate::measure::{summary, Measured};
use serde::Serialize;
use std::time::Duration;

#[derive(Serialize)]
pub struct Row {
    pub workload: String,
    pub concurrency: usize,
    pub requests: usize,
    pub errors: usize,
    pub elapsed_s: f64,
    pub requests_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub mean_ms: f64,
    /// The first few failures: status, request and the start of the body.
    pub error_samples: Vec<String>,
    /// W4: mean latency of the ten batches that brought the group to each size.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_sizes: Vec<GroupSize>,
    /// W5: the walk's size and its first and last pages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub walk: Option<Walk>,
}

#[derive(Serialize)]
pub struct GroupSize {
    pub members: usize,
    pub batches: usize,
    pub mean_ms: f64,
    pub p50_ms: f64,
}

#[derive(Serialize)]
pub struct Walk {
    pub resources: u64,
    pub pages: usize,
    /// Mean latency of the first and of the last ten pages.
    pub first_pages_ms: f64,
    pub last_pages_ms: f64,
}

impl Row {
    pub fn new<T>(workload: &str, concurrency: usize, measured: &Measured<T>) -> Self {
        let (p50_ms, p99_ms, mean_ms) = summary(measured.latencies.iter().map(|(_, l)| *l));
        let seconds = measured.elapsed.as_secs_f64();
        Self {
            workload: workload.to_string(),
            concurrency,
            requests: measured.requests(),
            errors: measured.errors,
            elapsed_s: round(seconds, 3),
            requests_per_s: round(measured.requests() as f64 / seconds.max(1e-9), 1),
            p50_ms: round(p50_ms, 2),
            p99_ms: round(p99_ms, 2),
            mean_ms: round(mean_ms, 2),
            error_samples: measured.error_samples.clone(),
            group_sizes: Vec::new(),
            walk: None,
        }
    }
}

/// The whole run, as written to `--json`.
#[derive(Serialize)]
pub struct Report {
    pub run_id: String,
    pub url: String,
    pub started_at: String,
    pub users: usize,
    pub group_members: usize,
    pub concurrency: Vec<usize>,
    pub results: Vec<Row>,
}

pub fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

pub fn millis(latencies: &[Duration]) -> f64 {
    summary(latencies.iter().copied()).2
}

pub fn print_table(rows: &[Row]) {
    println!(
        "{:<22} {:>5} {:>9} {:>7} {:>9} {:>10} {:>9} {:>9}",
        "workload", "conc", "requests", "errors", "seconds", "req/s", "p50 ms", "p99 ms"
    );
    for row in rows {
        println!(
            "{:<22} {:>5} {:>9} {:>7} {:>9.2} {:>10.1} {:>9.2} {:>9.2}",
            row.workload,
            row.concurrency,
            row.requests,
            row.errors,
            row.elapsed_s,
            row.requests_per_s,
            row.p50_ms,
            row.p99_ms
        );
    }
    for row in rows {
        for size in &row.group_sizes {
            println!(
                "{} at concurrency {}: adding 100 members at {} members: mean {:.2} ms, p50 {:.2} ms ({} batches)",
                row.workload, row.concurrency, size.members, size.mean_ms, size.p50_ms, size.batches
            );
        }
        if let Some(walk) = &row.walk {
            println!(
                "{}: {} users in {} pages in {:.2} s; first 10 pages {:.2} ms, last 10 pages {:.2} ms each",
                row.workload, walk.resources, walk.pages, row.elapsed_s, walk.first_pages_ms, walk.last_pages_ms
            );
        }
        for sample in &row.error_samples {
            println!(
                "{} at concurrency {}: error: {sample}",
                row.workload, row.concurrency
            );
        }
    }
}
