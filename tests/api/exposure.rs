//! What a client without a credential can make scimd hold, store or say (issue 18): no body is
//! read before its credential is checked, connections are capped, failed authentications are
//! limited per client address and never limit a valid key, provisioning log entries are cut
//! to size, locations never take a forged Host or scheme, and the log escapes request text.

use crate::common::admin_api::{admin, with_admin_api};
use crate::common::server::{send, Server};
use crate::common::{fresh_database, user, Reply, StoreKind, TestApp};
use crate::metrics::scrape;
use crate::provisioning_log::log_of;
use crate::{on_both_store_kinds, on_both_stores, on_both_stores_with};
use reqwest::Method;
use scimd::admin::DEFAULT_INSTANCE;
use scimd::http::FailedAuthLimit;
use scimd::limits::Limits;
use scimd::provisioning_log::bound::{MARKER, PATH_LIMIT, USER_AGENT_LIMIT};
use scimd::startup::ServerSettings;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

on_both_stores_with!(with_admin_api;
    no_body_is_read_before_the_admin_token_is_checked,
    open_routes_and_unknown_paths_read_no_more_than_a_few_kib,
);
on_both_stores_with!(a_small_connection_cap;
    connections_past_the_cap_are_closed_unread_and_counted,
);
on_both_stores_with!(three_failures_then_one_a_minute;
    failed_authentications_are_limited_per_address_but_a_valid_key_never_is,
    a_refused_key_logs_its_path_and_user_agent_cut_to_size,
);
on_both_stores!(locations_never_take_a_forged_host_or_scheme);
on_both_store_kinds!(request_text_is_logged_escaped);

/// The flags of `scimd serve` reach the connection cap and the failed-authentication limit
/// (both are the same on every store, tested above).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_takes_the_connection_cap_and_failed_auth_limit_from_its_flags() {
    let (database_url, _dir) = fresh_database(StoreKind::Sqlite).await;
    let flags = [
        "--max-connections",
        "2",
        "--header-read-timeout-secs",
        "600",
        "--failed-auth-burst",
        "1",
        "--failed-auth-per-minute",
        "1",
    ];
    let server = Server::start_with(&database_url, &flags).await;
    let users = format!("{}/Users", server.base);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("a client");
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let reply = client.get(&users).send().await.expect("scimd answers");
        statuses.push(reply.status().as_u16());
    }
    assert_eq!(statuses, [401, 429]);
    let address = server
        .base
        .trim_start_matches("http://")
        .trim_end_matches("/scim/v2");
    let address: SocketAddr = address.parse().expect("a socket address");
    let held = fill_up(address, 2).await;
    drop(held);
}

/// Long enough that no connection a test holds is timed out under it.
const PATIENT: Duration = Duration::from_secs(600);

fn a_small_connection_cap() -> ServerSettings {
    ServerSettings {
        max_connections: 4,
        limits: Limits {
            header_read_timeout: PATIENT,
            ..Limits::default()
        },
        ..ServerSettings::default()
    }
}

fn three_failures_then_one_a_minute() -> ServerSettings {
    ServerSettings {
        failed_auth_limit: FailedAuthLimit {
            per_minute: 1,
            burst: 3,
        },
        ..with_admin_api()
    }
}

/// Sends `request` on a new connection and reads the response head: its status, or `None`
/// when the server closed the connection without answering.
async fn status_of_raw(app: &TestApp, request: &[u8]) -> Option<u16> {
    let mut stream = TcpStream::connect(app.address).await.expect("a connection");
    // The server may close the connection before the request is written whole.
    let _ = stream.write_all(request).await;
    let mut head = Vec::new();
    let mut buffer = [0_u8; 4096];
    let read = async {
        while !head.windows(4).any(|window| window == b"\r\n\r\n") {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(count) => head.extend_from_slice(&buffer[..count]),
            }
        }
    };
    // Bounded only so that a broken server fails the test instead of hanging it.
    tokio::time::timeout(PATIENT, read)
        .await
        .expect("the server answers or closes");
    let head = String::from_utf8_lossy(&head);
    head.strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
}

