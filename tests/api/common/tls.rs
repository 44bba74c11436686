//! HTTPS for tests: a certificate authority made in the test, server certificates it issues
//! written where `scimd serve --tls-cert/--tls-key` reads them, clients that trust it, and the
//! certificate a server presents to a new connection.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use scimd::tls::CertificateFacts;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// The name every test certificate is for; clients also reach the server by 127.0.0.1.
pub const SERVER_NAME: &str = "localhost";

/// A certificate authority the test's clients trust.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A server certificate and its key, both PEM.
pub struct Issued {
    pub certificate: String,
    pub key: String,
}

impl TestCa {
    pub fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("no names");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "scimd test CA");
        let key = KeyPair::generate().expect("a CA key");
        let issuer = CertifiedIssuer::self_signed(params, key).expect("a CA certificate");
        Self { issuer }
    }

    pub fn certificate_pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate for `localhost` and 127.0.0.1 whose subject is `CN=<name>`.
    pub fn issue(&self, name: &str) -> Issued {
        let mut params =
            CertificateParams::new(vec![SERVER_NAME.to_string(), "127.0.0.1".to_string()])
                .expect("valid names");
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("a server key");
        let certificate = params.signed_by(&key, &self.issuer).expect("signed");
        Issued {
            certificate: certificate.pem(),
            key: key.serialize_pem(),
        }
    }

    /// An HTTPS client that trusts this CA only; HTTP/1.1 only when `http1_only`, else it
    /// offers HTTP/2 too.
    pub fn client(&self, http1_only: bool) -> reqwest::Client {
        let root = reqwest::Certificate::from_pem(self.certificate_pem().as_bytes())
            .expect("the CA certificate");
        let builder = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(root);
        let builder = if http1_only {
            builder.http1_only()
        } else {
            builder
        };
        builder.build().expect("a client")
    }

    /// A TLS connection to `address` that trusts this CA, offering `alpn` protocols.
    pub async fn connect(&self, address: &str, alpn: &[&[u8]]) -> TlsStream<TcpStream> {
        let mut roots = RootCertStore::empty();
        roots
            .add(self.issuer.der().clone())
            .expect("the CA certificate");
        let mut config = ClientConfig::builder_with_provider(scimd::tls::provider())
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
        let connector = TlsConnector::from(Arc::new(config));
        let tcp = TcpStream::connect(address).await.expect("scimd accepts");
        let name = ServerName::try_from(SERVER_NAME).expect("a server name");
        connector
            .connect(name, tcp)
            .await
            .expect("the handshake succeeds")
    }

    /// The certificate `address` presents to a new connection that trusts this CA.
    pub async fn served_certificate(&self, address: &str) -> CertificateFacts {
        let stream = self.connect(address, &[]).await;
        let chain: Vec<CertificateDer<'static>> = stream
            .get_ref()
            .1
            .peer_certificates()
            .map(<[_]>::to_vec)
            .unwrap_or_default();
        let served = chain.first().expect("a certificate is presented");
        CertificateFacts::of(served, Path::new("served")).expect("a readable certificate")
    }
}

/// Where a server's certificate and key are, in a directory of their own.
pub struct TlsFiles {
    pub certificate: PathBuf,
    pub key: PathBuf,
    _dir: TempDir,
}

impl TlsFiles {
    pub fn new(issued: &Issued) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let files = Self {
            certificate: dir.path().join("cert.pem"),
            key: dir.path().join("key.pem"),
            _dir: dir,
        };
        files.write(&issued.certificate, &issued.key);
        files
    }

    /// Overwrites both files in place, the certificate first (as `cp` would).
    pub fn write(&self, certificate: &str, key: &str) {
        std::fs::write(&self.certificate, certificate).expect("the certificate is written");
        std::fs::write(&self.key, key).expect("the key is written");
    }

    /// The `serve` arguments that name them.
    pub fn args(&self) -> Vec<String> {
        vec![
            "--tls-cert".to_string(),
            self.certificate.display().to_string(),
            "--tls-key".to_string(),
            self.key.display().to_string(),
        ]
    }
}

/// `host:port` of a base URL such as `https://127.0.0.1:1234/scim/v2`.
pub fn address_of(base: &str) -> String {
    base.split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
        .to_string()
}
