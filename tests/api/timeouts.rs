//! Time bounds: a request that takes too long is abandoned with a SCIM 503, and a client that
//! is slow to send its headers or its body is cut off within the bound.

use crate::common::{encode, user, TestApp};
use crate::on_both_stores_with;
use projections::db::{Dialect, Sql};
use scimd::limits::Limits;
use scimd::startup::ServerSettings;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const BOUND: Duration = Duration::from_millis(700);

fn short_timeouts() -> ServerSettings {
    ServerSettings {
        limits: Limits {
            request_timeout: BOUND,
            header_read_timeout: BOUND,
            body_read_timeout: BOUND,
            ..Limits::default()
        },
        ..ServerSettings::default()
    }
}

on_both_stores_with!(short_timeouts;
    a_request_past_the_timeout_is_abandoned_with_503,
    a_client_that_stalls_in_its_headers_is_disconnected,
    a_client_that_stalls_or_trickles_its_body_gets_408_and_is_disconnected,
    an_idle_connection_is_closed,
);

async fn a_request_past_the_timeout_is_abandoned_with_503(app: TestApp) {
    // Hold the store's write lock (SQLite) or the events table (PostgreSQL): a create then
    // waits far longer than the request may take.
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
    let reply = app.post("/Users", user("slow@example.com")).await;
    let took = started.elapsed();
    assert_eq!(reply.status, 503, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "503");
    assert_eq!(
        reply.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert!(took >= BOUND && took < BOUND * 4, "answered after {took:?}");
    drop(held);

    // The abandoned create left nothing behind, and the server serves on.
    let filter = encode("userName eq \"slow@example.com\"");
    assert_eq!(
        app.get(&format!("/Users?filter={filter}")).await.body["totalResults"],
        0
    );
    app.create_user("fast@example.com").await;
}

/// Reads until the server closes the connection; what it sent, and how long it took.
async fn read_until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(BOUND * 10, stream.read_to_end(&mut answer)).await;
    assert!(
        read.is_ok(),
        "the connection is still open after {:?}",
        BOUND * 10
    );
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

async fn a_client_that_stalls_in_its_headers_is_disconnected(app: TestApp) {
    let mut stream = TcpStream::connect(app.address).await.expect("connects");
    let half = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: scimd\r\nAuthorization: Bearer {}\r\n",
        app.token
    );
    stream.write_all(half.as_bytes()).await.expect("sent");
    let (answer, took) = read_until_closed(&mut stream).await;
    assert!(took < BOUND * 3, "closed after {took:?}");
    assert!(!answer.starts_with("HTTP/1.1 2"), "{answer}");

    // Trickling the headers does not reset the bound.
    let mut stream = TcpStream::connect(app.address).await.expect("connects");
    let started = Instant::now();
    let trickle = async {
        for byte in half.bytes().cycle() {
            if stream.write_all(&[byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let _ = tokio::time::timeout(BOUND * 10, trickle).await;
    assert!(
        started.elapsed() < BOUND * 3,
        "cut off after {:?}",
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
    let mut stream = TcpStream::connect(app.address).await.expect("connects");
    stream.write_all(head.as_bytes()).await.expect("sent");
    stream
        .write_all(&body.as_bytes()[..10])
        .await
        .expect("sent");
    let (answer, took) = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""status":"408""#), "{answer}");
    assert!(took >= BOUND && took < BOUND * 3, "answered after {took:?}");

    // A byte every 100 ms would take far longer than the bound: it is cut off all the same.
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
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(BOUND * 10, reader.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the connection is still open");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        started.elapsed() < BOUND * 3,
        "answered after {:?}",
        started.elapsed()
    );
    trickle.abort();

    let filter = encode("userName eq \"stalled@example.com\"");
    assert_eq!(
        app.get(&format!("/Users?filter={filter}")).await.body["totalResults"],
        0
    );
}

async fn an_idle_connection_is_closed(app: TestApp) {
    let mut stream = TcpStream::connect(app.address).await.expect("connects");
    let request = "GET /healthz HTTP/1.1\r\nHost: scimd\r\n\r\n";
    stream.write_all(request.as_bytes()).await.expect("sent");
    let (answer, took) = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(took < BOUND * 3, "closed after {took:?}");
}
