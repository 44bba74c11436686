//! What has happened to a group. One event per member change, so that a change costs in
//! proportion to its own size and the history names every member added or removed.

use super::values::{DisplayName, Member};
use crate::values::{ExternalId, InstanceId};
use crate::EVENT_VERSION;
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum GroupEvent {
    GroupCreated {
        instance_id: InstanceId,
        display_name: DisplayName,
        external_id: Option<ExternalId>,
    },
    /// A group that existed before provisioning, imported; not managed by SCIM.
    GroupImported {
        instance_id: InstanceId,
        display_name: DisplayName,
    },
    GroupAdopted,
    GroupRenamed {
        old_display_name: DisplayName,
        new_display_name: DisplayName,
    },
    GroupExternalIdChanged {
        old_external_id: Option<ExternalId>,
        new_external_id: Option<ExternalId>,
    },
    GroupMemberAdded {
        member: Member,
    },
    GroupMemberRemoved {
        member: Member,
    },
    GroupDeleted,
}

impl DomainEvent for GroupEvent {
    fn event_type(&self) -> String {
        match self {
            Self::GroupCreated { .. } => "GroupCreated",
            Self::GroupImported { .. } => "GroupImported",
            Self::GroupAdopted => "GroupAdopted",
            Self::GroupRenamed { .. } => "GroupRenamed",
            Self::GroupExternalIdChanged { .. } => "GroupExternalIdChanged",
            Self::GroupMemberAdded { .. } => "GroupMemberAdded",
            Self::GroupMemberRemoved { .. } => "GroupMemberRemoved",
            Self::GroupDeleted => "GroupDeleted",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        EVENT_VERSION.to_string()
    }
}
