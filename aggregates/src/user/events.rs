//! What has happened to a user. Facts in the past tense; their `event_type` names never change.

use super::values::UserName;
use crate::attributes::{AttributeChange, Attributes};
use crate::settings::mapping::FieldChange;
use crate::values::{ExternalId, InstanceId};
use crate::EVENT_VERSION;
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum UserEvent {
    UserCreated {
        instance_id: InstanceId,
        user_name: UserName,
        external_id: Option<ExternalId>,
        /// Includes `active`; a user created with `active: false` starts suspended.
        attributes: Attributes,
        /// Provisioned users are never invited by email (a hard-coded provisioning rule); the
        /// fact is recorded so that the application and the auditor need not assume it.
        invitation_sent: bool,
    },
    /// An account that existed before provisioning, imported; not managed by SCIM.
    UserImported {
        instance_id: InstanceId,
        user_name: UserName,
        external_id: Option<ExternalId>,
        attributes: Attributes,
    },
    /// An IdP provisioned a user with the name of an imported account, and took it over.
    UserAdopted,
    /// Attribute values changed; `userName`, `externalId` and `active` appear here like any
    /// other attribute, with their old and new values.
    UserUpdated { changes: Vec<AttributeChange> },
    /// The application User fields the mapping fills changed: exactly those, old and new, so
    /// that the application's workflow rules can react to them.
    UserMapped { changes: Vec<FieldChange> },
    /// The manager the IdP names is not (yet) a user of the instance; linked when it is.
    ManagerPending { reference: String },
    ManagerLinked {
        reference: String,
        manager_id: String,
    },
    /// The IdP no longer names a manager.
    ManagerUnlinked { reference: String },
    /// Follows the update that made `active` false (the IdP deactivated the user, or took it
    /// out of the application or the sync group): the account may no longer be used. `reason`
    /// says which request did it; events recorded before reasons were kept have none.
    UserSuspended {
        #[serde(default)]
        reason: Option<String>,
    },
    /// Follows the update that made `active` anything but false.
    UserReactivated {
        #[serde(default)]
        reason: Option<String>,
    },
    UserDeleted {
        #[serde(default)]
        reason: Option<String>,
    },
}

impl DomainEvent for UserEvent {
    fn event_type(&self) -> String {
        match self {
            Self::UserCreated { .. } => "UserCreated",
            Self::UserImported { .. } => "UserImported",
            Self::UserAdopted => "UserAdopted",
            Self::UserUpdated { .. } => "UserUpdated",
            Self::UserMapped { .. } => "UserMapped",
            Self::ManagerPending { .. } => "ManagerPending",
            Self::ManagerLinked { .. } => "ManagerLinked",
            Self::ManagerUnlinked { .. } => "ManagerUnlinked",
            Self::UserSuspended { .. } => "UserSuspended",
            Self::UserReactivated { .. } => "UserReactivated",
            Self::UserDeleted { .. } => "UserDeleted",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        EVENT_VERSION.to_string()
    }
}
