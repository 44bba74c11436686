//! The admin web console: how scimd serves it (embedded files, security headers, off without an
//! admin token), and the browser tests under tests/console, which drive it in headless Chromium
//! against a server started here.

use crate::common::admin_api::{with_admin_api, ADMIN_TOKEN};
use crate::common::server::Server;
use crate::common::wire::{body_of, exchange};
use crate::common::{fresh_database, StoreKind, TestApp};
use crate::on_both_store_kinds;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, LOCATION};
use scimd::startup::ServerSettings;
use scimd::webhooks::Backoff;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

on_both_store_kinds!(the_console_passes_its_browser_tests);

/// The settings of the server the browser tests run against. The history test makes its 10,000
/// entries with Bulk requests of 1,000 creates, which on a loaded machine can outlast the
/// default request timeout (60 s); the suite is about the console, not about that bound. The
/// webhooks tests deliver to receivers on loopback ports, and watch a failing endpoint be
/// given up on: seconds, not three days.
fn console_settings() -> ServerSettings {
    let mut settings = with_admin_api();
    settings.limits.request_timeout = Duration::from_secs(600);
    settings.webhooks.allow_loopback = true;
    settings.webhooks.backoff = Backoff {
        base: Duration::from_millis(200),
        cap: Duration::from_secs(1),
        give_up_after: Duration::from_secs(3),
    };
    settings
}

