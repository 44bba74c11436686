//! API keys: made from 256 random bits, shown once, kept only as a SHA-256 digest, and checked
//! in constant time.
//!
//! A token reads `scimd_<key id>_<secret>`. The key id is not secret: it names the key in
//! lists, logs and revocations, and lets the server find the stored digest without scanning.
//!
//! A named administrator's credential is made the same way and reads
//! `scimdadmin_<admin id>_<secret>`: a different prefix, so that neither kind can ever be
//! taken for the other.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use projections::hex::to_hex;
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

const PREFIX: &str = "scimd_";
const ADMIN_PREFIX: &str = "scimdadmin_";
const KEY_ID_BYTES: usize = 8;
const SECRET_BYTES: usize = 32;

/// A freshly generated key; the only moment its secret exists outside the client.
pub struct NewApiKey {
    pub key_id: String,
    secret: String,
}

impl NewApiKey {
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut id = [0u8; KEY_ID_BYTES];
        let mut secret = [0u8; SECRET_BYTES];
        getrandom::fill(&mut id)?;
        getrandom::fill(&mut secret)?;
        Ok(Self {
            key_id: to_hex(&id),
            secret: URL_SAFE_NO_PAD.encode(secret),
        })
    }

    /// The token to hand to the IdP, once.
    pub fn token(&self) -> String {
        format!("{PREFIX}{}_{}", self.key_id, self.secret)
    }

    /// The same secret as a named administrator's credential, to hand to that person once.
    pub fn admin_token(&self) -> String {
        format!("{ADMIN_PREFIX}{}_{}", self.key_id, self.secret)
    }

    pub fn secret_digest(&self) -> String {
        digest(&self.secret)
    }
}

/// Never print a secret by accident.
impl fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewApiKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// A token as presented by a client, split into its parts.
pub struct PresentedKey<'t> {
    pub key_id: &'t str,
    secret: &'t str,
}

impl<'t> PresentedKey<'t> {
    pub fn parse(token: &'t str) -> Option<Self> {
        Self::parse_after(PREFIX, token)
    }

    /// A named administrator's credential (`scimdadmin_...`).
    pub fn parse_admin(token: &'t str) -> Option<Self> {
        Self::parse_after(ADMIN_PREFIX, token)
    }

    fn parse_after(prefix: &str, token: &'t str) -> Option<Self> {
        let rest = token.strip_prefix(prefix)?;
        let (key_id, secret) = rest
            .split_once('_')
            .filter(|(id, _)| id.len() == 2 * KEY_ID_BYTES)?;
        if !key_id.bytes().all(|byte| byte.is_ascii_hexdigit()) || secret.is_empty() {
            return None;
        }
        Some(Self { key_id, secret })
    }

    /// Whether the secret matches the stored digest, in time that does not depend on where
    /// they differ.
    pub fn matches(&self, stored_digest: &str) -> bool {
        digest(self.secret)
            .as_bytes()
            .ct_eq(stored_digest.as_bytes())
            .into()
    }
}

