//! A proxy between scimd and the test PostgreSQL server that counts round trips: it passes
//! every byte on unchanged, and reads the client's side of the protocol to note each
//! exchange the client waits for (a `Sync` of the extended protocol, or a simple `Query`),
//! with the statements in it and whether one of them was parsed (prepared) then. A `Sync`
//! with nothing before it is a ping (a connection checked before use).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One exchange the client waited for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundTrip {
    /// The text of each statement parsed or bound in it (a simple query's text).
    pub statements: Vec<String>,
    /// Whether a statement was parsed: prepared, so planned afresh.
    pub parsed: bool,
    /// Whether anything at all was sent before the `Sync`.
    pub empty: bool,
}

impl RoundTrip {
    pub fn is_ping(&self) -> bool {
        self.empty
    }

    /// Whether a statement of the exchange contains `text`.
    pub fn mentions(&self, text: &str) -> bool {
        self.statements
            .iter()
            .any(|statement| statement.contains(text))
    }
}

/// A running proxy; `url` reaches the database through it.
pub struct CountingProxy {
    pub url: String,
    seen: Arc<Mutex<Vec<RoundTrip>>>,
}

impl CountingProxy {
    /// A proxy in front of the server and database of `database_url` (postgres://…@host:port/db).
    pub async fn start(database_url: &str) -> Self {
        let (head, rest) = database_url
            .rsplit_once('@')
            .expect("a URL with a user and a host");
        let (address, database) = rest.split_once('/').expect("a URL with a database");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the proxy");
        let port = listener.local_addr().expect("the proxy's address").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let upstream = address.to_string();
        let recorded = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let recorded = Arc::clone(&recorded);
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&upstream).await {
                        relay(client, server, recorded).await;
                    }
                });
            }
        });
        Self {
            url: format!("{head}@127.0.0.1:{port}/{database}"),
            seen,
        }
    }

    /// Every round trip so far, in the order they ended.
    pub fn round_trips(&self) -> Vec<RoundTrip> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The round trips made since the first `from` of `round_trips()`.
    pub fn since(&self, from: usize) -> Vec<RoundTrip> {
        self.round_trips().split_off(from)
    }
}

async fn relay(client: TcpStream, server: TcpStream, recorded: Arc<Mutex<Vec<RoundTrip>>>) {
    let (mut client_reads, mut client_writes) = client.into_split();
    let (mut server_reads, mut server_writes) = server.into_split();
    let answers = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut server_reads, &mut client_writes).await;
    });
    let mut reader = Frontend::default();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = match client_reads.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        // Noted before forwarding, so that a round trip is counted before its answer arrives.
        for round_trip in reader.feed(&buffer[..read]) {
            recorded
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(round_trip);
        }
        if server_writes.write_all(&buffer[..read]).await.is_err() {
            break;
        }
    }
    answers.abort();
}

/// The client's side of the protocol, read message by message.
#[derive(Default)]
struct Frontend {
    pending: Vec<u8>,
    started: bool,
    /// Prepared statements by name, this connection's.
    statements: HashMap<String, String>,
    current: RoundTrip,
    anything: bool,
}

const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;

impl Frontend {
    fn feed(&mut self, bytes: &[u8]) -> Vec<RoundTrip> {
        self.pending.extend_from_slice(bytes);
        let mut ended = Vec::new();
        loop {
            if !self.started {
                // Untyped: a length, then a code (SSL or GSS request, or the startup message).
                let Some(length) = be_u32(&self.pending, 0) else {
                    break;
                };
                let length = length as usize;
                if self.pending.len() < length {
                    break;
                }
                let code = be_u32(&self.pending, 4).unwrap_or_default();
                self.started = code != SSL_REQUEST && code != GSSENC_REQUEST;
                self.pending.drain(..length);
                continue;
            }
            let Some(length) = be_u32(&self.pending, 1) else {
                break;
            };
            let whole = 1 + length as usize;
            if self.pending.len() < whole {
                break;
            }
            let message: Vec<u8> = self.pending.drain(..whole).collect();
            if let Some(round_trip) = self.message(message[0], &message[5..]) {
                ended.push(round_trip);
            }
        }
        ended
    }

    fn message(&mut self, kind: u8, body: &[u8]) -> Option<RoundTrip> {
        match kind {
            b'P' => {
                let mut fields = body.split(|byte| *byte == 0);
                let name = text(fields.next());
                let query = text(fields.next());
                self.statements.insert(name, query.clone());
                self.current.statements.push(query);
                self.current.parsed = true;
                self.anything = true;
            }
            b'B' => {
                let mut fields = body.split(|byte| *byte == 0);
                let _portal = fields.next();
                let name = text(fields.next());
                let query = self.statements.get(&name).cloned().unwrap_or_default();
                if !self.current.statements.contains(&query) {
                    self.current.statements.push(query);
                }
                self.anything = true;
            }
            b'S' => {
                let mut round_trip = std::mem::take(&mut self.current);
                round_trip.empty = !self.anything;
                self.anything = false;
                return Some(round_trip);
            }
            b'Q' => {
                let query = text(body.split(|byte| *byte == 0).next());
                return Some(RoundTrip {
                    statements: vec![query],
                    parsed: true,
                    empty: false,
                });
            }
            _ => self.anything = true,
        }
        None
    }
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let word: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_be_bytes(word))
}

fn text(field: Option<&[u8]>) -> String {
    String::from_utf8_lossy(field.unwrap_or_default()).into_owned()
}
