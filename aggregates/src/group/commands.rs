//! What can be asked of a group.

use super::values::{DisplayName, Member, MemberId};
use crate::values::{ExternalId, InstanceId};

#[derive(Debug, Clone, PartialEq)]
pub enum GroupCommand {
    Create {
        instance_id: InstanceId,
        display_name: DisplayName,
        external_id: Option<ExternalId>,
        members: Vec<Member>,
    },
    /// Rename the group and set its externalId (each `None` when unchanged), and change its
    /// members by `membership`, applied in order (PATCH operations keep their order: RFC 7644
    /// §3.5.2). Member changes are deltas decided against the group's own current state, so
    /// they need no `expected_version`; an edit derived from a version the client saw does.
    Update {
        instance_id: InstanceId,
        group_id: String,
        expected_version: Option<u64>,
        display_name: Option<DisplayName>,
        external_id: Option<Option<ExternalId>>,
        membership: Vec<MembershipChange>,
    },
    /// Record a group that existed before provisioning; no IdP manages it until one adopts it.
    Import {
        instance_id: InstanceId,
        display_name: DisplayName,
        members: Vec<Member>,
    },
    /// An IdP provisions a group with the name of an imported one, and takes it over.
    Adopt { instance_id: InstanceId },
    /// Drop a member that no longer exists (its user or group was deleted).
    ForgetMember {
        instance_id: InstanceId,
        group_id: String,
        member: MemberId,
    },
    Delete {
        instance_id: InstanceId,
        expected_version: Option<u64>,
    },
}

/// One step of a membership edit. Adds and removes name only the members they touch, so their
/// cost does not grow with the size of the group.
#[derive(Debug, Clone, PartialEq)]
pub enum MembershipChange {
    Add(Vec<Member>),
    Remove(Vec<MemberId>),
    RemoveAll,
    ReplaceAll(Vec<Member>),
}
