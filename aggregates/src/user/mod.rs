//! The User aggregate: one provisioned account of one instance.
//!
//! Lifecycle: created (active or suspended) → updated / suspended / reactivated → deleted,
//! after which it answers every command with `NotFound`.
//!
//! A user created, imported or adopted without `active` is recorded with `active: true` (what
//! RFC 7643 clients mean by leaving it out, and what scimd did with such a user anyway). An
//! update's profile is taken as given: one without `active` (a PATCH that removes it) leaves the
//! attribute unassigned, which means active (RFC 7644 §3.5.2.2: the attribute is removed). A PUT
//! that leaves it out keeps it, which the protocol layer sees to.

mod commands;
mod error;
mod events;
mod upcast;
mod values;

pub use commands::UserCommand;
pub use error::UserError;
pub use events::UserEvent;
pub use upcast::upcast_payload;
pub use values::{is_active, ManagerRef, UserName, UserProfile, ACTIVE};

use crate::attributes::{AttributeChange, Attributes};
use crate::settings::mapping::{changed_fields, MappedFields};
use crate::values::{ExternalId, InstanceId};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
enum Status {
    #[default]
    NotCreated,
    Active,
    Suspended,
    Deleted,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct User {
    status: Status,
    instance_id: InstanceId,
    user_name: Option<UserName>,
    external_id: Option<ExternalId>,
    attributes: Attributes,
    /// The application User fields as last mapped.
    mapped: MappedFields,
    manager: Option<ManagerRef>,
    /// Whether an IdP provisions the user (false for an imported account not yet adopted).
    managed: bool,
    /// Number of events applied; equals the event store's sequence and the SCIM `meta.version`.
    version: u64,
}

impl Aggregate for User {
    const TYPE: &'static str = "User";
    type Command = UserCommand;
    type Event = UserEvent;
    type Error = UserError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            UserCommand::Create {
                instance_id,
                profile,
                mapped,
                manager,
            } => {
                let profile = profile.stating_active();
                self.create(instance_id, profile, sink).await?;
                self.map(mapped, sink).await;
                self.manage(manager, sink).await;
                Ok(())
            }
            UserCommand::Update {
                instance_id,
                expected_version,
                profile,
                mapped,
                filled,
                manager,
                cause,
            } => {
                self.ensure_live(&instance_id, Some(expected_version))?;
                self.update(profile, &cause, sink).await;
                self.map_filled(mapped, &filled, sink).await;
                self.manage(manager, sink).await;
                Ok(())
            }
            UserCommand::Import {
                instance_id,
                profile,
                mapped,
            } => {
                if self.status != Status::NotCreated {
                    return Err(UserError::AlreadyExists);
                }
                let profile = profile.stating_active();
                let event = UserEvent::UserImported {
                    instance_id,
                    user_name: profile.user_name,
                    external_id: profile.external_id,
                    attributes: profile.attributes,
                };
                sink.write(event, self).await;
                self.map(mapped, sink).await;
                Ok(())
            }
            UserCommand::Adopt {
                instance_id,
                profile,
                mapped,
                filled,
                manager,
                cause,
            } => {
                self.ensure_live(&instance_id, None)?;
                if self.managed {
                    return Err(UserError::AlreadyManaged);
                }
                sink.write(UserEvent::UserAdopted, self).await;
                // The IdP creates the user it adopts: an account suspended before provisioning
                // is taken over active unless the IdP says otherwise.
                let profile = profile.stating_active();
                self.update(profile, &cause, sink).await;
                self.map_filled(mapped, &filled, sink).await;
                self.manage(manager, sink).await;
                Ok(())
            }
            UserCommand::LinkManager {
                instance_id,
                reference,
                manager_id,
            } => {
                self.ensure_live(&instance_id, None)?;
                let waiting = self.manager.as_ref().is_some_and(|manager| {
                    manager.reference == reference && manager.manager_id.is_none()
                });
                if waiting {
                    let event = UserEvent::ManagerLinked {
                        reference,
                        manager_id,
                    };
                    sink.write(event, self).await;
                }
                Ok(())
            }
            UserCommand::Remap {
                instance_id,
                mapped,
            } => {
                self.ensure_live(&instance_id, None)?;
                self.map(mapped, sink).await;
                Ok(())
            }
            UserCommand::Delete {
                instance_id,
                expected_version,
                cause,
            } => {
                self.ensure_live(&instance_id, expected_version)?;
                let reason = Some(cause);
                sink.write(UserEvent::UserDeleted { reason }, self).await;
                Ok(())
            }
        }
    }

    fn apply(&mut self, event: Self::Event) {
        self.version += 1;
        match event {
            UserEvent::UserCreated {
                instance_id,
                user_name,
                external_id,
                attributes,
                invitation_sent: _,
            } => {
                self.begin(instance_id, user_name, external_id, attributes, true);
            }
            UserEvent::UserImported {
                instance_id,
                user_name,
                external_id,
                attributes,
            } => self.begin(instance_id, user_name, external_id, attributes, false),
            UserEvent::UserAdopted => self.managed = true,
            UserEvent::UserUpdated { changes } => {
                for change in &changes {
                    self.apply_change(change);
                }
            }
            UserEvent::UserMapped { changes } => {
                for change in changes {
                    match change.new {
                        Some(value) => self.mapped.insert(change.field, value),
                        None => self.mapped.remove(&change.field),
                    };
                }
            }
            UserEvent::ManagerPending { reference } => {
                self.manager = Some(ManagerRef {
                    reference,
                    manager_id: None,
                })
            }
            UserEvent::ManagerLinked {
                reference,
                manager_id,
            } => {
                self.manager = Some(ManagerRef {
                    reference,
                    manager_id: Some(manager_id),
                })
            }
            UserEvent::ManagerUnlinked { .. } => self.manager = None,
            UserEvent::UserSuspended { .. } => self.status = Status::Suspended,
            UserEvent::UserReactivated { .. } => self.status = Status::Active,
            UserEvent::UserDeleted { .. } => self.status = Status::Deleted,
        }
    }
}

