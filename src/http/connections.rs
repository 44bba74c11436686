//! Accepting connections and serving HTTP/1.1 on each, so that a slow client cannot hold one
//! forever: a client that does not finish a request's headers within the header read timeout
//! is disconnected, and so is a connection left idle that long between requests. (The body
//! and the handler have bounds of their own, in `bounds`.)
//!
//! `axum::serve` does the same without a timer, so hyper cannot time headers out; this is it
//! with one. Like it, a shutdown stops accepting, lets requests in flight finish, and closes
//! idle connections; unlike it, it waits for those requests at most the shutdown grace.

use axum::serve::Listener;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;

/// Serves `app` on `listener` until `shutdown` resolves and every connection has finished, or
/// `grace` has passed since.
pub async fn serve(
    mut listener: TcpListener,
    app: Router,
    header_read_timeout: Duration,
    grace: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let connections = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // axum's accept retries what fails (e.g. too many open files) instead of failing.
        let (stream, _peer) = tokio::select! {
            accepted = Listener::accept(&mut listener) => accepted,
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
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
