//! Real webhook receivers for the delivery tests: tests/receivers/receiver.mjs, a Node.js process
//! that verifies every delivery with the reference `standardwebhooks` library, started on a port
//! of its own and read back through the file it appends each delivery to.
//!
//! A receiver's port is reserved when it is made, outside the range the kernel hands out to
//! outgoing connections and `bind(0)`, so that a receiver can be down for a while (stopped, or
//! not started yet: connections refused) and come back on the same URL, and its log outlives
//! each process. The process is killed when the `Receiver` is dropped.

use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long `wait_for` waits for deliveries before it fails the test: a bound on a hang, not a
/// speed requirement (retries after failures wait out backoff and timeouts).
const PATIENCE: Duration = Duration::from_secs(120);

/// How a receiver answers a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// 200 when one of its secrets verifies the delivery, 401 when none does.
    Accept,
    /// Answers this status.
    Fail(u16),
    /// Answers 200 after this long.
    Slow(Duration),
    /// Reads the request and never answers: the sender's timeout ends the attempt.
    Silent,
    /// Reads the request and closes the connection with no answer.
    Hangup,
}

/// One request the receiver got, as tests/receivers/receiver.mjs records it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub webhook_id: Option<String>,
    /// The body's `type`, `cursor` and `id`.
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    pub cursor: Option<String>,
    pub event_id: Option<String>,
    /// Whether one of the receiver's secrets verified it with the reference library.
    pub verified: bool,
    /// Which of the receiver's secrets (by position) verified it.
    pub verified_by: Vec<usize>,
    /// Why the reference library refused it, when no secret verified it.
    pub error: Option<String>,
    /// How many signatures `webhook-signature` carried.
    pub signatures: usize,
    /// The how-manieth request with this webhook-id this receiver process saw.
    pub attempt: u32,
    /// "200", "401", the failing status, "slow", "silent" or "hangup".
    pub answer: String,
    /// When it arrived, in milliseconds since the epoch (the receiver's clock, the machine's).
    pub received_at_ms: i64,
    pub content_type: Option<String>,
    pub body: String,
}

impl Delivery {
    /// Whether the receiver answered it with success, so that the sender counts it delivered.
    pub fn accepted(&self) -> bool {
        self.answer == "200" || self.answer == "slow"
    }

    /// The cursor as a number, for order checks.
    pub fn seq(&self) -> u64 {
        self.cursor
            .as_deref()
            .and_then(|cursor| cursor.parse().ok())
            .unwrap_or_else(|| panic!("a delivery with a numeric cursor: {self:?}"))
    }
}

/// What a receiver is started with, and changed to while it runs.
#[derive(Debug, Clone)]
struct Settings {
    secrets: Vec<String>,
    mode: Mode,
    fail_first: Option<u32>,
}

impl Settings {
    /// The mode's name, the status `fail` answers with, and the delay `slow` waits.
    fn answer(&self) -> (&'static str, u16, u64) {
        match &self.mode {
            Mode::Accept => ("accept", 500, 0),
            Mode::Fail(status) => ("fail", *status, 0),
            Mode::Slow(delay) => ("slow", 500, delay.as_millis() as u64),
            Mode::Silent => ("silent", 500, 0),
            Mode::Hangup => ("hangup", 500, 0),
        }
    }

    fn control(&self) -> Value {
        let (mode, status, delay_ms) = self.answer();
        json!({
            "secrets": self.secrets,
            "mode": mode,
            "status": status,
            "delayMs": delay_ms,
            "failFirst": self.fail_first,
        })
    }

    /// The same settings as command-line arguments: a receiver coming back up must answer its
    /// first delivery with them, not with defaults until a control request arrives.
    fn args(&self) -> Vec<String> {
        let (mode, status, delay_ms) = self.answer();
        let mut args = Vec::new();
        for secret in &self.secrets {
            args.extend(["--secret".to_string(), secret.clone()]);
        }
        args.extend([
            "--mode".to_string(),
            mode.to_string(),
            "--status".to_string(),
            status.to_string(),
            "--delay-ms".to_string(),
            delay_ms.to_string(),
        ]);
        if let Some(times) = self.fail_first {
            args.extend(["--fail-first".to_string(), times.to_string()]);
        }
        args
    }
}

/// A receiver on a reserved port, up or down.
pub struct Receiver {
    port: u16,
    dir: TempDir,
    settings: Settings,
    child: Option<Child>,
    client: reqwest::Client,
}

impl Receiver {
    /// A receiver up and answering as `mode`, with no secret yet (see `set_secrets`).
    pub async fn start(mode: Mode) -> Self {
        let mut receiver = Self::reserve(mode);
        receiver.up().await;
        receiver
    }

