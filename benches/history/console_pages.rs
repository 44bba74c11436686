//! What the admin console's pages cost on the bench's log: each admin API request a page
//! makes, timed over HTTP against a running `scimd serve` (median and slowest of 20).

use super::server::start_server;
use super::{Client, Failure, INSTANCE};
use std::time::{Duration, Instant};

const ADMIN_TOKEN: &str = "bench-admin-token-0123456789abcdefghijklmnop";
const RUNS: usize = 20;

pub async fn measure(url: &str, store: &str) -> Result<(), Failure> {
    let (mut server, base) = start_server(url, &["--admin-token", ADMIN_TOKEN])?;
    let root = base.trim_end_matches("/scim/v2").to_string();
    let admin = Client::new(
        format!("{root}/admin/v1/instances/{INSTANCE}"),
        ADMIN_TOKEN.to_string(),
    );
    let get = async |path: &str| admin.get(path).await;
    let user = get("/directory/user0-0@corp.example").await?;
    let id = user["id"].as_str().unwrap_or_default().to_string();
    // A cursor halfway through the history, where page 1,000 of a 50-entry listing starts.
    let mut cursor = String::new();
    for _ in 0..50 {
        let page = get(&format!("/history?count=1000{}", after(&cursor))).await?;
        match page["nextCursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    let pages = [
        ("history, first page", "/history?count=50".to_string()),
        (
            "history, first page newest first",
            "/history?count=50&order=newest".to_string(),
        ),
        (
            "history, 50,000 entries in",
            format!("/history?count=50{}", after(&cursor)),
        ),
        (
            "history of one userName",
            "/history?count=50&user=user7-7@corp.example".to_string(),
        ),
        (
            "history of one kind of change",
            "/history?count=50&action=GroupCreated".to_string(),
        ),
        (
            "user timeline (by id)",
            format!("/history?count=50&id={id}"),
        ),
        ("user now", format!("/users/{id}")),
        (
            "user as of a moment",
            format!("/users/{id}?at=2099-01-01T00:00:00Z"),
        ),
        (
            "directory entry",
            "/directory/user0-0@corp.example".to_string(),
        ),
        (
            "provisioning log, newest first",
            "/provisioning-log?count=50&order=newest".to_string(),
        ),
        (
            "provisioning log, failed only",
            "/provisioning-log?count=50&order=newest&failed=true".to_string(),
        ),
        (
            "provisioning log of one userName",
            "/provisioning-log?count=50&order=newest&user=user7-7@corp.example".to_string(),
        ),
        ("mapping", "/mappings".to_string()),
    ];
    for (label, path) in pages {
        let mut times = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let started = Instant::now();
            get(&path).await?;
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "{store}: console {label}: median {:.1} ms, slowest {:.1} ms",
            millis(times[RUNS / 2]),
            millis(times[RUNS - 1])
        );
    }
    let started = Instant::now();
    let (mut entries, mut cursor) = (0, String::new());
    loop {
        let page = get(&format!("/history?count=1000{}", after(&cursor))).await?;
        entries += page["entries"].as_array().map_or(0, Vec::len);
        match page["nextCursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    println!(
        "{store}: console export (every page of 1,000): {entries} entries in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    server.kill()?;
    server.wait()?;
    Ok(())
}

/// The `cursor` parameter reading on after `cursor`; nothing on the first page.
fn after(cursor: &str) -> String {
    if cursor.is_empty() {
        String::new()
    } else {
        format!("&cursor={cursor}")
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
