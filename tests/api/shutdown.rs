//! SIGTERM, as an orchestrator stops scimd: requests in flight are finished and answered, no
//! acknowledged change is lost, nothing new is taken on, and the process exits cleanly, within
//! the shutdown grace even when a client never finishes its request.

use crate::common::audit_trail::assert_audit_trail_is_complete_and_ordered;
use crate::common::cli::database_with_instance;
use crate::common::server::{new_key, Server};
use crate::common::{encode, write_load, StoreKind};
use crate::on_both_store_kinds;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

on_both_store_kinds!(sigterm_under_load_finishes_requests_in_flight);

/// Bound on every wait below: far longer than anything takes on a loaded machine.
const CAP: Duration = Duration::from_secs(30);

/// A create sent over a raw connection in two parts, so that the server is certainly in the
/// middle of it when the signal arrives: it asks for `100 Continue`, which scimd sends only once
/// it has read the head, authenticated the key and started reading the body.
struct HalfSentCreate {
    stream: TcpStream,
    rest: Vec<u8>,
}

impl HalfSentCreate {
    async fn start(base: &str, token: &str, user_name: &str) -> Self {
        let address = base
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let body = json!({"userName": user_name}).to_string().into_bytes();
        let head = format!(
            "POST /scim/v2/Users HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/scim+json\r\nContent-Length: {}\r\n\
             Expect: 100-continue\r\n\r\n",
            body.len()
        );
        let mut stream = TcpStream::connect(&address).await.expect("scimd accepts");
        stream.write_all(head.as_bytes()).await.expect("head sent");
        let interim = tokio::time::timeout(CAP, read_head(&mut stream))
            .await
            .unwrap_or_else(|_| panic!("no 100 Continue within {CAP:?}"));
        assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");
        let (first, rest) = body.split_at(body.len() / 2);
        stream.write_all(first).await.expect("half the body sent");
        Self {
            stream,
            rest: rest.to_vec(),
        }
    }

    /// Sends the rest and reads the whole answer: its status line and body.
    async fn finish(mut self) -> (String, Value) {
        self.stream
            .write_all(&self.rest)
            .await
            .expect("the rest is sent");
        let mut answer = Vec::new();
        tokio::time::timeout(CAP, self.stream.read_to_end(&mut answer))
            .await
            .unwrap_or_else(|_| panic!("not answered and closed within {CAP:?}"))
            .expect("the answer is readable");
        let answer = String::from_utf8_lossy(&answer).to_string();
        let status_line = answer.lines().next().unwrap_or_default().to_string();
        let body = answer
            .split_once("\r\n\r\n")
            .and_then(|(_, body)| serde_json::from_str(body).ok())
            .unwrap_or_default();
        (status_line, body)
    }
}

/// Reads one response head (an interim `100 Continue`), byte by byte so as not to read past it.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0];
        match stream.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Waits until a new connection is refused, and fails after `CAP`: scimd may serve new
/// requests until it notices the signal, but not once it is draining.
async fn until_new_connections_are_refused(base: &str, token: &str) {
    let refused = async {
        loop {
            let answer = reqwest::Client::new()
                .get(format!("{base}/Users"))
                .bearer_auth(token)
                .send()
                .await;
            if answer.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let drained = tokio::time::timeout(CAP, refused).await;
    assert!(
        drained.is_ok(),
        "new connections are still taken on {CAP:?} after the signal"
    );
}

async fn sigterm_under_load_finishes_requests_in_flight(kind: StoreKind) {
    let (url, _dir) = database_with_instance(kind, "acme").await;
    let token = new_key(&url, "acme", "okta").await;
    let mut server = Server::start(&url).await;
    let load = write_load::start(&server.base, &token);
    write_load::under_way(&load).await;
    let in_flight = HalfSentCreate::start(&server.base, &token, "in-flight@load.example").await;
    server.send_signal("TERM").await;
    until_new_connections_are_refused(&server.base, &token).await;
    let (status_line, created) = in_flight.finish().await;
    assert!(
        status_line.starts_with("HTTP/1.1 201"),
        "{status_line}: {created}"
    );
    let exit = server.exit_within(CAP).await;
    assert!(exit.success(), "SIGTERM ends scimd cleanly: {exit:?}");
    let outcomes = write_load::finish(load).await;

    let mut server = Server::start(&url).await;
    write_load::assert_survived(&outcomes, &server.base, &token).await;
    let filter = encode("userName eq \"in-flight@load.example\"");
    let found = reqwest::Client::new()
        .get(format!("{}/Users?filter={filter}", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("the restarted scimd answers")
        .json::<Value>()
        .await
        .unwrap_or_default();
    assert_eq!(found["Resources"][0]["id"], created["id"], "{found}");
    assert!(server.signal("TERM").await.success());
    assert_audit_trail_is_complete_and_ordered(&url).await;
}

/// A client that never sends the rest of its body would hold a draining server until the body
/// read timeout (30 s); the grace bounds the wait. Timed from below only: scimd waits the
/// grace for the request it is in the middle of, and exits well before that timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_within_the_grace_when_a_request_never_finishes() {
    const GRACE: Duration = Duration::from_secs(2);
    let (url, _dir) = database_with_instance(StoreKind::Sqlite, "acme").await;
    let token = new_key(&url, "acme", "okta").await;
    let grace = GRACE.as_secs().to_string();
    let mut server = Server::start_with(&url, &["--shutdown-grace-secs", &grace]).await;
    let _stalled = HalfSentCreate::start(&server.base, &token, "stalled@load.example").await;
    let signalled = Instant::now();
    server.send_signal("TERM").await;
    let exit = server.exit_within(Duration::from_secs(20)).await;
    assert!(exit.success(), "{exit:?}");
    assert!(
        signalled.elapsed() >= GRACE,
        "exited after {:?}, without waiting for the request in flight",
        signalled.elapsed()
    );
}