/// A request whose head promises a 1 MiB body of which only a few bytes follow: it is
/// answered at once only by a server that does not wait for the body.
fn promising_a_large_body(method: &str, path: &str) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: 1048576\r\n\r\n{{\"name\":"
    )
    .into_bytes()
}

async fn no_body_is_read_before_the_admin_token_is_checked(app: TestApp) {
    let request = promising_a_large_body("POST", "/admin/v1/instances");
    assert_eq!(
        status_of_raw(&app, &request).await,
        Some(401),
        "refused before the body arrives, not after waiting for it (408)"
    );
    // With the token, the admin API still takes bodies up to the body limit.
    let (status, body) = admin(
        &app,
        Method::POST,
        "/instances",
        Some(crate::common::admin_api::ADMIN_TOKEN),
        Some(json!({"name": "acme", "padding": "x".repeat(64 * 1024)})),
    )
    .await;
    assert_ne!(status, 401, "{body}");
    assert_ne!(status, 413, "{body}");
}

async fn open_routes_and_unknown_paths_read_no_more_than_a_few_kib(app: TestApp) {
    let origin = format!("http://{}", app.address);
    for path in ["/healthz", "/metrics", "/admin/"] {
        let response = app
            .client
            .get(format!("{origin}{path}"))
            .body("x".repeat(8 * 1024))
            .send()
            .await
            .expect("scimd answers");
        assert_eq!(response.status(), 413, "{path}");
    }
    // A head past 128 KiB is refused by the HTTP parser, before any route (hyper's own bound
    // is ~400 KiB).
    let long_header = format!(
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Padding: {}\r\n\r\n",
        "p".repeat(200 * 1024)
    );
    assert_eq!(status_of_raw(&app, long_header.as_bytes()).await, Some(431));
    // A path with control bytes never reaches a route, or a log line.
    let escape = b"GET /scim/v2/Users\x1b[2J HTTP/1.1\r\nHost: localhost\r\n\r\n";
    assert_eq!(status_of_raw(&app, escape).await, Some(400));
    for path in ["/nowhere", "/admin/v1/nowhere", "/scim/v2/Nowhere"] {
        let request = promising_a_large_body("POST", path);
        assert_eq!(
            status_of_raw(&app, &request).await,
            Some(404),
            "{path} is answered without its body"
        );
    }
}

/// Opens connections to `address`, each answered once and then kept open, until one is closed
/// unanswered; returns those kept. At most `cap` may be served at once, and one of them may
/// already be taken (a client's pooled connection).
async fn fill_up(address: SocketAddr, cap: usize) -> Vec<TcpStream> {
    let request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let mut held = Vec::new();
    for _ in 0..=cap {
        let mut stream = TcpStream::connect(address).await.expect("a connection");
        let _ = stream.write_all(request).await;
        let mut answer = [0_u8; 12];
        match stream.read_exact(&mut answer).await {
            Ok(_) if answer.starts_with(b"HTTP/1.1 200") => held.push(stream),
            _ => {
                assert!(held.len() + 1 >= cap, "only {} were served", held.len());
                return held;
            }
        }
    }
    panic!("{} connections were served at once", held.len());
}

