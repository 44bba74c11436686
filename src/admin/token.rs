//! The token of the admin HTTP API: one secret, configured when the server starts, separate
//! from every SCIM key. Only its SHA-256 digest is kept in memory, and presented tokens are
//! compared in constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Shorter secrets are refused: the token guards every instance's settings.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 32;

#[derive(Clone)]
pub struct AdminToken {
    digest: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the admin token must be at least {MIN_ADMIN_TOKEN_CHARS} characters without spaces")]
pub struct WeakAdminToken;

impl AdminToken {
    pub fn new(secret: &str) -> Result<Self, WeakAdminToken> {
        let secret = secret.trim();
        if secret.chars().count() < MIN_ADMIN_TOKEN_CHARS || secret.contains(char::is_whitespace) {
            return Err(WeakAdminToken);
        }
        Ok(Self {
            digest: Sha256::digest(secret.as_bytes()).into(),
        })
    }

    /// A value that names this token without revealing it (a digest of its digest): console
    /// sign-ins made with it end when the server runs with another token.
    pub fn fingerprint(&self) -> String {
        projections::hex::to_hex(&Sha256::digest(self.digest))
    }

    pub fn admits(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.trim().as_bytes()).into();
        bool::from(digest.ct_eq(&self.digest))
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configured_secret_is_admitted() {
        let secret = "a".repeat(40);
        let token = AdminToken::new(&secret);
        assert!(token.as_ref().is_ok_and(|t| t.admits(&secret)));
        assert!(token.as_ref().is_ok_and(|t| !t.admits(&"a".repeat(39))));
        assert_eq!(AdminToken::new("short").err(), Some(WeakAdminToken));
        assert!(AdminToken::new(&format!("{} x", "a".repeat(40))).is_err());
        assert!(!format!("{token:?}").contains(&secret));
        let other = AdminToken::new(&"b".repeat(40)).map(|t| t.fingerprint());
        let fingerprint = token.map(|t| t.fingerprint());
        assert!(fingerprint.is_ok() && fingerprint != other);
    }
}