fn digest(secret: &str) -> String {
    to_hex(&Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_token_parses_and_matches_its_digest() {
        let key = NewApiKey::generate().ok();
        let token = key.as_ref().map(NewApiKey::token).unwrap_or_default();
        let presented = PresentedKey::parse(&token);
        assert_eq!(
            presented.as_ref().map(|p| p.key_id),
            key.as_ref().map(|k| k.key_id.as_str())
        );
        let digest = key.map(|k| k.secret_digest()).unwrap_or_default();
        assert!(presented.is_some_and(|p| p.matches(&digest)));
    }

    /// The parts of a generated token: its key id and its secret.
    fn parts(token: &str) -> (String, String) {
        let rest = token.strip_prefix(PREFIX).unwrap_or_default();
        let (id, secret) = rest.split_once('_').unwrap_or_default();
        (id.to_string(), secret.to_string())
    }

    #[test]
    fn a_token_is_the_prefix_a_hex_key_id_and_256_bits_of_url_safe_secret() {
        let token = NewApiKey::generate()
            .map(|key| key.token())
            .unwrap_or_default();
        assert!(token.starts_with(PREFIX), "{token}");
        let (id, secret) = parts(&token);
        assert_eq!(id.len(), 16, "{token}");
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        // 32 bytes in unpadded base64url: 43 characters, none of which needs quoting in a
        // header or a shell.
        assert_eq!(secret.len(), 43, "{token}");
        assert!(secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(URL_SAFE_NO_PAD.decode(&secret).map(|s| s.len()), Ok(32));
        assert_eq!(token.len(), PREFIX.len() + 16 + 1 + 43);
    }

    #[test]
    fn generated_secrets_differ_and_look_uniformly_random() {
        let secrets: Vec<Vec<u8>> = (0..200)
            .filter_map(|_| NewApiKey::generate().ok())
            .map(|key| URL_SAFE_NO_PAD.decode(key.secret).unwrap_or_default())
            .collect();
        assert_eq!(secrets.len(), 200);
        let distinct: std::collections::HashSet<&Vec<u8>> = secrets.iter().collect();
        assert_eq!(distinct.len(), secrets.len(), "two keys share a secret");
        let ids: std::collections::HashSet<String> = (0..200)
            .filter_map(|_| NewApiKey::generate().ok())
            .map(|key| key.key_id)
            .collect();
        assert_eq!(ids.len(), 200, "two keys share an id");
        // 51,200 random bits hold 25,600 ones give or take 113 (one standard deviation); a
        // generator stuck on a pattern, or a secret padded with zeros, lands far outside.
        let ones: u32 = secrets.iter().flatten().map(|byte| byte.count_ones()).sum();
        assert!(
            (24_600..=26_600).contains(&ones),
            "{ones} ones in 51,200 bits"
        );
        // Every byte value turns up: 6,400 bytes, 25 of each on average.
        let mut seen = [false; 256];
        for byte in secrets.iter().flatten() {
            seen[usize::from(*byte)] = true;
        }
        assert!(seen.iter().all(|&s| s), "some byte value never occurs");
    }

    #[test]
    fn an_admin_credential_is_never_taken_for_a_key_nor_a_key_for_one() {
        let key = NewApiKey::generate().ok();
        let admin = key.as_ref().map(NewApiKey::admin_token).unwrap_or_default();
        let token = key.as_ref().map(NewApiKey::token).unwrap_or_default();
        assert!(admin.starts_with("scimdadmin_"), "{admin}");
        assert!(PresentedKey::parse(&admin).is_none());
        assert!(PresentedKey::parse_admin(&token).is_none());
        let digest = key.map(|k| k.secret_digest()).unwrap_or_default();
        assert!(PresentedKey::parse_admin(&admin).is_some_and(|p| p.matches(&digest)));
    }

    #[test]
    fn a_changed_secret_does_not_match() {
        let key = NewApiKey::generate().ok();
        let digest = key
            .as_ref()
            .map(NewApiKey::secret_digest)
            .unwrap_or_default();
        let mut token = key.map(|k| k.token()).unwrap_or_default();
        let last = if token.ends_with('A') { 'B' } else { 'A' };
        token.pop();
        token.push(last);
        assert!(PresentedKey::parse(&token).is_some_and(|p| !p.matches(&digest)));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for token in [
            "",
            "scimd_",
            "scimd_abc_def",
            "other_0123456789abcdef_secret",
            "scimd_0123456789abcdeg_x",
            "scimd_0123456789abcdef_",
        ] {
            assert!(PresentedKey::parse(token).is_none(), "{token}");
        }
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        if let Ok(key) = NewApiKey::generate() {
            // The secret's own alphabet has `_`, so it is taken whole, not split off the token.
            assert!(!format!("{key:?}").contains(&key.secret));
        }
    }
}
