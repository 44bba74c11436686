//! Values that only a user has.

use crate::attributes::Attributes;
use crate::values::{case_insensitive_key, check_text, ExternalId, ValueError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A login name: unique across the whole deployment and compared without regard to case
/// (RFC 7643 §4.1.1: userName is caseExact false).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserName(String);

impl UserName {
    pub const MAX_CHARS: usize = 256;

    pub fn parse(text: impl Into<String>) -> Result<Self, ValueError> {
        let text = text.into();
        check_text("userName", &text, Self::MAX_CHARS)?;
        Ok(Self(text))
    }

    /// A name taken from a stored event, which was checked when it was first accepted.
    pub(crate) fn recorded(text: &str) -> Self {
        Self(text.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The spelling-independent key the name is unique under.
    pub fn key(&self) -> String {
        case_insensitive_key(&self.0)
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything a client says about a user when it creates or replaces one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserProfile {
    pub user_name: UserName,
    pub external_id: Option<ExternalId>,
    /// Every other attribute, `active` among them.
    pub attributes: Attributes,
}

impl UserProfile {
    /// The profile of a user coming into being, with `active` stated: as the client gave it, or
    /// else true.
    pub(crate) fn stating_active(mut self) -> Self {
        self.attributes
            .or_insert(ACTIVE, serde_json::Value::Bool(true));
        self
    }
}

/// A user's direct manager as the IdP names it (the enterprise `manager.value`), and the user
/// of the same instance it names, once there is one. The IdP may name a manager it does not
/// provision (not in the sync group): the reference then waits, and is never turned into a
/// user of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagerRef {
    pub reference: String,
    pub manager_id: Option<String>,
}

/// The `active` attribute (RFC 7643 §4.1.1).
pub const ACTIVE: &str = "active";

/// A user is suspended exactly when its `active` attribute is false: an IdP deactivates a
/// user, or takes it out of the sync group, by sending `active: false`. Users are recorded with
/// `active` stated (true when created without it); events stored before that read as true
/// through `upcast_payload`, and an absent value still means active.
pub fn is_active(attributes: &Attributes) -> bool {
    attributes.get(ACTIVE) != Some(&serde_json::Value::Bool(false))
}
