//! Why a certificate and key cannot be served: each message names the file and the cause, for
//! the operator who reads it at start-up or in the log of a reload.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} holds no PEM certificate (a block starting -----BEGIN CERTIFICATE-----)", path.display())]
    NoCertificate { path: PathBuf },
    #[error("{} is not valid PEM: {cause}", path.display())]
    Pem {
        path: PathBuf,
        cause: rustls::pki_types::pem::Error,
    },
    #[error("{}: the certificate cannot be parsed as X.509: {cause}", path.display())]
    Certificate { path: PathBuf, cause: String },
    #[error(
        "{} holds no PEM private key (PKCS#8 \"PRIVATE KEY\", PKCS#1 \"RSA PRIVATE KEY\" or SEC1 \"EC PRIVATE KEY\")",
        path.display()
    )]
    NoKey { path: PathBuf },
    #[error("{}: the private key cannot be used: {cause}", path.display())]
    Key { path: PathBuf, cause: rustls::Error },
    #[error(
        "the private key in {} does not belong to the certificate in {}",
        key.display(),
        certificate.display()
    )]
    Mismatch { certificate: PathBuf, key: PathBuf },
    #[error("the TLS configuration cannot be built: {0}")]
    Config(rustls::Error),
}