    /// A receiver whose port is reserved but that is not started: connections to its URL are
    /// refused until `up`.
    pub fn reserve(mode: Mode) -> Self {
        Self {
            port: unassigned_port(),
            dir: tempfile::tempdir().expect("a temporary directory"),
            settings: Settings {
                secrets: Vec::new(),
                mode,
                fail_first: None,
            },
            child: None,
            client: reqwest::Client::new(),
        }
    }

    /// Where deliveries go.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/scimd", self.port)
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("received.jsonl")
    }

    /// Starts the receiver process, with the settings it had when it went down.
    pub async fn up(&mut self) {
        assert!(self.child.is_none(), "the receiver is already up");
        let dir = receivers_dir();
        assert!(
            dir.join("node_modules/standardwebhooks").exists(),
            "the webhook receivers need tests/receivers' npm packages: run scripts/test once, \
             which installs them (or `npm ci --prefix tests/receivers`)"
        );
        let mut child = Command::new("node")
            .arg("receiver.mjs")
            .args(["--port", &self.port.to_string()])
            .arg("--log")
            .arg(self.log())
            .args(self.settings.args())
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs (Node.js 20 or later must be on PATH)");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let printed = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the receiver says where it listens within 30 s")
            .expect("its stdout is readable")
            .expect("the receiver prints its port before exiting");
        assert_eq!(printed.trim(), self.port.to_string(), "the receiver's port");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.child = Some(child);
    }

    /// Kills the receiver process: connections are refused until `up`. What it received stays.
    pub async fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("the receiver is killed");
        }
    }

    /// The secrets it verifies with; a delivery is verified when any one of them verifies it.
    pub async fn set_secrets(&mut self, secrets: &[&str]) {
        self.settings.secrets = secrets.iter().map(|secret| secret.to_string()).collect();
        self.send_settings().await;
    }

    /// How it answers from now on.
    pub async fn set_mode(&mut self, mode: Mode) {
        self.settings.mode = mode;
        self.settings.fail_first = None;
        self.send_settings().await;
    }

    /// Answers the first `times` deliveries of each webhook-id as `mode`, then accepts.
    pub async fn fail_first(&mut self, times: u32, mode: Mode) {
        self.settings.mode = mode;
        self.settings.fail_first = Some(times);
        self.send_settings().await;
    }

    async fn send_settings(&self) {
        if self.child.is_none() {
            return;
        }
        let url = format!("http://127.0.0.1:{}/control", self.port);
        let response = self
            .client
            .post(url)
            .json(&self.settings.control())
            .send()
            .await
            .expect("the receiver answers its control route");
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "the receiver refused settings: {body}");
    }

    /// Every request received so far, in arrival order, across all its processes.
    pub fn received(&self) -> Vec<Delivery> {
        let text = match std::fs::read_to_string(self.log()) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(error) => panic!("the receiver's log is readable: {error}"),
        };
        // A line is written whole before its answer; a kill may cut only the last line.
        text.lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// What it received once `done` holds of it; fails the test, showing what arrived, if that
    /// takes longer than a hang would.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&[Delivery]) -> bool) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "the receiver did not get {what} within {PATIENCE:?}; it got {}",
                    summary(&received)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What it received once it has accepted a delivery of each of `event_ids`.
    pub async fn wait_for_accepted(&self, event_ids: &[String]) -> Vec<Delivery> {
        let what = format!("{} accepted deliveries", event_ids.len());
        self.wait_for(&what, |received| {
            event_ids.iter().all(|id| {
                received
                    .iter()
                    .any(|delivery| delivery.accepted() && delivery.webhook_id.as_ref() == Some(id))
            })
        })
        .await
    }
}

/// The deliveries' webhook-ids, attempts and answers, one a line: for failure messages.
pub fn summary(received: &[Delivery]) -> String {
    let lines: Vec<String> = received
        .iter()
        .map(|delivery| {
            format!(
                "{} {} cursor {} attempt {} answered {} verified {}",
                delivery.webhook_id.as_deref().unwrap_or("-"),
                delivery.event_type.as_deref().unwrap_or("-"),
                delivery.cursor.as_deref().unwrap_or("-"),
                delivery.attempt,
                delivery.answer,
                delivery.verified
            )
        })
        .collect();
    format!("{} requests:\n{}", received.len(), lines.join("\n"))
}

fn receivers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/receivers")
}

/// A free port below the kernel's ephemeral range (32768 and up on Linux), which neither
/// `bind(0)` nor an outgoing connection takes, so it stays free while its receiver is down;
/// never one this process handed out before (receivers of tests running at once).
fn unassigned_port() -> u16 {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    for _ in 0..1000 {
        let random = u16::from_le_bytes(
            uuid::Uuid::new_v4().as_bytes()[..2]
                .try_into()
                .expect("two bytes"),
        );
        let port = 20_000 + random % 12_000;
        let mut handed_out = HANDED_OUT
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !handed_out.contains(&port) && TcpListener::bind(("127.0.0.1", port)).is_ok() {
            handed_out.insert(port);
            return port;
        }
    }
    panic!("no free port between 20000 and 32000");
}
