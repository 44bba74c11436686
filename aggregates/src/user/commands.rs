//! What can be asked of a user.

use super::values::{ManagerRef, UserProfile};
use crate::settings::mapping::MappedFields;
use crate::values::InstanceId;
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq)]
pub enum UserCommand {
    /// Provision a new user.
    Create {
        instance_id: InstanceId,
        profile: UserProfile,
        /// The application User fields the instance's mapping fills from `profile`.
        mapped: MappedFields,
        /// The manager `profile` names, resolved against the instance's users when possible.
        manager: Option<ManagerRef>,
    },
    /// Replace the user's profile with `profile` (PUT, or a PATCH already applied to the
    /// version the client saw). `expected_version` is the version that profile was derived
    /// from, so that two concurrent edits cannot silently overwrite each other.
    Update {
        instance_id: InstanceId,
        expected_version: u64,
        profile: UserProfile,
        mapped: MappedFields,
        /// The fields the instance's mapping fills (see `filled_fields`): `mapped` replaces
        /// those; the user's other fields stay as they are.
        filled: BTreeSet<String>,
        manager: Option<ManagerRef>,
        /// The request that asked for it (e.g. `PATCH /Users/{id}`): the reason a suspension
        /// or reactivation it causes records.
        cause: String,
    },
    /// Take over an account that existed before provisioning (see `Import`): same id, now
    /// managed by the IdP, with `profile` as its new state.
    Adopt {
        instance_id: InstanceId,
        profile: UserProfile,
        mapped: MappedFields,
        /// As for `Update`: the fields the import gave that the mapping does not fill (the
        /// application's own, e.g. a cost centre) are kept.
        filled: BTreeSet<String>,
        manager: Option<ManagerRef>,
        cause: String,
    },
    /// Record an account that existed before provisioning (created by hand or an older sync
    /// tool): a user of the application, not managed by SCIM until an IdP adopts it.
    Import {
        instance_id: InstanceId,
        profile: UserProfile,
        mapped: MappedFields,
    },
    /// The user a pending manager reference names has been provisioned.
    LinkManager {
        instance_id: InstanceId,
        reference: String,
        manager_id: String,
    },
    /// Fill the application User fields again, after the instance's mapping changed.
    Remap {
        instance_id: InstanceId,
        mapped: MappedFields,
    },
    /// Deprovision the user for good; `expected_version` comes from `If-Match` when given.
    Delete {
        instance_id: InstanceId,
        expected_version: Option<u64>,
        cause: String,
    },
}
