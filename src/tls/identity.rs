//! A certificate chain and its private key, parsed from PEM and checked to belong together:
//! what one TLS handshake presents.

use super::certificate::CertificateFacts;
use super::error::TlsError;
use super::TlsFiles;
use rustls::pki_types::pem::{self, PemObject as _};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::InconsistentKeys;
use std::sync::Arc;

/// A certificate chain and key that belong together.
#[derive(Debug, Clone)]
pub struct Identity {
    pub key: Arc<CertifiedKey>,
    /// Of the first (the server's own) certificate.
    pub facts: CertificateFacts,
}

/// The files' contents, compared to notice a change.
pub type Contents = (Vec<u8>, Vec<u8>);

impl Identity {
    /// Reads and parses both files.
    pub fn load(files: &TlsFiles) -> Result<(Self, Contents), TlsError> {
        let contents = read(files)?;
        let identity = Self::parse(files, &contents)?;
        Ok((identity, contents))
    }

    /// Parses the files' `contents`: (certificate chain, key), both PEM.
    pub fn parse(files: &TlsFiles, (chain, key): &Contents) -> Result<Self, TlsError> {
        let chain = certificates(files, chain)?;
        let Some(first) = chain.first() else {
            return Err(TlsError::NoCertificate {
                path: files.certificate.clone(),
            });
        };
        let facts = CertificateFacts::of(first, &files.certificate)?;
        let key = private_key(files, key)?;
        let unusable = |cause| TlsError::Key {
            path: files.key.clone(),
            cause,
        };
        let signing_key = super::provider()
            .key_provider
            .load_private_key(key)
            .map_err(unusable)?;
        let key = CertifiedKey::new(chain, signing_key);
        match key.keys_match() {
            // ring's keys all tell their public key; one that cannot is not wrong for it.
            Ok(()) | Err(rustls::Error::InconsistentKeys(InconsistentKeys::Unknown)) => {}
            Err(rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => {
                return Err(TlsError::Mismatch {
                    certificate: files.certificate.clone(),
                    key: files.key.clone(),
                })
            }
            Err(cause) => {
                return Err(TlsError::Certificate {
                    path: files.certificate.clone(),
                    cause: cause.to_string(),
                })
            }
        }
        Ok(Self {
            key: Arc::new(key),
            facts,
        })
    }
}

/// Both files' bytes.
pub fn read(files: &TlsFiles) -> Result<Contents, TlsError> {
    let read = |path: &std::path::PathBuf| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            path: path.clone(),
            source,
        })
    };
    Ok((read(&files.certificate)?, read(&files.key)?))
}

fn certificates(files: &TlsFiles, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|cause| TlsError::Pem {
            path: files.certificate.clone(),
            cause,
        })
}

fn private_key(files: &TlsFiles, pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    let path = files.key.clone();
    PrivateKeyDer::from_pem_slice(pem).map_err(|cause| match cause {
        pem::Error::NoItemsFound => TlsError::NoKey { path },
        cause => TlsError::Pem { path, cause },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn files() -> TlsFiles {
        TlsFiles {
            certificate: PathBuf::from("/tls/cert.pem"),
            key: PathBuf::from("/tls/key.pem"),
        }
    }

    /// A self-signed certificate for `name`, and its key, both PEM.
    fn pair(name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().expect("a key");
        let params = rcgen::CertificateParams::new(vec![name.to_string()]).expect("a name");
        let certificate = params.self_signed(&key).expect("a certificate");
        (certificate.pem(), key.serialize_pem())
    }

    fn parse(certificate: &str, key: &str) -> Result<Identity, TlsError> {
        Identity::parse(&files(), &(certificate.into(), key.into()))
    }

    fn message(outcome: Result<Identity, TlsError>) -> String {
        outcome.expect_err("refused").to_string()
    }

    #[test]
    fn a_certificate_and_its_own_key_are_served() {
        let (certificate, key) = pair("scim.example.com");
        let identity = parse(&certificate, &key).expect("a matching pair");
        assert_eq!(identity.key.cert.len(), 1);
        assert!(
            identity.facts.subject.contains("CN="),
            "{:?}",
            identity.facts
        );
    }

    #[test]
    fn a_chain_keeps_its_order() {
        let (certificate, key) = pair("scim.example.com");
        let (intermediate, _) = pair("intermediate.example.com");
        let identity = parse(&format!("{certificate}{intermediate}"), &key).expect("a chain");
        assert_eq!(identity.key.cert.len(), 2);
    }

    #[test]
    fn the_key_of_another_certificate_is_refused_naming_both_files() {
        let (certificate, _) = pair("scim.example.com");
        let (_, other_key) = pair("other.example.com");
        assert_eq!(
            message(parse(&certificate, &other_key)),
            "the private key in /tls/key.pem does not belong to the certificate in /tls/cert.pem"
        );
    }

    #[test]
    fn missing_or_garbled_pem_names_the_file_and_the_cause() {
        let (certificate, key) = pair("scim.example.com");
        let no_certificate = message(parse("not a certificate", &key));
        assert!(
            no_certificate.starts_with("/tls/cert.pem holds no PEM certificate"),
            "{no_certificate}"
        );
        let key_only = message(parse(&key, &key));
        assert!(
            key_only.starts_with("/tls/cert.pem holds no PEM certificate"),
            "{key_only}"
        );
        let no_key = message(parse(&certificate, &certificate));
        assert!(
            no_key.starts_with("/tls/key.pem holds no PEM private key"),
            "{no_key}"
        );
        let garbled = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        let garbled = message(parse(garbled, &key));
        assert!(
            garbled.starts_with("/tls/cert.pem is not valid PEM"),
            "{garbled}"
        );
        let not_der = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let not_der = message(parse(not_der, &key));
        assert!(
            not_der.starts_with("/tls/cert.pem: the certificate cannot be parsed"),
            "{not_der}"
        );
        let bad_key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        let bad_key = message(parse(&certificate, bad_key));
        assert!(
            bad_key.starts_with("/tls/key.pem: the private key cannot be used"),
            "{bad_key}"
        );
    }

    #[test]
    fn a_file_that_cannot_be_read_is_named() {
        let missing = TlsFiles {
            certificate: PathBuf::from("/nonexistent/cert.pem"),
            key: PathBuf::from("/nonexistent/key.pem"),
        };
        let error = Identity::load(&missing)
            .expect_err("no such file")
            .to_string();
        assert!(
            error.starts_with("cannot read /nonexistent/cert.pem: "),
            "{error}"
        );
    }
}
