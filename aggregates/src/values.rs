//! Value types shared by both aggregates, each made by one parser.
//!
//! Deserialisation is deliberately unchecked (`#[serde(transparent)]`): a stored event is a fact
//! and must load even if a later build tightens the rules for new input.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a piece of text was refused as a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("{what} must not be empty")]
    Empty { what: &'static str },
    #[error("{what} must not be longer than {max} characters")]
    TooLong { what: &'static str, max: usize },
    #[error("{what} must not contain control characters")]
    ControlCharacter { what: &'static str },
}

/// Checks the rules every identifying text shares: not blank, bounded, no control characters
/// (they make log lines and CSV exports ambiguous).
pub(crate) fn check_text(what: &'static str, text: &str, max: usize) -> Result<(), ValueError> {
    if text.trim().is_empty() {
        return Err(ValueError::Empty { what });
    }
    if text.chars().count() > max {
        return Err(ValueError::TooLong { what, max });
    }
    if text.chars().any(char::is_control) {
        return Err(ValueError::ControlCharacter { what });
    }
    Ok(())
}

/// The tenant a resource belongs to. Every command names it, so that an aggregate of another
/// instance answers "not found" even if its id leaked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InstanceId(String);

impl InstanceId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The identifier the IdP keeps for a resource (RFC 7643 §3.1); case-exact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExternalId(String);

impl ExternalId {
    pub const MAX_CHARS: usize = 1024;

    pub fn parse(text: impl Into<String>) -> Result<Self, ValueError> {
        let text = text.into();
        check_text("externalId", &text, Self::MAX_CHARS)?;
        Ok(Self(text))
    }

    /// An id taken from a stored event, which was checked when it was first accepted.
    pub(crate) fn recorded(text: &str) -> Self {
        Self(text.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The key under which a case-insensitive name is unique: the same for every spelling that
/// differs only in case. Computed here, not in SQL, so that both stores and Rust agree.
pub fn case_insensitive_key(text: &str) -> String {
    text.to_lowercase()
}

/// The keys of two maps whose values differ (present in one only, or different in both), each
/// once, in key order: what a change event records.
pub fn changed_keys<'a>(
    old: impl Iterator<Item = &'a String>,
    new: impl Iterator<Item = &'a String>,
    differs: impl Fn(&str) -> bool,
) -> Vec<&'a String> {
    let mut keys: Vec<&String> = old.chain(new).collect();
    keys.sort();
    keys.dedup();
    keys.retain(|key| differs(key));
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_text_is_refused() {
        assert_eq!(
            ExternalId::parse("  "),
            Err(ValueError::Empty { what: "externalId" })
        );
    }

    #[test]
    fn control_characters_are_refused() {
        assert_eq!(
            ExternalId::parse("a\nb"),
            Err(ValueError::ControlCharacter { what: "externalId" })
        );
    }

    #[test]
    fn overlong_text_is_refused() {
        let long = "x".repeat(ExternalId::MAX_CHARS + 1);
        assert_eq!(
            ExternalId::parse(long),
            Err(ValueError::TooLong {
                what: "externalId",
                max: ExternalId::MAX_CHARS
            })
        );
    }

    #[test]
    fn keys_ignore_case() {
        assert_eq!(
            case_insensitive_key("Alice@Corp"),
            case_insensitive_key("alice@corp")
        );
    }
}
