//! Accepting connections and serving HTTP on each, so that clients cannot hold more than
//! their share: at most `max_connections` are served at once (one more is closed unread and
//! counted), a request's head may take `MAX_HEAD_BYTES`, and a client that does not finish a
//! request's headers within the header read timeout is disconnected, as is a connection left
//! idle that long between requests. (The body and the handler have bounds of their own, in
//! `bounds`.) Each request learns the addresses of its connection (`Peer`).
//!
//! Plain connections speak HTTP/1.1. With TLS, the handshake must finish within the header
//! read timeout too, and the connection speaks HTTP/2 when the client chose it by ALPN,
//! HTTP/1.1 otherwise (`protocol`).
//!
//! `axum::serve` does the same without a timer or a cap, so hyper cannot time headers out; this
//! is it with both. Like it, a shutdown stops accepting, lets requests in flight finish, and
//! closes idle connections; unlike it, it waits for those requests at most the shutdown grace.

use super::protocol::{Protocol, Protocols};
use crate::metrics::ConnectionMetrics;
use axum::serve::Listener;
use axum::{Extension, Router};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tower::Layer as _;

/// Connections served at once unless told otherwise: far more than IdPs open (they send one
/// request at a time, or a handful), far fewer than the 1,024 descriptors a process gets by
/// default.
pub const MAX_CONNECTIONS: usize = 512;

/// Bytes of a request line and headers buffered, at most (hyper's own default is ~400 KiB): room
/// for a longest filter percent-encoded three times over, and headers. Over HTTP/2, the largest
/// header list.
pub(super) const MAX_HEAD_BYTES: usize = 128 * 1024;

/// The two ends of the connection a request came on.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    /// The client's address (a proxy's, behind one).
    pub client: SocketAddr,
    /// The address scimd accepted the connection on.
    pub local: SocketAddr,
    /// Whether the connection is TLS that scimd terminated itself (HTTPS without a proxy).
    pub tls: bool,
}

/// How connections are served.
#[derive(Clone)]
pub struct ConnectionSettings {
    pub header_read_timeout: Duration,
    /// Connections served at once; another is closed as soon as it is accepted.
    pub max_connections: usize,
    pub metrics: ConnectionMetrics,
    /// Serves HTTPS (HTTP/2 or HTTP/1.1 by ALPN) with this configuration; plain HTTP/1.1 without.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// Serves `app` on `listener` until `shutdown` resolves and every connection has finished, or
/// `grace` has passed since.
pub async fn serve(
    mut listener: TcpListener,
    app: Router,
    settings: ConnectionSettings,
    grace: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let protocols = Arc::new(Protocols::new(settings.header_read_timeout));
    let handshake_timeout = settings.header_read_timeout;
    let acceptor = settings.tls.map(TlsAcceptor::from);
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    let metrics = settings.metrics;
    let connections = GracefulShutdown::new();
    // Says a shutdown has begun to what hyper-util's watcher does not watch: handshakes under
    // way, and HTTP/2 connections (which close when idle too).
    let (stopping, _) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // axum's accept retries what fails (e.g. too many open files) instead of failing.
        let (stream, client) = tokio::select! {
            accepted = Listener::accept(&mut listener) => accepted,
            () = &mut shutdown => break,
        };
        // Closed rather than left waiting in the backlog: a client that cannot be served now
        // learns it at once, and holding it would hold its descriptor too.
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            drop(stream);
            metrics.refused.inc();
            let refused = metrics.refused.get();
            // One warning per power of two keeps a flood from flooding the log.
            if refused.is_power_of_two() {
                tracing::warn!(
                    refused,
                    max = settings.max_connections,
                    "connection cap reached: connections closed unread"
                );
            }
            continue;
        };
        let local = stream.local_addr().unwrap_or(client);
        let peer = Peer {
            client,
            local,
            tls: acceptor.is_some(),
        };
        let service = TowerToHyperService::new(Extension(peer).layer(app.clone()));
        let open = Open {
            gauge: metrics.open.clone(),
            _slot: slot,
        };
        open.gauge.inc();
        let watcher = connections.watcher();
        let protocols = Arc::clone(&protocols);
        let stopping = stopping.subscribe();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let served = match acceptor {
                None => {
                    let protocol = Protocol::Http1;
                    protocols
                        .serve(protocol, stream, service, watcher, stopping)
                        .await
                }
                Some(acceptor) => {
                    let handshake = handshake(
                        &acceptor,
                        stream,
                        client,
                        handshake_timeout,
                        stopping.clone(),
                    );
                    let Some(stream) = handshake.await else {
                        return;
                    };
                    let protocol = Protocol::negotiated(stream.get_ref().1.alpn_protocol());
                    protocols
                        .serve(protocol, stream, service, watcher, stopping)
                        .await
                }
            };
            if let Err(error) = served {
                tracing::debug!(%error, "connection ended with an error");
            }
            drop(open);
        });
    }
    stopping.send_replace(true);
    drop(listener);
    if tokio::time::timeout(grace, connections.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_ms = grace.as_millis(),
            "requests still in flight after the shutdown grace; stopping without them"
        );
    }
    Ok(())
}

/// `stream` once its TLS handshake is done; `None` when it failed, did not finish within
/// `timeout`, or a shutdown began first.
async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    client: SocketAddr,
    timeout: Duration,
    mut stopping: watch::Receiver<bool>,
) -> Option<TlsStream<TcpStream>> {
    let handshake = tokio::select! {
        handshake = tokio::time::timeout(timeout, acceptor.accept(stream)) => handshake,
        _ = stopping.wait_for(|stopping| *stopping) => return None,
    };
    match handshake {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(error)) => {
            tracing::debug!(%error, %client, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(%client, "TLS handshake not finished within the header read timeout");
            None
        }
    }
}

/// A connection being served: counted open, and holding its place under the cap.
struct Open {
    gauge: prometheus_client::metrics::gauge::Gauge,
    _slot: OwnedSemaphorePermit,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}