const USER_NAME: &str = "userName";
const EXTERNAL_ID: &str = "externalId";

impl User {
    /// The state of a user that has just come into being, provisioned or imported.
    fn begin(
        &mut self,
        instance_id: InstanceId,
        user_name: UserName,
        external_id: Option<ExternalId>,
        attributes: Attributes,
        managed: bool,
    ) {
        self.status = if is_active(&attributes) {
            Status::Active
        } else {
            Status::Suspended
        };
        self.instance_id = instance_id;
        self.user_name = Some(user_name);
        self.external_id = external_id;
        self.attributes = attributes;
        self.managed = managed;
    }

    async fn create(
        &mut self,
        instance_id: InstanceId,
        profile: UserProfile,
        sink: &EventSink<Self>,
    ) -> Result<(), UserError> {
        if self.status != Status::NotCreated {
            return Err(UserError::AlreadyExists);
        }
        let event = UserEvent::UserCreated {
            instance_id,
            user_name: profile.user_name,
            external_id: profile.external_id,
            attributes: profile.attributes,
            invitation_sent: false,
        };
        sink.write(event, self).await;
        Ok(())
    }

    async fn update(&mut self, profile: UserProfile, cause: &str, sink: &EventSink<Self>) {
        let changes = self.changes_to(&profile);
        if !changes.is_empty() {
            sink.write(UserEvent::UserUpdated { changes }, self).await;
        }
        match (self.status, is_active(&self.attributes)) {
            (Status::Active, false) => {
                let reason = Some(format!("{cause}: active set to false"));
                sink.write(UserEvent::UserSuspended { reason }, self).await
            }
            (Status::Suspended, true) => {
                let reason = Some(format!("{cause}: active no longer false"));
                sink.write(UserEvent::UserReactivated { reason }, self)
                    .await
            }
            _ => {}
        }
    }