async fn the_console_passes_its_browser_tests(kind: StoreKind) {
    let app = TestApp::spawn_with(kind, console_settings()).await;
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/console");
    let chromium = std::env::var_os("SCIMD_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        chromium.exists() && tests.join("node_modules/playwright-core").exists(),
        "the console's browser tests need Chromium at {} and tests/console's npm packages: \
         run scripts/test once, which installs both",
        chromium.display()
    );
    let store = match kind {
        StoreKind::Sqlite => "sqlite",
        StoreKind::Postgres => "postgres",
    };
    // The pictures of docs/console.md are the SQLite run's, refreshed on request.
    let screenshots = match std::env::var_os("SCIMD_UPDATE_SCREENSHOTS") {
        Some(_) if kind == StoreKind::Sqlite => {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/console")
        }
        _ => Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("console-screenshots/{store}")),
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&tests)
        .expect("tests/console is readable")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.to_string_lossy().ends_with(".test.mjs"))
        .filter(|path| chosen(path))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "tests/console holds browser tests");
    let run = tokio::process::Command::new("node")
        .args(["--test", "--test-concurrency=1", "--test-reporter=spec"])
        .args(&files)
        .current_dir(&tests)
        .env("SCIMD_URL", format!("http://{}", app.address))
        .env("SCIMD_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("SCIMD_CHROMIUM", &chromium)
        .env("SCIMD_SCREENSHOTS", &screenshots)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("node runs (Node.js 20 or later must be on PATH)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    println!("{report}");
    assert!(
        run.status.success(),
        "the console's browser tests failed on {store}:\n{report}"
    );
}

/// `SCIMD_CONSOLE_TESTS=mapping,keys` runs only the browser test files of those names.
fn chosen(file: &Path) -> bool {
    let Ok(names) = std::env::var("SCIMD_CONSOLE_TESTS") else {
        return true;
    };
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    names
        .split(',')
        .any(|wanted| name.strip_suffix(".test.mjs") == Some(wanted.trim()))
}

/// A GET as a browser's first request makes it: redirects are answers to check, not to follow.
async fn fetch(url: String) -> reqwest::Response {
    plain_client().get(url).send().await.expect("scimd answers")
}

fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

#[tokio::test]
async fn the_console_is_served_from_the_binary_with_a_strict_content_policy() {
    let app = TestApp::spawn_with(StoreKind::Sqlite, with_admin_api()).await;
    let root = format!("http://{}", app.address);

    let redirect = fetch(format!("{root}/admin")).await;
    assert_eq!(redirect.status(), 308);
    assert_eq!(redirect.headers()[LOCATION], "admin/");

    let index = fetch(format!("{root}/admin/")).await;
    assert_eq!(index.status(), 200);
    assert_eq!(index.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
    let policy = index.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert_eq!(index.headers()["x-content-type-options"], "nosniff");
    let html = index.text().await.unwrap();
    assert!(html.contains(r#"src="assets/app.js""#), "{html}");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing is fetched from elsewhere"
    );

    let script = fetch(format!("{root}/admin/assets/app.js")).await;
    assert_eq!(script.status(), 200);
    assert_eq!(
        script.headers()[CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(script.headers()[CACHE_CONTROL], "no-cache");
    let etag = script.headers()[ETAG].clone();
    let again = plain_client()
        .get(format!("{root}/admin/assets/app.js"))
        .header(IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304, "an unchanged file is not sent twice");

    let styles = fetch(format!("{root}/admin/assets/style.css")).await;
    assert_eq!(styles.headers()[CONTENT_TYPE], "text/css; charset=utf-8");

    let response = fetch(format!("{root}/admin/assets/nothing.js")).await;
    assert_eq!(response.status(), 404);
}

/// Paths that climb out of the console, as an attacker writes them on the wire: reqwest (like
/// a browser) would resolve `..` before sending, so these go out byte for byte. Each is
/// refused, and nothing from outside the console comes back: not the crate's Cargo.toml (two
/// levels above the console's assets, where the server runs in tests) nor /etc/passwd.
#[tokio::test]
async fn paths_that_climb_out_of_the_console_are_refused_on_the_wire() {
    let app = TestApp::spawn_with(StoreKind::Sqlite, with_admin_api()).await;
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .expect("Cargo.toml is readable");
    let outside = [
        manifest.lines().next().expect("Cargo.toml is not empty"),
        "root:",
    ];
    // (request target, what answers it): the console's file lookup, which knows no such
    // file, or, for a path that climbs out of the console's routes, the router.
    let console = "no such console file";
    let router = "no such endpoint";
    let targets = [
        ("/admin/assets/../../Cargo.toml", console),
        ("/admin/assets/../../../../../../../../etc/passwd", console),
        ("/admin/assets/pages/../../../Cargo.toml", console),
        ("/admin/assets/%2e%2e/%2e%2e/Cargo.toml", console),
        ("/admin/assets/%2E%2E%2F%2E%2E%2FCargo.toml", console),
        ("/admin/assets/..%2f..%2fCargo.toml", console),
        (
            "/admin/assets/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
            console,
        ),
        ("/admin/assets/%252e%252e/%252e%252e/Cargo.toml", console),
        ("/admin/assets/..%5c..%5cCargo.toml", console),
        ("/admin/assets/..\\..\\Cargo.toml", console),
        ("/admin/assets//etc/passwd", console),
        ("/admin/assets/%2fetc%2fpasswd", console),
        ("/admin/../Cargo.toml", router),
        ("/admin/%2e%2e/Cargo.toml", router),
    ];
    for (target, answerer) in targets {
        let request = format!("GET {target} HTTP/1.1\r\nHost: scimd\r\nConnection: close\r\n\r\n");
        let (status, answer) = exchange(app.address, request.as_bytes()).await;
        let body = body_of(&answer);
        for leaked in outside {
            assert!(
                !body.contains(leaked),
                "{target} served {leaked:?}: {answer}"
            );
        }
        assert_eq!(status, 404, "{target}: {answer}");
        assert!(body.contains(answerer), "{target}: {answer}");
    }
    // The same connection-level path serves a real console file, so the refusals above are
    // about the paths, not the wire.
    let request = "GET /admin/assets/app.js HTTP/1.1\r\nHost: scimd\r\nConnection: close\r\n\r\n";
    let (status, answer) = exchange(app.address, request.as_bytes()).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn without_an_admin_token_the_console_says_how_to_turn_it_on() {
    let app = TestApp::spawn_with(StoreKind::Sqlite, ServerSettings::default()).await;
    let root = format!("http://{}", app.address);
    for path in ["/admin/", "/admin/assets/app.js"] {
        let response = fetch(format!("{root}{path}")).await;
        assert_eq!(response.status(), 404, "{path}");
        let page = response.text().await.unwrap();
        assert!(page.contains("SCIMD_ADMIN_TOKEN"), "{page}");
    }
}

#[tokio::test]
async fn scimd_serve_serves_the_console_from_its_own_binary() {
    let (url, _dir) = fresh_database(StoreKind::Sqlite).await;
    let mut server = Server::start_logging(&url, &[], &[("SCIMD_ADMIN_TOKEN", ADMIN_TOKEN)]).await;
    let root = server.base.trim_end_matches("/scim/v2").to_string();
    let index = fetch(format!("{root}/admin/")).await;
    assert_eq!(index.status(), 200);
    assert!(index.text().await.unwrap().contains("assets/app.js"));
    for asset in ["app.js", "routes.js", "pages/mapping.js", "style.css"] {
        let response = fetch(format!("{root}/admin/assets/{asset}")).await;
        assert_eq!(response.status(), 200, "{asset}");
        let on_disk = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("console/assets/{asset}")),
        )
        .unwrap();
        assert_eq!(response.bytes().await.unwrap().as_ref(), on_disk, "{asset}");
    }
    assert!(server.signal("TERM").await.success(), "it stops cleanly");
}

/// The webhooks page offers exactly the feed's event types: a type added to the feed and not
/// to the page could not be chosen, one the feed lacks would be refused.
#[test]
fn the_webhooks_page_offers_the_feeds_event_types() {
    let page = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("console/assets/pages/webhooks.js"),
    )
    .expect("the webhooks page is readable");
    let list = page
        .split_once("export const EVENT_TYPES = [")
        .and_then(|(_, rest)| rest.split_once("];"))
        .map(|(list, _)| list)
        .expect("the page lists EVENT_TYPES");
    let offered: Vec<&str> = list
        .split(',')
        .map(|item| item.trim().trim_matches('"'))
        .filter(|item| !item.is_empty())
        .collect();
    assert_eq!(offered, projections::feed::EVENT_TYPES);
}
