//! Accepting connections and serving HTTP/1.1 on each, so that clients cannot hold more than
//! their share: at most `max_connections` are served at once (one more is closed unread and
//! counted), a request's head may take `MAX_HEAD_BYTES`, and a client that does not finish a
//! request's headers within the header read timeout is disconnected, as is a connection left
//! idle that long between requests. (The body and the handler have bounds of their own, in
//! `bounds`.) Each request learns the addresses of its connection (`Peer`).
//!
//! `axum::serve` does the same without a timer or a cap, so hyper cannot time headers out; this
//! is it with both. Like it, a shutdown stops accepting, lets requests in flight finish, and
//! closes idle connections; unlike it, it waits for those requests at most the shutdown grace.

use crate::metrics::ConnectionMetrics;
use axum::serve::Listener;
use axum::{Extension, Router};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::Layer as _;

/// Connections served at once unless told otherwise: far more than IdPs open (they send one
/// request at a time, or a handful), far fewer than the 1,024 descriptors a process gets by
/// default.
pub const MAX_CONNECTIONS: usize = 512;

/// Bytes of a request line and headers buffered, at most (hyper's own default is ~400 KiB): room
/// for a longest filter percent-encoded three times over, and headers.
const MAX_HEAD_BYTES: usize = 128 * 1024;

/// The two ends of the connection a request came on.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    /// The client's address (a proxy's, behind one).
    pub client: SocketAddr,
    /// The address scimd accepted the connection on.
    pub local: SocketAddr,
}

/// How connections are served.
#[derive(Clone)]
pub struct ConnectionSettings {
    pub header_read_timeout: Duration,
    /// Connections served at once; another is closed as soon as it is accepted.
    pub max_connections: usize,
    pub metrics: ConnectionMetrics,
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
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    let metrics = settings.metrics;
    let connections = GracefulShutdown::new();
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
        let peer = Peer { client, local };
        let service = TowerToHyperService::new(Extension(peer).layer(app.clone()));
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let connection = connections.watch(connection);
        let open = metrics.open.clone();
        open.inc();
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
            open.dec();
            drop(slot);
        });
    }
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
