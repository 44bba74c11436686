//! What one user event does to the user's row, decided in one pure place: the live projection
//! turns the decision into SQL, the time-travel fold applies it in memory, so that a user read
//! as of a past time and the user served live can never be derived differently.

use super::UserRecord;
use crate::event_log::RecordedEvent;
use aggregates::attributes::{AttributeChange, Attributes};
use aggregates::user::{UserEvent, ACTIVE};
use serde_json::Value;

/// The change one event makes to a user's row. Every variant but `Delete` makes the event's
/// sequence the row's version and its time the row's `last_modified`.
#[derive(Debug, Clone, PartialEq)]
pub enum UserRowChange<'e> {
    /// The user begins: its whole row, and the displayName the row indexes.
    Insert {
        row: UserRecord,
        display_name: Option<String>,
    },
    /// Attribute values changed: applied with `Profile::edit` to the stored profile.
    Edit(&'e [AttributeChange]),
    /// A version whose SCIM resource is unchanged: `active` already changed in the update a
    /// suspension follows, mapped fields belong to the application's directory, and managers
    /// are resolved outside the resource.
    Touch,
    Delete,
}

/// The row change `event`, recorded as `recorded`, makes.
pub fn user_row_change<'e>(recorded: &RecordedEvent, event: &'e UserEvent) -> UserRowChange<'e> {
    match event {
        UserEvent::UserCreated {
            instance_id,
            user_name,
            external_id,
            attributes,
            invitation_sent: _,
        }
        | UserEvent::UserImported {
            instance_id,
            user_name,
            external_id,
            attributes,
        } => {
            let at = recorded.metadata.occurred_at.clone();
            let row = UserRecord {
                id: recorded.aggregate_id.clone(),
                instance_id: instance_id.as_str().to_string(),
                user_name: user_name.as_str().to_string(),
                external_id: external_id.as_ref().map(|id| id.as_str().to_string()),
                active: active(attributes),
                attributes: json_text(attributes),
                version: recorded.sequence,
                created_position: recorded.position.position,
                created_at: at.clone(),
                last_modified: at,
            };
            UserRowChange::Insert {
                row,
                display_name: display_name(attributes),
            }
        }
        UserEvent::UserUpdated { changes } => UserRowChange::Edit(changes),
        UserEvent::UserSuspended { .. }
        | UserEvent::UserReactivated { .. }
        | UserEvent::UserMapped { .. }
        | UserEvent::ManagerPending { .. }
        | UserEvent::ManagerLinked { .. }
        | UserEvent::ManagerUnlinked { .. }
        | UserEvent::UserAdopted => UserRowChange::Touch,
        UserEvent::UserDeleted { .. } => UserRowChange::Delete,
    }
}

/// The part of a user's row an update edits.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub user_name: String,
    pub external_id: Option<String>,
    pub attributes: Attributes,
}

impl Profile {
    /// `attributes` is the row's JSON text; text that is not an object reads as no attributes.
    pub fn from_row(user_name: String, external_id: Option<String>, attributes: &str) -> Self {
        Self {
            user_name,
            external_id,
            attributes: Attributes::new(serde_json::from_str(attributes).unwrap_or_default()),
        }
    }

    /// `userName` and `externalId` have columns of their own; every other attribute lives in
    /// the attributes. A userName change never removes the userName (it is required).
    pub fn edit(&mut self, changes: &[AttributeChange]) {
        for change in changes {
            let text = change
                .new
                .as_ref()
                .and_then(Value::as_str)
                .map(str::to_string);
            match change.attribute.as_str() {
                "userName" => {
                    if let Some(user_name) = text {
                        self.user_name = user_name;
                    }
                }
                "externalId" => self.external_id = text,
                _ => self.attributes.apply(change),
            }
        }
    }

    pub fn display_name(&self) -> Option<String> {
        display_name(&self.attributes)
    }

    pub fn active(&self) -> Option<bool> {
        active(&self.attributes)
    }

    pub fn attributes_text(&self) -> String {
        json_text(&self.attributes)
    }
}

fn display_name(attributes: &Attributes) -> Option<String> {
    attributes
        .get("displayName")
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn active(attributes: &Attributes) -> Option<bool> {
    attributes.get(ACTIVE).and_then(Value::as_bool)
}

fn json_text(attributes: &Attributes) -> String {
    Value::Object(attributes.as_map().clone()).to_string()
}

impl UserRowChange<'_> {
    /// The row after this change, in memory, from the row before it (`None`: no row). An edit
    /// of a missing row is refused, as the live projection refuses it.
    pub fn apply_to(
        self,
        row: Option<UserRecord>,
        recorded: &RecordedEvent,
    ) -> Result<Option<UserRecord>, MissingUserRow> {
        let stamp = |mut row: UserRecord| {
            row.version = recorded.sequence;
            row.last_modified = recorded.metadata.occurred_at.clone();
            row
        };
        Ok(match self {
            Self::Insert { row, .. } => Some(row),
            Self::Edit(changes) => {
                let Some(mut row) = row else {
                    return Err(MissingUserRow);
                };
                let mut profile = Profile::from_row(
                    std::mem::take(&mut row.user_name),
                    row.external_id.take(),
                    &row.attributes,
                );
                profile.edit(changes);
                row.active = profile.active();
                row.attributes = profile.attributes_text();
                row.user_name = profile.user_name;
                row.external_id = profile.external_id;
                Some(stamp(row))
            }
            // The live UPDATE of a missing row changes nothing either.
            Self::Touch => row.map(stamp),
            Self::Delete => None,
        })
    }
}

/// An update of a user that has no row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingUserRow;
