//! The hash chain over each instance's events (tamper evidence).
//!
//! Entry n of an instance's chain covers its n-th event in global order:
//!
//! ```text
//! hash_0 = SHA-256(len ‖ "scimd-event-chain-v1" ‖ len ‖ instance id)      (the genesis)
//! hash_n = SHA-256(hash_{n-1} ‖ content digest of event n)               (32 + 32 raw bytes)
//! ```
//!
//! where `len` is a field's length as 8 big-endian bytes and the content digest is defined in
//! `content`. The genesis names the instance, so that one instance's chain can never pass for
//! another's. Hashes are stored and shown as lowercase hex.
//!
//! The chain lives in the same database as the events: it proves that event rows were not
//! edited, removed, inserted or moved without the chain being rewritten too. Recording the head
//! hash somewhere else detects a rewrite of the whole chain.

pub mod audit;
pub mod content;
pub mod sealer;

pub use content::{Digest, EventContent};

use sha2::{Digest as _, Sha256};

const GENESIS_TAG: &[u8] = b"scimd-event-chain-v1";

/// The hash before an instance's first event.
pub fn genesis(instance_id: &str) -> Digest {
    let mut hasher = Sha256::new();
    for field in [GENESIS_TAG, instance_id.as_bytes()] {
        hasher.update(u64::try_from(field.len()).unwrap_or(u64::MAX).to_be_bytes());
        hasher.update(field);
    }
    hasher.finalize().into()
}

/// The hash of the entry that adds an event with `content` after the entry hashed `previous`.
pub fn link(previous: &Digest, content: &Digest) -> Digest {
    let mut hasher = Sha256::new();
    hasher.update(previous);
    hasher.update(content);
    hasher.finalize().into()
}

/// A stored hash read back; `None` if it is not 64 hex digits (someone wrote it there).
pub fn from_hex(text: &str) -> Option<Digest> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(text.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::to_hex;

    #[test]
    fn hex_reads_back_what_it_wrote() {
        let digest = genesis("acme");
        assert_eq!(from_hex(&to_hex(&digest)), Some(digest));
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex(&"g".repeat(64)), None);
    }

    /// Computed outside Rust (Python's hashlib and json) from the definition above: an auditor
    /// can recompute the chain without scimd, and a change of the definition cannot go unseen.
    #[test]
    fn the_hashes_match_an_independent_computation_of_the_definition() {
        let start = genesis("acme");
        assert_eq!(
            to_hex(&start),
            "fc067c557644dcd42db8fdc2ee794b025c11e841f9db5cdfce99a1de120f8c39"
        );
        let content = EventContent {
            aggregate_type: "User",
            aggregate_id: "u1",
            sequence: 1,
            event_type: "UserCreated",
            event_version: "1.0",
            payload: r#"{"UserCreated": {"user_name": "alice@corp.example", "active": true}}"#,
            metadata: r#"{"instance_id": "acme", "actor": "okta"}"#,
        }
        .digest();
        assert_eq!(
            to_hex(&content),
            "1e094bca51c966290241368a69417ea2de83117982eee7be900573202bf2cdf5"
        );
        assert_eq!(
            to_hex(&link(&start, &content)),
            "37b897f8b1a665f7c1e31df25a1248ad65e9a1ab178acce2050b428452885b79"
        );
    }

    #[test]
    fn each_instance_starts_from_its_own_genesis() {
        assert_ne!(genesis("acme"), genesis("globex"));
    }

    #[test]
    fn a_link_depends_on_both_the_previous_hash_and_the_event() {
        let start = genesis("acme");
        let event = [7u8; 32];
        assert_ne!(link(&start, &event), link(&genesis("globex"), &event));
        assert_ne!(link(&start, &event), link(&start, &[8u8; 32]));
    }
}
