//! What an operator needs to know of the certificate being served: whose it is (subject),
//! which one (serial), and until when (expiry); read from its DER, nothing verified here.

use super::error::TlsError;
use chrono::{DateTime, TimeDelta, Utc};
use std::fmt::Write as _;
use std::path::Path;
use x509_cert::der::Decode as _;

/// Days before expiry from which start-up warns: enough to renew by hand.
pub const EXPIRY_WARNING_DAYS: i64 = 14;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFacts {
    /// RFC 4514 form, e.g. `CN=scim.example.com`.
    pub subject: String,
    /// Hexadecimal, as `openssl x509 -serial` prints it.
    pub serial: String,
    pub not_after: DateTime<Utc>,
}

/// Whether a certificate can still be served, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Expired,
    /// Expires within `EXPIRY_WARNING_DAYS`: in this many whole days.
    Soon {
        days: i64,
    },
    Valid,
}

impl CertificateFacts {
    /// The facts of the DER certificate `der`, read from `path`.
    pub fn of(der: &[u8], path: &Path) -> Result<Self, TlsError> {
        let invalid = |cause: String| TlsError::Certificate {
            path: path.to_path_buf(),
            cause,
        };
        let certificate =
            x509_cert::Certificate::from_der(der).map_err(|error| invalid(error.to_string()))?;
        let tbs = certificate.tbs_certificate;
        let not_after = tbs.validity.not_after.to_unix_duration();
        let not_after = i64::try_from(not_after.as_secs())
            .ok()
            .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
            .ok_or_else(|| invalid("its expiry is out of range".to_string()))?;
        Ok(Self {
            subject: tbs.subject.to_string(),
            serial: hex(tbs.serial_number.as_bytes()),
            not_after,
        })
    }

    pub fn expiry(&self, now: DateTime<Utc>) -> Expiry {
        if self.not_after <= now {
            return Expiry::Expired;
        }
        let left = self.not_after - now;
        if left < TimeDelta::days(EXPIRY_WARNING_DAYS) {
            Expiry::Soon {
                days: left.num_days(),
            }
        } else {
            Expiry::Valid
        }
    }

    /// Warns in the log when the certificate has expired or soon will.
    pub fn warn_if_expiring(&self, now: DateTime<Utc>) {
        let (subject, not_after) = (&self.subject, self.not_after.to_rfc3339());
        match self.expiry(now) {
            Expiry::Expired => tracing::warn!(
                %subject, %not_after,
                "the TLS certificate has expired: clients will refuse it until it is replaced"
            ),
            Expiry::Soon { days } => tracing::warn!(
                %subject, %not_after, days,
                "the TLS certificate expires within {EXPIRY_WARNING_DAYS} days: renew it"
            ),
            Expiry::Valid => {}
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02X}");
        text
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(not_after: DateTime<Utc>) -> CertificateFacts {
        CertificateFacts {
            subject: "CN=test".to_string(),
            serial: "01".to_string(),
            not_after,
        }
    }

    #[test]
    fn expiry_is_told_from_the_time_left() {
        let now = Utc::now();
        assert_eq!(facts(now).expiry(now), Expiry::Expired);
        assert_eq!(facts(now - TimeDelta::days(1)).expiry(now), Expiry::Expired);
        assert_eq!(
            facts(now + TimeDelta::hours(36)).expiry(now),
            Expiry::Soon { days: 1 }
        );
        assert_eq!(
            facts(now + TimeDelta::days(EXPIRY_WARNING_DAYS) - TimeDelta::seconds(1)).expiry(now),
            Expiry::Soon { days: 13 }
        );
        assert_eq!(
            facts(now + TimeDelta::days(EXPIRY_WARNING_DAYS)).expiry(now),
            Expiry::Valid
        );
    }

    #[test]
    fn the_subject_serial_and_expiry_are_read_from_the_der() {
        let mut params = rcgen::CertificateParams::new(vec!["scim.example.com".to_string()])
            .expect("valid names");
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "scim.example.com");
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x0A, 0xBC]));
        params.not_after = rcgen::date_time_ymd(2031, 5, 17);
        let key = rcgen::KeyPair::generate().expect("a key");
        let certificate = params.self_signed(&key).expect("a certificate");
        let facts = CertificateFacts::of(certificate.der(), Path::new("cert.pem"))
            .expect("a readable certificate");
        assert_eq!(facts.subject, "CN=scim.example.com");
        assert_eq!(facts.serial, "0ABC");
        assert_eq!(facts.not_after.to_rfc3339(), "2031-05-17T00:00:00+00:00");
    }

    #[test]
    fn bytes_that_are_not_a_certificate_name_the_file() {
        let error = CertificateFacts::of(b"\x30\x03\x02\x01\x01", Path::new("/etc/cert.pem"))
            .expect_err("not a certificate");
        assert!(error.to_string().starts_with("/etc/cert.pem: "), "{error}");
    }
}
