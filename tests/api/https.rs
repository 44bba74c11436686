//! HTTPS without a proxy: `scimd serve --tls-cert --tls-key` with a certificate the test's own
//! CA issues. SCIM over HTTP/2 and HTTP/1.1 with `https` locations, the certificate replaced
//! without a restart (files changed, SIGHUP) and kept when its replacement is bad, start-up
//! refused with the file and the cause, and clients that never finish a handshake dropped.
//! None of this touches the store, so these run on SQLite only.

use crate::common::cli::SCIMD;
use crate::common::server::Server;
use crate::common::tls::{address_of, TestCa, TlsFiles};
use crate::common::{fresh_database, Reply, StoreKind};
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use reqwest::Version;
use serde_json::json;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::process::Command;

/// Bound on every wait below: far longer than anything takes on a loaded machine, shorter than
/// the 30 s default header read timeout, so a handshake timeout scimd ignored would fail.
const CAP: Duration = Duration::from_secs(20);

const ADMIN_TOKEN: &str = "admin-token-for-tests-0123456789abcdef";

/// A server on a fresh SQLite store serving `files`, with `extra` arguments; its log is kept.
async fn serve_https(files: &TlsFiles, extra: &[&str]) -> (Server, Option<tempfile::TempDir>) {
    let (database_url, dir) = fresh_database(StoreKind::Sqlite).await;
    let mut args: Vec<String> = files.args();
    args.extend(extra.iter().map(|arg| (*arg).to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let env = [("RUST_LOG", "info"), ("SCIMD_ADMIN_TOKEN", ADMIN_TOKEN)];
    let server = Server::start_logging(&database_url, &args, &env).await;
    (server, dir)
}

/// Waits until a new connection to `address` is served the certificate named `name`.
async fn wait_for_certificate(ca: &TestCa, address: &str, name: &str) {
    let started = Instant::now();
    loop {
        let served = ca.served_certificate(address).await;
        if served.subject == format!("CN={name}") {
            return;
        }
        assert!(
            started.elapsed() < CAP,
            "still serving {} after {CAP:?}",
            served.subject
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_is_served_over_http2_and_http1_with_https_locations() {
    let ca = TestCa::new();
    let files = TlsFiles::new(&ca.issue("first"));
    let (server, _dir) = serve_https(&files, &[]).await;
    let base = server.base.clone();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let token = server
        .printed_key
        .clone()
        .expect("a first start prints a key");

    let http1 = ca.client(true);
    let created = http1
        .post(format!("{base}/Users"))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(json!({"userName": "alice@example.com"}).to_string())
        .send()
        .await
        .expect("scimd answers over HTTP/1.1");
    assert_eq!(created.version(), Version::HTTP_11);
    let created = Reply::read(created).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let location = format!("{base}/Users/{}", created.id());
    assert_eq!(created.header("location"), Some(location.as_str()));
    assert_eq!(created.body["meta"]["location"], location.as_str());

    let http2 = ca.client(false);
    // A proxy's header cannot make scimd's own TLS plain.
    let fetched = http2
        .get(&location)
        .bearer_auth(&token)
        .header("x-forwarded-proto", "http")
        .send()
        .await
        .expect("scimd answers over HTTP/2");
    assert_eq!(fetched.version(), Version::HTTP_2);
    let fetched = Reply::read(fetched).await;
    assert_eq!(fetched.status, 200, "{:?}", fetched.body);
    assert_eq!(fetched.body["meta"]["location"], location.as_str());
    let listed = http2
        .get(format!("{base}/Users"))
        .bearer_auth(&token)
        .query(&[("filter", "userName eq \"alice@example.com\"")])
        .send()
        .await
        .expect("scimd answers over HTTP/2");
    let listed = Reply::read(listed).await;
    assert_eq!(listed.resources().len(), 1, "{:?}", listed.body);
    assert_eq!(listed.resources()[0]["meta"]["location"], location.as_str());

    // The console's session cookie is only ever sent back over HTTPS.
    let origin = base.trim_end_matches("/scim/v2");
    let signed_in = http2
        .post(format!("{origin}/admin/v1/session"))
        .header("x-scimd-console", "1")
        .json(&json!({"token": ADMIN_TOKEN}))
        .send()
        .await
        .expect("scimd answers");
    assert_eq!(signed_in.status(), 200);
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap_or_default();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_certificate_is_reloaded_when_its_files_change() {
    let ca = TestCa::new();
    let files = TlsFiles::new(&ca.issue("first"));
    let (server, _dir) = serve_https(&files, &["--tls-reload-secs", "1"]).await;
    let address = address_of(&server.base);
    let first = ca.served_certificate(&address).await;
    assert_eq!(first.subject, "CN=first");
    let client = ca.client(true);
    let healthz = format!("https://{address}/healthz");
    let before = client.get(&healthz).send().await.expect("scimd answers");
    assert_eq!(before.status(), 200);

    let second = ca.issue("second");
    files.write(&second.certificate, &second.key);
    wait_for_certificate(&ca, &address, "second").await;
    let served = ca.served_certificate(&address).await;
    assert_ne!(served.serial, first.serial);
    let after = client
        .get(&healthz)
        .send()
        .await
        .expect("scimd still answers");
    assert_eq!(after.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_certificate_and_a_bad_replacement_keeps_the_old_one() {
    let ca = TestCa::new();
    let files = TlsFiles::new(&ca.issue("first"));
    // No polling: only SIGHUP can reload.
    let (mut server, _dir) = serve_https(&files, &["--tls-reload-secs", "0"]).await;
    let address = address_of(&server.base);

    // A certificate with the key of another one.
    let second = ca.issue("second");
    let stranger = ca.issue("stranger");
    files.write(&second.certificate, &stranger.key);
    server.send_signal("HUP").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(ca.served_certificate(&address).await.subject, "CN=first");
    // Garbage instead of a certificate.
    files.write("garbage", &second.key);
    server.send_signal("HUP").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(ca.served_certificate(&address).await.subject, "CN=first");

    files.write(&second.certificate, &second.key);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        ca.served_certificate(&address).await.subject,
        "CN=first",
        "not polled: the files alone change nothing"
    );
    server.send_signal("HUP").await;
    wait_for_certificate(&ca, &address, "second").await;

    let status = server.signal("TERM").await;
    assert!(status.success(), "{status:?}");
    let logs = server.logs.clone().expect("logs are kept");
    let logs = logs.after_exit().await.join("\n");
    let key = files.key.display().to_string();
    let certificate = files.certificate.display().to_string();
    let mismatch =
        format!("the private key in {key} does not belong to the certificate in {certificate}");
    assert!(logs.contains(&mismatch), "{logs}");
    assert!(
        logs.contains(&format!("{certificate} holds no PEM certificate")),
        "{logs}"
    );
    assert!(logs.contains("still serving the previous one"), "{logs}");
    assert!(logs.contains("subject=CN=second"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_without_a_certificate_keeps_scimd_serving() {
    // A unit file's ExecReload sends SIGHUP whether or not a certificate is configured.
    let (database_url, _dir) = fresh_database(StoreKind::Sqlite).await;
    let mut server = Server::start_logging(&database_url, &[], &[("RUST_LOG", "info")]).await;
    server.send_signal("HUP").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let root = server.base.trim_end_matches("/scim/v2");
    let health = reqwest::get(format!("{root}/healthz"))
        .await
        .expect("scimd still answers after SIGHUP");
    assert_eq!(health.status(), 200);

    let status = server.signal("TERM").await;
    assert!(status.success(), "{status:?}");
    let logs = server.logs.clone().expect("logs are kept");
    let logs = logs.after_exit().await.join("\n");
    assert!(logs.contains("SIGHUP: nothing to reload"), "{logs}");
}

/// `scimd serve` with these TLS arguments on a fresh store: whether it succeeded, its stderr,
/// and whether it created the store.
async fn start_up(tls_args: &[String]) -> (bool, String, bool) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let database = dir.path().join("scimd.db");
    let child = Command::new(SCIMD)
        .args(["serve", "--listen", "127.0.0.1:0", "--database"])
        .arg(format!("sqlite://{}", database.display()))
        .args(tls_args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("scimd starts");
    let output = tokio::time::timeout(CAP, child.wait_with_output())
        .await
        .expect("scimd exits at once")
        .expect("its output is readable");
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    (output.status.success(), stderr, database.exists())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_refuses_a_pair_it_cannot_serve_naming_the_file_and_the_cause() {
    let ca = TestCa::new();
    let issued = ca.issue("first");
    let files = TlsFiles::new(&issued);
    let certificate = files.certificate.display().to_string();
    let key = files.key.display().to_string();

    files.write(&issued.certificate, &ca.issue("stranger").key);
    let (ok, stderr, created) = start_up(&files.args()).await;
    assert!(!ok && !created, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the private key in {key} does not belong to the certificate in {certificate}"
        )),
        "{stderr}"
    );

    files.write(
        "-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----\n",
        &issued.key,
    );
    let (ok, stderr, created) = start_up(&files.args()).await;
    assert!(!ok && !created, "{stderr}");
    assert!(
        stderr.contains(&format!("{certificate} is not valid PEM")),
        "{stderr}"
    );

    files.write("no PEM here", &issued.key);
    let (ok, stderr, _) = start_up(&files.args()).await;
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains(&format!("{certificate} holds no PEM certificate")),
        "{stderr}"
    );

    files.write(&issued.certificate, "no PEM here");
    let (ok, stderr, _) = start_up(&files.args()).await;
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains(&format!("{key} holds no PEM private key")),
        "{stderr}"
    );

    let missing = files.key.with_file_name("missing.pem");
    let mut args = files.args();
    args[3] = missing.display().to_string();
    let (ok, stderr, _) = start_up(&args).await;
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot read {}: No such file", missing.display())),
        "{stderr}"
    );

    let (ok, stderr, _) = start_up(&args[..2]).await;
    assert!(!ok && stderr.contains("--tls-key"), "{stderr}");
}

/// Reads until the server closes the connection: how long that took, and what was read.
async fn until_closed(stream: &mut TcpStream) -> (Duration, Vec<u8>) {
    let started = Instant::now();
    let mut read = Vec::new();
    tokio::time::timeout(CAP, stream.read_to_end(&mut read))
        .await
        .unwrap_or_else(|_| panic!("scimd keeps the connection open past {CAP:?}"))
        .ok();
    (started.elapsed(), read)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_on_the_https_port_is_refused_and_does_not_hang_the_server() {
    let ca = TestCa::new();
    let files = TlsFiles::new(&ca.issue("first"));
    let (server, _dir) = serve_https(&files, &[]).await;
    let address = address_of(&server.base);
    let mut plain = TcpStream::connect(&address).await.expect("scimd accepts");
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\n\r\n");
    plain
        .write_all(request.as_bytes())
        .await
        .expect("the request is sent");
    let (_, answer) = until_closed(&mut plain).await;
    assert!(!answer.starts_with(b"HTTP/"), "no plain HTTP answer");
    let healthz = ca.client(false).get(format!("https://{address}/healthz"));
    let answer = healthz.send().await.expect("scimd answers over HTTPS");
    assert_eq!(answer.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_socket_is_dropped_after_the_handshake_timeout_and_counts_under_the_cap() {
    let ca = TestCa::new();
    let files = TlsFiles::new(&ca.issue("first"));
    let bound = Duration::from_secs(2);
    let extra = ["--header-read-timeout-secs", "2", "--max-connections", "1"];
    let (server, _dir) = serve_https(&files, &extra).await;
    let address = address_of(&server.base);
    let connected = Instant::now();
    let mut silent = TcpStream::connect(&address).await.expect("scimd accepts");
    // The silent socket holds the only place: the next connection is closed unread, before any
    // handshake.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut over_cap = TcpStream::connect(&address).await.expect("scimd accepts");
    let (waited, answer) = until_closed(&mut over_cap).await;
    assert!(answer.is_empty() && waited < bound, "{waited:?}");

    let (_, answer) = until_closed(&mut silent).await;
    assert!(
        answer.is_empty(),
        "nothing is sent to a client that said nothing"
    );
    let waited = connected.elapsed();
    assert!(
        waited >= bound,
        "closed after {waited:?}, before the timeout"
    );
    // Its place is free again.
    let healthz = ca.client(false).get(format!("https://{address}/healthz"));
    let answer = healthz.send().await.expect("scimd answers over HTTPS");
    assert_eq!(answer.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_http2_connection_is_closed_after_the_header_read_timeout() {
    let ca = TestCa::new();
    let files = TlsFiles::new(&ca.issue("first"));
    let bound = Duration::from_secs(2);
    let (server, _dir) = serve_https(&files, &["--header-read-timeout-secs", "2"]).await;
    let address = address_of(&server.base);
    let stream = ca.connect(&address, &[b"h2"]).await;
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("an HTTP/2 connection");
    let connection = tokio::spawn(connection);
    let request = hyper::Request::get(format!("https://{address}/healthz"))
        .body(Empty::<Bytes>::new())
        .expect("a request");
    let answer = sender.send_request(request).await.expect("scimd answers");
    assert_eq!(answer.status(), 200);
    let answered = Instant::now();
    // Pings keep a connection alive; only the idle timeout ends it.
    tokio::time::timeout(CAP, connection)
        .await
        .unwrap_or_else(|_| panic!("an idle HTTP/2 connection is kept open past {CAP:?}"))
        .expect("the connection task ends")
        .expect("the connection ends cleanly (GOAWAY)");
    let waited = answered.elapsed();
    assert!(
        waited >= bound - Duration::from_millis(100),
        "closed after {waited:?}"
    );
}
