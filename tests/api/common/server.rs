//! `scimd serve` as a separate process on a random port, as an operator starts it: for tests of
//! restarts, crashes and several replicas on one database.

use super::cli::{run_cli, SCIMD};
use super::Reply;
use serde_json::Value;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running `scimd serve`.
pub struct Server {
    pub child: Child,
    pub base: String,
    /// The key printed on a first start, if this start printed one.
    pub printed_key: Option<String>,
    /// Its stderr, when started by `start_logging`.
    pub logs: Option<Logs>,
}

/// The lines a server writes on stderr (its log).
#[derive(Clone)]
pub struct Logs {
    lines: Arc<Mutex<Vec<String>>>,
    ended: tokio::sync::watch::Receiver<bool>,
}

impl Logs {
    /// Every line, once the server has exited and closed its stderr.
    pub async fn after_exit(&self) -> Vec<String> {
        let mut ended = self.ended.clone();
        tokio::time::timeout(Duration::from_secs(15), ended.wait_for(|ended| *ended))
            .await
            .expect("stderr closes within 15 s of the exit")
            .expect("the reader reports the end");
        self.lines
            .lock()
            .map(|lines| lines.clone())
            .unwrap_or_default()
    }
}

impl Server {
    pub async fn start(database_url: &str) -> Self {
        Self::start_with(database_url, &[]).await
    }

    /// As `start`, with more `serve` arguments.
    pub async fn start_with(database_url: &str, extra: &[&str]) -> Self {
        Self::launch(database_url, extra, &[("RUST_LOG", "warn")], false).await
    }

    /// As `start_with`, with more environment variables (`RUST_LOG` among them) and the log
    /// collected in `logs` rather than shown with the test's output.
    pub async fn start_logging(database_url: &str, extra: &[&str], env: &[(&str, &str)]) -> Self {
        Self::launch(database_url, extra, env, true).await
    }

    async fn launch(
        database_url: &str,
        extra: &[&str],
        env: &[(&str, &str)],
        capture_stderr: bool,
    ) -> Self {
        let stderr = if capture_stderr {
            Stdio::piped()
        } else {
            Stdio::inherit()
        };
        let mut child = Command::new(SCIMD)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database",
                database_url,
            ])
            .args(extra)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .expect("scimd starts");
        let logs = child.stderr.take().map(|stderr| {
            let collected = Arc::new(Mutex::new(Vec::new()));
            let (end, ended) = tokio::sync::watch::channel(false);
            let mut lines = BufReader::new(stderr).lines();
            let into = Arc::clone(&collected);
            tokio::spawn(async move {
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Ok(mut all) = into.lock() {
                        all.push(line);
                    }
                }
                let _ = end.send(true);
            });
            Logs {
                lines: collected,
                ended,
            }
        });
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let mut printed_key = None;
        let base = loop {
            let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
                .await
                .expect("scimd says where it listens within 30 s")
                .expect("stdout is readable")
                .expect("scimd prints a listening line before exiting");
            if line.starts_with("scimd_") {
                printed_key = Some(line);
            } else if let Some(rest) = line.strip_prefix("scimd listening on ") {
                break rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
            }
        };
        // Keep draining stdout so that the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            child,
            base,
            printed_key,
            logs,
        }
    }

    fn pid(&self) -> String {
        self.child.id().map(|id| id.to_string()).unwrap_or_default()
    }

    /// Sends `signal` and waits for scimd to exit.
    pub async fn signal(&mut self, signal: &str) -> std::process::ExitStatus {
        self.send_signal(signal).await;
        self.exit_within(Duration::from_secs(15)).await
    }

    /// Sends `signal` without waiting for its effect.
    pub async fn send_signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([format!("-{signal}"), self.pid()])
            .status()
            .await
            .expect("kill runs");
        assert!(sent.success(), "kill -{signal} failed");
    }

    pub async fn exit_within(&mut self, bound: Duration) -> std::process::ExitStatus {
        tokio::time::timeout(bound, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("scimd exits within {bound:?}"))
            .expect("the exit status is readable")
    }
}

/// Sends one request to a server and reads the reply whole: its status and JSON body.
pub async fn call(
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let reply = send(method, url, token, body).await;
    (reply.status, reply.body)
}

/// Sends one request to a server and reads the reply whole.
pub async fn send(method: reqwest::Method, url: &str, token: &str, body: Option<Value>) -> Reply {
    let mut request = reqwest::Client::new()
        .request(method, url)
        .bearer_auth(token);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/scim+json")
            .body(body.to_string());
    }
    Reply::read(request.send().await.expect("scimd answers")).await
}

/// A new key of `instance`, made with the CLI: the last line it prints.
pub async fn new_key(database_url: &str, instance: &str, integration_user: &str) -> String {
    let args = [
        "keys",
        "create",
        "--instance",
        instance,
        "--integration-user",
        integration_user,
    ];
    let (ok, out, err) = run_cli(database_url, &args).await;
    assert!(ok, "{err}");
    out.lines().last().unwrap_or_default().to_string()
}
