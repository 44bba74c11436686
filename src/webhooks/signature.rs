//! Standard Webhooks 1.0 signing (spec/standard-webhooks.md, "Signature scheme"): a secret is
//! `whsec_` and the base64 of random bytes; a delivery is signed with HMAC-SHA256 over
//! `{webhook-id}.{webhook-timestamp}.{body}` and the signature sent as `v1,<base64>`. During a
//! rotation's overlap both secrets sign, the signatures separated by a space, so that a
//! receiver holding either secret verifies. Pure: randomness is passed in.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const PREFIX: &str = "whsec_";
/// 32 random bytes: within the specification's 24 to 64, as strong as the SHA-256 it keys.
pub const SECRET_BYTES: usize = 32;

/// A signing secret, held as its text form (`whsec_…`), which is what is stored and shown.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    text: String,
    key: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("a webhook secret is `whsec_` followed by base64")]
    Malformed,
}

impl Secret {
    /// A new secret from `bytes` of randomness.
    pub fn from_random(bytes: [u8; SECRET_BYTES]) -> Self {
        Self {
            text: format!("{PREFIX}{}", STANDARD.encode(bytes)),
            key: bytes.to_vec(),
        }
    }

    /// A fresh secret from the operating system's generator.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; SECRET_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(Self::from_random(bytes))
    }

    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text.strip_prefix(PREFIX).ok_or(SecretError::Malformed)?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| SecretError::Malformed)?;
        if key.is_empty() {
            return Err(SecretError::Malformed);
        }
        Ok(Self {
            text: text.to_string(),
            key,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `v1,<base64 HMAC-SHA256>` of one delivery.
    pub fn sign(&self, webhook_id: &str, timestamp: i64, body: &[u8]) -> String {
        // HMAC takes a key of any length: this cannot fail.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            unreachable!("HMAC accepts keys of any length")
        };
        mac.update(webhook_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// Never printed by accident (a log line, a panic message): only its prefix shows.
impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(whsec_…)")
    }
}

/// The `webhook-signature` header of one delivery: one signature per secret, space-separated.
pub fn signature_header(
    secrets: &[&Secret],
    webhook_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|secret| secret.sign(webhook_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector the specification's Rust library tests its signing with.
    #[test]
    fn signs_the_published_test_vector() {
        let secret = Secret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        assert_eq!(
            secret.sign("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553, body),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn a_changed_id_timestamp_or_body_changes_the_signature() {
        let secret = Secret::from_random([7; SECRET_BYTES]);
        let base = secret.sign("evt_1", 1700000000, b"{}");
        assert_ne!(base, secret.sign("evt_2", 1700000000, b"{}"));
        assert_ne!(base, secret.sign("evt_1", 1700000001, b"{}"));
        assert_ne!(base, secret.sign("evt_1", 1700000000, b"{ }"));
        assert_eq!(base, secret.sign("evt_1", 1700000000, b"{}"));
    }

    #[test]
    fn secrets_print_and_parse_back() {
        let secret = Secret::from_random([42; SECRET_BYTES]);
        assert!(secret.as_str().starts_with("whsec_"));
        assert_eq!(Secret::parse(secret.as_str()).unwrap(), secret);
        assert!(!format!("{secret:?}").contains(&secret.as_str()[6..]));
        for bad in ["", "whsec_", "sk_abc", "whsec_not base64!"] {
            assert_eq!(Secret::parse(bad), Err(SecretError::Malformed), "{bad}");
        }
    }

    #[test]
    fn during_an_overlap_both_secrets_sign() {
        let new = Secret::from_random([1; SECRET_BYTES]);
        let old = Secret::from_random([2; SECRET_BYTES]);
        let header = signature_header(&[&new, &old], "evt_1", 5, b"{}");
        let signatures: Vec<&str> = header.split(' ').collect();
        assert_eq!(
            signatures,
            [new.sign("evt_1", 5, b"{}"), old.sign("evt_1", 5, b"{}")]
        );
    }
}
