//! Time bounds: a request that takes too long is abandoned with a SCIM 503, and a client that
//! is slow to send its headers or its body is cut off within the bound.
//!
//! No assertion here needs the machine to be quick. Each bound is asserted from below (scimd
//! never gives up before it, measured from before the client's first byte, which a slow
//! machine only lengthens) and from above by the wait of `CAP`: twenty times the bound, for a
//! loaded machine, yet shorter than the defaults (30 s for headers and bodies, 60 s for
//! handlers), so a setting scimd ignored would fail as surely as a bound it never enforced.
//! Each test sets only the bound it is about, so that its other requests keep the defaults
//! however slowly they run.

use crate::common::{encode, user, TestApp};
use crate::on_both_stores_with;
use projections::db::{Dialect, Sql};
use scimd::limits::{self, Limits};
use scimd::startup::ServerSettings;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The header and body read timeouts under test.
const BOUND: Duration = Duration::from_secs(1);
/// The request timeout under test: a create after the abandoned one must finish within it.
const REQUEST_BOUND: Duration = Duration::from_secs(3);
const CAP_SECS: u64 = 20;
const CAP: Duration = Duration::from_secs(CAP_SECS);
const _: () = assert!(
    CAP_SECS < limits::HEADER_READ_TIMEOUT_SECS
        && CAP_SECS < limits::BODY_READ_TIMEOUT_SECS
        && CAP_SECS < limits::REQUEST_TIMEOUT_SECS,
    "an ignored setting must outlast the cap"
);

fn with_limits(limits: Limits) -> ServerSettings {
    ServerSettings {
        limits,
        ..ServerSettings::default()
    }
}

fn short_request_timeout() -> ServerSettings {
    with_limits(Limits {
        request_timeout: REQUEST_BOUND,
        ..Limits::default()
    })
}

fn short_header_timeout() -> ServerSettings {
    with_limits(Limits {
        header_read_timeout: BOUND,
        ..Limits::default()
    })
}

fn short_body_timeout() -> ServerSettings {
    with_limits(Limits {
        body_read_timeout: BOUND,
        ..Limits::default()
    })
}

on_both_stores_with!(short_request_timeout;
    a_request_past_the_timeout_is_abandoned_with_503,
);

on_both_stores_with!(short_header_timeout;
    a_client_that_stalls_in_its_headers_is_disconnected,
    an_idle_connection_is_closed,
);

on_both_stores_with!(short_body_timeout;
    a_client_that_stalls_or_trickles_its_body_gets_408_and_is_disconnected,
);

async fn a_request_past_the_timeout_is_abandoned_with_503(app: TestApp) {
    // Hold the store's write lock (SQLite) or the events table (PostgreSQL): a create then
    // waits until the lock is released, which is after the request timeout.
    let mut held = app
        .store
        .db
        .begin_write()
        .await
        .expect("a write transaction");
    if app.store.db.dialect() == Dialect::Postgres {
        held.execute(&Sql::new("LOCK TABLE events IN EXCLUSIVE MODE"))
            .await
            .expect("the events table is locked");
    }
    let started = Instant::now();
    let reply = tokio::time::timeout(CAP, app.post("/Users", user("slow@example.com")))
        .await
        .unwrap_or_else(|_| panic!("no answer within {CAP:?}: the request is not bounded"));
    let took = started.elapsed();
    assert_eq!(reply.status, 503, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "503");
    assert_eq!(
        reply.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert!(took >= REQUEST_BOUND, "abandoned early, after {took:?}");
    drop(held);

    // The abandoned create left nothing behind, and the server serves on.
    let filter = encode("userName eq \"slow@example.com\"");
    let found = app.get(&format!("/Users?filter={filter}")).await;
    assert_eq!(
        (found.status, &found.body["totalResults"]),
        (200, &json!(0)),
        "{:?}",
        found.body
    );
    app.create_user("fast@example.com").await;
}

/// Reads until the server closes the connection, for at most `CAP`: what it sent, and how
/// long after `started` it closed.
async fn read_until_closed(stream: &mut TcpStream, started: Instant) -> (String, Duration) {
    let mut answer = Vec::new();
    let read = tokio::time::timeout(CAP, stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the connection is still open after {CAP:?}");
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

async fn a_client_that_stalls_in_its_headers_is_disconnected(app: TestApp) {
    let half = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: scimd\r\nAuthorization: Bearer {}\r\n",
        app.token
    );
    let started = Instant::now();
    let mut stream = TcpStream::connect(app.address).await.expect("connects");
    stream.write_all(half.as_bytes()).await.expect("sent");
    let (answer, took) = read_until_closed(&mut stream, started).await;
    assert!(took >= BOUND, "cut off early, after {took:?}");
    assert!(!answer.starts_with("HTTP/1.1 2"), "{answer}");

    // Trickling the headers does not reset the bound: were it reset by each byte, the
    // trickle would go on until the cap.
    let started = Instant::now();
    let mut stream = TcpStream::connect(app.address).await.expect("connects");
    let trickle = async {
        for byte in half.bytes().cycle() {
            if stream.write_all(&[byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let cut_off = tokio::time::timeout(CAP, trickle).await;
    assert!(cut_off.is_ok(), "still trickling after {CAP:?}");
    assert!(
        started.elapsed() >= BOUND,
        "cut off early, after {:?}",
        started.elapsed()
    );
}

async fn a_client_that_stalls_or_trickles_its_body_gets_408_and_is_disconnected(app: TestApp) {
    let body = user("stalled@example.com").to_string();
    let head = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: scimd\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n",
        app.token,
        body.len()
    );
    let started = Instant::now();
    let mut stream = TcpStream::connect(app.address).await.expect("connects");
    stream.write_all(head.as_bytes()).await.expect("sent");
    stream
        .write_all(&body.as_bytes()[..10])
        .await
        .expect("sent");
    let (answer, took) = read_until_closed(&mut stream, started).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""status":"408""#), "{answer}");
    assert!(took >= BOUND, "answered early, after {took:?}");

    // A byte every 100 ms takes at least nine times the bound, however fast the machine: were
    // the bound reset by each byte, or not kept at all, the create would go through.
    let trickle_takes = Duration::from_millis(100) * u32::try_from(body.len()).unwrap_or(u32::MAX);
    assert!(trickle_takes >= BOUND * 9, "{trickle_takes:?}");
    let mut stream = TcpStream::connect(app.address).await.expect("connects");
    stream.write_all(head.as_bytes()).await.expect("sent");
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        for byte in body.bytes() {
            if writer.write_all(&[byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(CAP, reader.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the connection is still open after {CAP:?}");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    trickle.abort();

    let filter = encode("userName eq \"stalled@example.com\"");
    let found = app.get(&format!("/Users?filter={filter}")).await;
    assert_eq!(
        (found.status, &found.body["totalResults"]),
        (200, &json!(0)),
        "{:?}",
        found.body
    );
}

async fn an_idle_connection_is_closed(app: TestApp) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(app.address).await.expect("connects");
    let request = "GET /healthz HTTP/1.1\r\nHost: scimd\r\n\r\n";
    stream.write_all(request.as_bytes()).await.expect("sent");
    let (answer, took) = read_until_closed(&mut stream, started).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(took >= BOUND, "closed early, after {took:?}");
}
