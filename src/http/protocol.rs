//! Which HTTP a connection speaks, and the bounds each one is served with: HTTP/1.1 (on plain
//! connections, and over TLS unless the client chose otherwise) and HTTP/2 (over TLS, when the
//! client chose `h2` by ALPN). Every connection is closed gracefully at shutdown.

use super::activity::Activity;
use super::connections::{Peer, MAX_HEAD_BYTES};
use axum::middleware::AddExtension;
use axum::Router;
use hyper::server::conn::{http1, http2};
use hyper::service::Service as _;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::Watcher;
use hyper_util::service::TowerToHyperService;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

/// Streams one HTTP/2 connection may have open at once: RFC 9113 §6.5.2 advises at least 100,
/// far more than an IdP uses; each stream is a request the cap on connections does not bound.
const MAX_CONCURRENT_STREAMS: u32 = 100;

pub type Service = TowerToHyperService<AddExtension<Router, Peer>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http1,
    Http2,
}

impl Protocol {
    /// The protocol the TLS handshake agreed by ALPN; HTTP/1.1 when none was.
    pub fn negotiated(alpn: Option<&[u8]>) -> Self {
        if alpn == Some(crate::tls::ALPN_H2) {
            Self::Http2
        } else {
            Self::Http1
        }
    }
}

/// Both protocols, configured once for every connection.
pub struct Protocols {
    http1: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
    /// How long an HTTP/2 connection may go without a request in flight.
    idle_timeout: Duration,
}

impl Protocols {
    /// `header_read_timeout` bounds an HTTP/1.1 request's headers and its idle wait between
    /// requests; over HTTP/2, which hyper cannot time so, the time a connection may go without
    /// a request in flight (`activity`), and the wait for the answer to a ping sent after that
    /// long without a frame, so that a peer gone silent is dropped even mid-request.
    pub fn new(header_read_timeout: Duration) -> Self {
        let mut http1 = http1::Builder::new();
        http1
            .timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout)
            .max_buf_size(MAX_HEAD_BYTES);
        let mut http2 = http2::Builder::new(TokioExecutor::new());
        http2
            .timer(TokioTimer::new())
            .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
            .max_header_list_size(u32::try_from(MAX_HEAD_BYTES).unwrap_or(u32::MAX))
            .keep_alive_interval(header_read_timeout)
            .keep_alive_timeout(header_read_timeout);
        Self {
            http1,
            http2,
            idle_timeout: header_read_timeout,
        }
    }

    /// Serves `io` in `protocol` until the client closes it, or it is shut down with the rest:
    /// `watcher` holds the shutdown back until it has ended, `stopping` says it has begun.
    pub async fn serve<I>(
        &self,
        protocol: Protocol,
        io: I,
        service: Service,
        watcher: Watcher,
        stopping: watch::Receiver<bool>,
    ) -> Result<(), hyper::Error>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let io = TokioIo::new(io);
        match protocol {
            Protocol::Http1 => {
                watcher
                    .watch(self.http1.serve_connection(io, service))
                    .await
            }
            Protocol::Http2 => self.serve_http2(io, service, watcher, stopping).await,
        }
    }

    /// As hyper-util's `Watcher` does, and closes the connection too once it has been idle for
    /// `idle_timeout`: closed gracefully (GOAWAY), streams under way finish.
    async fn serve_http2<I>(
        &self,
        io: TokioIo<I>,
        service: Service,
        _watcher: Watcher,
        mut stopping: watch::Receiver<bool>,
    ) -> Result<(), hyper::Error>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let activity = Activity::new();
        let tracked = activity.clone();
        let service = hyper::service::service_fn(move |request| {
            let busy = tracked.busy();
            let answer = service.call(request);
            async move {
                let answer = answer.await;
                drop(busy);
                answer
            }
        });
        let connection = self.http2.serve_connection(io, service);
        let mut connection = std::pin::pin!(connection);
        let mut closing = false;
        loop {
            tokio::select! {
                served = connection.as_mut() => return served,
                _ = stopping.wait_for(|stopping| *stopping), if !closing => {}
                () = activity.idle_for(self.idle_timeout), if !closing => {}
            }
            connection.as_mut().graceful_shutdown();
            closing = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_h2_chosen_by_alpn_is_http2() {
        assert_eq!(Protocol::negotiated(Some(b"h2")), Protocol::Http2);
        assert_eq!(Protocol::negotiated(Some(b"http/1.1")), Protocol::Http1);
        assert_eq!(Protocol::negotiated(None), Protocol::Http1);
    }
}