    /// Records a change of manager: linked to a user of the instance, or pending until that user
    /// is provisioned, or gone. Naming the same manager again changes nothing.
    async fn manage(&mut self, manager: Option<ManagerRef>, sink: &EventSink<Self>) {
        if self.manager == manager {
            return;
        }
        let event = match (manager, &self.manager) {
            (None, Some(previous)) => UserEvent::ManagerUnlinked {
                reference: previous.reference.clone(),
            },
            (None, None) => return,
            // Still waiting for the same manager: nothing new to record.
            (Some(next), Some(previous))
                if next.manager_id.is_none() && previous.reference == next.reference =>
            {
                return
            }
            (Some(next), _) => match next.manager_id {
                Some(manager_id) => UserEvent::ManagerLinked {
                    reference: next.reference,
                    manager_id,
                },
                None => UserEvent::ManagerPending {
                    reference: next.reference,
                },
            },
        };
        sink.write(event, self).await;
    }

    /// Records which application User fields changed, if any did.
    async fn map(&mut self, mapped: MappedFields, sink: &EventSink<Self>) {
        let changes = changed_fields(&self.mapped, &mapped);
        if !changes.is_empty() {
            sink.write(UserEvent::UserMapped { changes }, self).await;
        }
    }

    /// Records the change an IdP's profile makes to the fields the mapping fills (`filled`),
    /// keeping every other field: those the IdP has no say in, such as an imported account's
    /// own cost centre, must survive its adoption and later updates.
    async fn map_filled(
        &mut self,
        mapped: MappedFields,
        filled: &BTreeSet<String>,
        sink: &EventSink<Self>,
    ) {
        let mut next: MappedFields = self
            .mapped
            .iter()
            .filter(|(field, _)| !filled.contains(*field))
            .map(|(field, value)| (field.clone(), value.clone()))
            .collect();
        next.extend(mapped);
        self.map(next, sink).await;
    }

    /// Refuses commands for users that do not exist for this instance, and edits based on a
    /// version that is no longer current.
    fn ensure_live(
        &self,
        instance_id: &InstanceId,
        expected: Option<u64>,
    ) -> Result<(), UserError> {
        let live = matches!(self.status, Status::Active | Status::Suspended);
        if !live || &self.instance_id != instance_id {
            return Err(UserError::NotFound);
        }
        match expected {
            Some(expected) if expected != self.version => Err(UserError::VersionMismatch {
                expected,
                actual: self.version,
            }),
            _ => Ok(()),
        }
    }

    fn changes_to(&self, profile: &UserProfile) -> Vec<AttributeChange> {
        let mut changes = Vec::new();
        let old_name = self.user_name.as_ref().map(|name| name.as_str());
        if old_name != Some(profile.user_name.as_str()) {
            changes.push(AttributeChange::whole(
                USER_NAME,
                old_name.map(Value::from),
                Some(Value::from(profile.user_name.as_str())),
            ));
        }
        if self.external_id != profile.external_id {
            changes.push(AttributeChange::whole(
                EXTERNAL_ID,
                self.external_id.as_ref().map(|id| Value::from(id.as_str())),
                profile
                    .external_id
                    .as_ref()
                    .map(|id| Value::from(id.as_str())),
            ));
        }
        changes.extend(self.attributes.changes_to(&profile.attributes));
        changes
    }

    fn apply_change(&mut self, change: &AttributeChange) {
        let text = change.new.as_ref().and_then(Value::as_str);
        match change.attribute.as_str() {
            // Stored events are trusted facts: re-parsing them could reject history that
            // was valid under the rules of its day.
            USER_NAME => {
                if let Some(name) = text {
                    self.user_name = Some(UserName::recorded(name));
                }
            }
            EXTERNAL_ID => self.external_id = text.map(ExternalId::recorded),
            _ => self.attributes.apply(change),
        }
    }
}

#[cfg(test)]
mod tests;