async fn connections_past_the_cap_are_closed_unread_and_counted(app: TestApp) {
    let cap = 4;
    let held = fill_up(app.address, cap).await;
    drop(held);
    // Once the held connections are gone, their slots serve others again.
    let mut served = false;
    for _ in 0..600 {
        let fresh = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("a client");
        let url = format!("http://{}/healthz", app.address);
        if fresh.get(url).send().await.is_ok_and(|r| r.status() == 200) {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served, "a slot frees when its connection closes");
    let (scrape, text) = scrape(&app).await;
    let refused = scrape.value("scimd_http_connections_refused_total", &[]);
    assert!(refused >= 1.0, "{text}");
    let open = scrape.value("scimd_http_connections_open", &[]);
    assert!((1.0..=cap as f64).contains(&open), "{text}");
}

/// The key id of `token` with a wrong secret.
fn with_a_wrong_secret(token: &str) -> String {
    let key_id = token.split('_').nth(1).unwrap_or_default();
    format!("scimd_{key_id}_{}", "W".repeat(43))
}

async fn failed_authentications_are_limited_per_address_but_a_valid_key_never_is(app: TestApp) {
    let wrong = with_a_wrong_secret(&app.token);
    for _ in 0..3 {
        let reply = app.send(Method::GET, "/Users", Some(&wrong), None).await;
        assert_eq!(reply.status, 401, "{:?}", reply.body);
    }
    for token in [Some(wrong.as_str()), None] {
        let reply = app.send(Method::GET, "/Users", token, None).await;
        assert_eq!(reply.status, 429, "{:?}", reply.body);
        let schemas = reply.body["schemas"].to_string();
        assert!(schemas.contains("urn:ietf:params:scim:api:messages:2.0:Error"));
        let retry_after: u64 = reply
            .header("retry-after")
            .and_then(|seconds| seconds.parse().ok())
            .expect("a Retry-After in seconds");
        assert!((1..=60).contains(&retry_after), "{retry_after}");
    }
    let (status, body) = admin(&app, Method::GET, "/instances", Some("not-the-token"), None).await;
    assert_eq!(
        status, 429,
        "the admin API shares the address's budget: {body}"
    );
    assert!(body["error"].is_string(), "{body}");

    // The address is over its limit, and a valid credential from it is served all the same.
    for _ in 0..10 {
        let reply = app.get("/Users").await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
    }
    let created = app.post("/Users", user("valid@corp")).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let (status, body) = admin(
        &app,
        Method::GET,
        "/instances",
        Some(crate::common::admin_api::ADMIN_TOKEN),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Only the refusals answered 401 are logged: a limited client writes nothing.
    let entries = log_of(&app, DEFAULT_INSTANCE, "").await;
    let statuses: Vec<i64> = entries
        .iter()
        .filter_map(|entry| entry["status"].as_i64())
        .filter(|status| *status >= 400)
        .collect();
    assert_eq!(statuses, [401, 401, 401], "{entries:#?}");

    let (scrape, text) = scrape(&app).await;
    let scim = [("credential", "scim_key")];
    let admin_token = [("credential", "admin_token")];
    assert_eq!(
        scrape.value("scimd_failed_authentications_total", &scim),
        5.0,
        "{text}"
    );
    assert_eq!(
        scrape.value("scimd_failed_authentications_limited_total", &scim),
        2.0,
        "{text}"
    );
    assert_eq!(
        scrape.value("scimd_failed_authentications_limited_total", &admin_token),
        1.0,
        "{text}"
    );
}

async fn a_refused_key_logs_its_path_and_user_agent_cut_to_size(app: TestApp) {
    let wrong = with_a_wrong_secret(&app.token);
    let path = format!("/Users?padding={}", "p".repeat(60 * 1024));
    let agent = "a".repeat(30 * 1024);
    let response = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(&wrong)
        .header("user-agent", &agent)
        .send()
        .await
        .expect("scimd answers");
    assert_eq!(response.status(), 401);

    let entries = log_of(&app, DEFAULT_INSTANCE, "").await;
    assert_eq!(entries.len(), 1, "{entries:#?}");
    let entry = &entries[0];
    let stored_path = entry["path"].as_str().unwrap_or_default();
    let stored_agent = entry["userAgent"].as_str().unwrap_or_default();
    assert_eq!(stored_path.len(), PATH_LIMIT + MARKER.len());
    assert!(stored_path.starts_with("/scim/v2/Users?padding=ppp"));
    assert!(stored_path.ends_with(MARKER), "{stored_path}");
    assert_eq!(stored_agent.len(), USER_AGENT_LIMIT + MARKER.len());
    assert!(stored_agent.ends_with(MARKER), "{stored_agent}");

    let (scrape, text) = scrape(&app).await;
    let truncated = scrape.value("scimd_provisioning_log_truncated_fields_total", &[]);
    assert_eq!(truncated, 2.0, "{text}");
}

/// Creates a user with forged `Host` and `X-Forwarded-Proto` headers; its `Location`.
async fn location_with(app: &TestApp, host: &str, proto: &str) -> (String, Value) {
    let response = app
        .client
        .post(format!("{}/Users", app.base))
        .bearer_auth(&app.token)
        .header("host", host)
        .header("x-forwarded-proto", proto)
        .header("content-type", "application/scim+json")
        .body(user(&format!("forged-{}@corp", uuid::Uuid::new_v4())).to_string())
        .send()
        .await
        .expect("scimd answers");
    let reply = Reply::read(response).await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let location = reply.header("location").unwrap_or_default().to_string();
    (location, reply.body)
}

async fn locations_never_take_a_forged_host_or_scheme(app: TestApp) {
    let listening = format!("http://{}/scim/v2/Users/", app.address);
    // The reproduction of issue 18: a script URL out of the forwarded scheme.
    let (location, body) = location_with(&app, "evil.example", "javascript:alert(1)//").await;
    assert!(
        location.starts_with("http://evil.example/scim/v2/Users/"),
        "{location}"
    );
    assert_eq!(body["meta"]["location"], location.as_str());
    for host in [
        "evil.example/x?",
        "javascript:alert(1)//:",
        "user@evil.example",
    ] {
        let (location, body) = location_with(&app, host, "https").await;
        assert!(location.starts_with(&listening), "{host}: {location}");
        assert_eq!(body["meta"]["location"], location.as_str());
    }
    // A proxy's valid headers are still honoured.
    let (location, _) = location_with(&app, "scim.example.com:8443", "https").await;
    assert!(
        location.starts_with("https://scim.example.com:8443/scim/v2/Users/"),
        "{location}"
    );
}

async fn request_text_is_logged_escaped(kind: StoreKind) {
    let (url, _dir) = fresh_database(kind).await;
    let env = [("RUST_LOG", "debug")];
    let mut server = Server::start_logging(&url, &["--log-format", "text"], &env).await;
    let logs = server.logs.clone().expect("stderr is captured");
    let key = server
        .printed_key
        .clone()
        .expect("a first start prints a key");
    let forged = "x\n2026-01-01T00:00:00Z  INFO scimd: forged line \u{1b}[2J";
    let mut body = user("escaped@corp");
    body[forged] = json!("value");
    let reply = send(
        Method::POST,
        &format!("{}/Users", server.base),
        &key,
        Some(body),
    )
    .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    // U+009B, which opens an escape sequence in some terminals, is valid UTF-8 in a path.
    let address = server
        .base
        .trim_start_matches("http://")
        .trim_end_matches("/scim/v2");
    let mut stream = TcpStream::connect(address).await.expect("a connection");
    let request = "GET /scim/v2/Users/\u{9b}[2J HTTP/1.1\r\nHost: localhost\r\n\r\n";
    stream.write_all(request.as_bytes()).await.expect("sent");
    let mut answer = [0_u8; 12];
    stream.read_exact(&mut answer).await.expect("an answer");
    assert_eq!(&answer, b"HTTP/1.1 401", "the path reaches the router");
    assert!(server.signal("TERM").await.success());
    let lines = logs.after_exit().await;
    let refused: Vec<&String> = lines
        .iter()
        .filter(|line| line.contains("status=401"))
        .collect();
    assert_eq!(refused.len(), 1, "{lines:#?}");
    assert!(
        refused[0].contains(r"path=/scim/v2/Users/\u{9b}[2J"),
        "{}",
        refused[0]
    );
    let ignored: Vec<&String> = lines
        .iter()
        .filter(|line| line.contains("ignoring an attribute"))
        .collect();
    assert_eq!(ignored.len(), 1, "{lines:#?}");
    assert!(ignored[0].contains(r"x\n2026"), "{}", ignored[0]);
    for line in &lines {
        assert!(
            !line.contains("forged line \u{1b}"),
            "raw request text: {line:?}"
        );
        assert!(!line.starts_with("2026-01-01T00:00:00Z"), "{line:?}");
        assert!(!line.contains('\u{9b}'), "raw request text: {line:?}");
    }
}
