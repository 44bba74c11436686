//! What the feed knows of each user and group: enough to render the resource as it is after a
//! change. Folded from the internal events alone, by pure functions; stored as the feed's own
//! snapshots (`feed_users`, `feed_groups`), never read from another projection.

use aggregates::attributes::Attributes;
use aggregates::group::GroupEvent;
use aggregates::settings::mapping::MappedFields;
use aggregates::user::{is_active, UserEvent, ACTIVE};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// A user's lifecycle state, as the public documents name it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lifecycle {
    #[default]
    Active,
    Suspended,
    Deleted,
}

impl Lifecycle {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Deleted => "deleted",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserState {
    pub instance_id: String,
    pub user_name: String,
    pub external_id: Option<String>,
    /// The SCIM attributes as recorded, `active` included.
    pub attributes: Attributes,
    pub fields: MappedFields,
    pub manager_id: Option<String>,
    pub lifecycle: Lifecycle,
    /// Whether an IdP provisions the user: an imported account is not in the feed until adopted.
    pub managed: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupState {
    pub instance_id: String,
    pub display_name: String,
    pub external_id: Option<String>,
    pub managed: bool,
    pub deleted: bool,
}

const USER_NAME: &str = "userName";
const EXTERNAL_ID: &str = "externalId";

/// The user after `event`; `state` is `None` before the user's first event.
pub fn user_after(state: Option<UserState>, event: &UserEvent) -> UserState {
    let mut state = state.unwrap_or_default();
    match event {
        UserEvent::UserCreated {
            instance_id,
            user_name,
            external_id,
            attributes,
            ..
        }
        | UserEvent::UserImported {
            instance_id,
            user_name,
            external_id,
            attributes,
        } => {
            state = UserState {
                instance_id: instance_id.as_str().to_string(),
                user_name: user_name.as_str().to_string(),
                external_id: external_id.as_ref().map(|id| id.as_str().to_string()),
                attributes: attributes.clone(),
                fields: MappedFields::default(),
                manager_id: None,
                lifecycle: if is_active(attributes) {
                    Lifecycle::Active
                } else {
                    Lifecycle::Suspended
                },
                managed: matches!(event, UserEvent::UserCreated { .. }),
            };
        }
        UserEvent::UserAdopted => state.managed = true,
        UserEvent::UserUpdated { changes } => {
            for change in changes {
                let text = change.new.as_ref().and_then(Value::as_str);
                match change.attribute.as_str() {
                    USER_NAME => {
                        if let Some(name) = text {
                            state.user_name = name.to_string();
                        }
                    }
                    EXTERNAL_ID => state.external_id = text.map(str::to_string),
                    _ => state.attributes.apply(change),
                }
            }
        }
        UserEvent::UserMapped { changes } => {
            for change in changes {
                match &change.new {
                    Some(value) => state.fields.insert(change.field.clone(), value.clone()),
                    None => state.fields.remove(&change.field),
                };
            }
        }
        UserEvent::ManagerPending { .. } | UserEvent::ManagerUnlinked { .. } => {
            state.manager_id = None
        }
        UserEvent::ManagerLinked { manager_id, .. } => state.manager_id = Some(manager_id.clone()),
        UserEvent::UserSuspended { .. } => state.lifecycle = Lifecycle::Suspended,
        UserEvent::UserReactivated { .. } => state.lifecycle = Lifecycle::Active,
        UserEvent::UserDeleted { .. } => state.lifecycle = Lifecycle::Deleted,
    }
    state
}

/// The group after `event`; `state` is `None` before the group's first event.
pub fn group_after(state: Option<GroupState>, event: &GroupEvent) -> GroupState {
    let mut state = state.unwrap_or_default();
    match event {
        GroupEvent::GroupCreated {
            instance_id,
            display_name,
            external_id,
        } => {
            state = GroupState {
                instance_id: instance_id.as_str().to_string(),
                display_name: display_name.as_str().to_string(),
                external_id: external_id.as_ref().map(|id| id.as_str().to_string()),
                managed: true,
                deleted: false,
            }
        }
        GroupEvent::GroupImported {
            instance_id,
            display_name,
        } => {
            state = GroupState {
                instance_id: instance_id.as_str().to_string(),
                display_name: display_name.as_str().to_string(),
                external_id: None,
                managed: false,
                deleted: false,
            }
        }
        GroupEvent::GroupAdopted => state.managed = true,
        GroupEvent::GroupRenamed {
            new_display_name, ..
        } => state.display_name = new_display_name.as_str().to_string(),
        GroupEvent::GroupExternalIdChanged {
            new_external_id, ..
        } => state.external_id = new_external_id.as_ref().map(|id| id.as_str().to_string()),
        GroupEvent::GroupMemberAdded { .. } | GroupEvent::GroupMemberRemoved { .. } => {}
        GroupEvent::GroupDeleted => state.deleted = true,
    }
    state
}

/// The public `user` resource (docs/events.md): the SCIM attributes under `attributes`, as
/// recorded, without `active`, which is a top-level field next to `state`.
pub fn user_resource(id: &str, state: &UserState) -> Value {
    let attributes: Map<String, Value> = state
        .attributes
        .as_map()
        .iter()
        .filter(|(name, _)| name.as_str() != ACTIVE)
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    json!({
        "id": id,
        "userName": state.user_name,
        "externalId": state.external_id,
        "active": is_active(&state.attributes),
        "state": state.lifecycle.as_str(),
        "attributes": attributes,
        "fields": state.fields,
        "managerId": state.manager_id,
    })
}

/// The public `group` resource: never its members, so that a document's size does not grow
/// with the group's.
pub fn group_resource(id: &str, state: &GroupState) -> Value {
    json!({
        "id": id,
        "displayName": state.display_name,
        "externalId": state.external_id,
    })
}
