//! What can be asked of a user.

use super::values::UserProfile;
use crate::values::InstanceId;

#[derive(Debug, Clone, PartialEq)]
pub enum UserCommand {
    /// Provision a new user.
    Create {
        instance_id: InstanceId,
        profile: UserProfile,
    },
    /// Replace the user's profile with `profile` (PUT, or a PATCH already applied to the
    /// version the client saw). `expected_version` is the version that profile was derived
    /// from, so that two concurrent edits cannot silently overwrite each other.
    Update {
        instance_id: InstanceId,
        expected_version: u64,
        profile: UserProfile,
    },
    /// Deprovision the user for good; `expected_version` comes from `If-Match` when given.
    Delete {
        instance_id: InstanceId,
        expected_version: Option<u64>,
    },
}
