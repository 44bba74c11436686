//! HTTPS without a proxy: the certificate and key scimd serves with, read from PEM files,
//! checked at start-up (a bad pair stops scimd with the file and the cause), and replaced
//! while scimd runs when the files change or on SIGHUP (`reload`). The handshake itself, and
//! which HTTP version a connection then speaks, belong to `http::connections`.
//!
//! rustls with the `ring` provider: aws-lc-rs, rustls' default, needs cmake and a long C build.

mod certificate;
mod error;
mod identity;
mod reload;

pub use certificate::{CertificateFacts, Expiry};
pub use error::TlsError;
pub use identity::Identity;
pub use reload::{Certificates, RELOAD_POLL_SECS};

use rustls::server::ResolvesServerCert;
use rustls::ServerConfig;
use std::path::PathBuf;
use std::sync::Arc;

/// ALPN protocols offered, preferred first (RFC 7301): HTTP/2 to clients that speak it.
pub const ALPN_H2: &[u8] = b"h2";
const ALPN_HTTP1: &[u8] = b"http/1.1";

/// Where the certificate chain and its private key are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM: the server's certificate first, then the intermediates.
    pub certificate: PathBuf,
    /// PEM: a PKCS#8, PKCS#1 (RSA) or SEC1 (EC) private key.
    pub key: PathBuf,
}

/// The crypto scimd's TLS uses, for the server and for checking a key against its certificate.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server configuration that asks `certificates` for the certificate of each new handshake,
/// so that a reload reaches new connections while open ones keep theirs.
pub fn server_config(
    certificates: Arc<dyn ResolvesServerCert>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?
        .with_no_client_auth()
        .with_cert_resolver(certificates);
    config.alpn_protocols = vec![ALPN_H2.to_vec(), ALPN_HTTP1.to_vec()];
    Ok(Arc::new(config))
}
