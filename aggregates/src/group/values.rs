//! Values that only a group has.

use crate::values::{case_insensitive_key, check_text, ValueError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A group's name: unique within its instance without regard to case (Entra ID matches groups
/// by displayName and relies on it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 256;

    pub fn parse(text: impl Into<String>) -> Result<Self, ValueError> {
        let text = text.into();
        check_text("displayName", &text, Self::MAX_CHARS)?;
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The spelling-independent key the name is unique under.
    pub fn key(&self) -> String {
        case_insensitive_key(&self.0)
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id of a user or group that is, or may become, a member.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MemberId(String);

impl MemberId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// RFC 7643 §4.2: a member is a User or a Group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MemberKind {
    User,
    Group,
}

impl MemberKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Member {
    pub id: MemberId,
    pub kind: MemberKind,
}

impl Member {
    pub fn user(id: impl Into<String>) -> Self {
        Self {
            id: MemberId::new(id),
            kind: MemberKind::User,
        }
    }

    pub fn group(id: impl Into<String>) -> Self {
        Self {
            id: MemberId::new(id),
            kind: MemberKind::Group,
        }
    }
}
