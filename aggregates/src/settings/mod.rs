//! The settings of one instance (aggregate id: the instance id): its User entity's custom
//! fields, the mapping of SCIM attributes onto the entity's fields, and the roles provisioned
//! users may have. Every change is an event, so the change history shows who changed a mapping
//! or a role and when, like any change to a user.
//!
//! The instance's creation and the API keys issued and revoked for it are events here too
//! (`access`), so that the history says who gave or took an IdP's access; so are the changes
//! to its webhook endpoints (`webhooks`), without their secrets.
//!
//! An instance without any settings event has the defaults: the default mapping, and the role
//! `User` both allowed and given by default.

mod access;
mod commands;
mod error;
mod events;
pub mod mapping;
pub mod roles;
mod webhooks;

pub use commands::SettingsCommand;
pub use error::SettingsError;
pub use events::SettingsEvent;

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use mapping::{default_mapping, standard_field, MappingRow, STANDARD_FIELDS};
use serde::{Deserialize, Serialize};

/// The role every instance allows and gives until told otherwise.
pub const DEFAULT_ROLE: &str = "User";
pub const MAX_FIELD_NAME: usize = 64;
pub const MAX_ROLE_NAME: usize = 64;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceSettings {
    custom_fields: Vec<String>,
    mapping: Vec<MappingRow>,
    /// Empty when any role is allowed.
    allowed_roles: Vec<String>,
    default_roles: Vec<String>,
    #[serde(default)]
    access: access::Access,
    #[serde(default)]
    webhooks: webhooks::Webhooks,
}

impl Default for InstanceSettings {
    fn default() -> Self {
        Self {
            custom_fields: Vec::new(),
            mapping: default_mapping(),
            allowed_roles: vec![DEFAULT_ROLE.to_string()],
            default_roles: vec![DEFAULT_ROLE.to_string()],
            access: access::Access::default(),
            webhooks: webhooks::Webhooks::default(),
        }
    }
}

impl Aggregate for InstanceSettings {
    const TYPE: &'static str = "InstanceSettings";
    type Command = SettingsCommand;
    type Event = SettingsEvent;
    type Error = SettingsError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        self.access.apply(&event);
        self.webhooks.apply(&event);
        match event {
            SettingsEvent::FieldAdded { name } => self.custom_fields.push(name),
            SettingsEvent::MappingSet {
                field, attribute, ..
            } => match self.mapping.iter_mut().find(|row| row.field == field) {
                Some(row) => row.attribute = attribute,
                None => self.mapping.push(MappingRow { attribute, field }),
            },
            SettingsEvent::MappingDeleted { field, .. } => {
                self.mapping.retain(|row| row.field != field)
            }
            SettingsEvent::MappingsReset { mapping, .. } => self.mapping = mapping,
            SettingsEvent::AllowedRolesSet { roles, .. } => self.allowed_roles = roles,
            SettingsEvent::AnyRoleAllowed { .. } => self.allowed_roles.clear(),
            SettingsEvent::DefaultRolesSet { roles, .. } => self.default_roles = roles,
            SettingsEvent::InstanceCreated { .. }
            | SettingsEvent::KeyIssued { .. }
            | SettingsEvent::KeyRevoked { .. }
            | SettingsEvent::WebhookEndpointAdded { .. }
            | SettingsEvent::WebhookEndpointDisabled { .. }
            | SettingsEvent::WebhookEndpointEnabled { .. }
            | SettingsEvent::WebhookEndpointDeleted { .. }
            | SettingsEvent::WebhookSecretRotated { .. }
            | SettingsEvent::WebhookEndpointReplayed { .. } => {}
        }
    }
}

impl InstanceSettings {
    /// The events a command leads to; none when it changes nothing.
    fn decide(&self, command: SettingsCommand) -> Result<Vec<SettingsEvent>, SettingsError> {
        Ok(match command {
            SettingsCommand::AddField { name } => {
                let name =
                    checked_name(&name, MAX_FIELD_NAME).ok_or(SettingsError::InvalidFieldName)?;
                if let Some(existing) = self.field(&name) {
                    return Err(SettingsError::FieldExists(existing));
                }
                vec![SettingsEvent::FieldAdded { name }]
            }
            SettingsCommand::SetMapping { field, attribute } => {
                let field = self.writable_field(&field)?;
                let previous = self.mapped_attribute(&field);
                if previous.as_deref() == Some(attribute.as_str()) {
                    return Ok(Vec::new());
                }
                vec![SettingsEvent::MappingSet {
                    field,
                    attribute,
                    previous,
                }]
            }
            SettingsCommand::DeleteMapping { field } => {
                let field = self.writable_field(&field)?;
                let attribute = self
                    .mapped_attribute(&field)
                    .ok_or_else(|| SettingsError::NotMapped(field.clone()))?;
                vec![SettingsEvent::MappingDeleted { field, attribute }]
            }
            SettingsCommand::ResetMappings => {
                let mapping = default_mapping();
                if self.mapping == mapping {
                    return Ok(Vec::new());
                }
                vec![SettingsEvent::MappingsReset {
                    previous: self.mapping.clone(),
                    mapping,
                }]
            }
            SettingsCommand::AllowRoles { roles } => {
                let roles = checked_roles(&roles)?;
                if roles.is_empty() {
                    return Err(SettingsError::NoRoles);
                }
                if let Some(role) = self
                    .default_roles
                    .iter()
                    .find(|role| !contains_role(&roles, role))
                {
                    return Err(SettingsError::DefaultRoleNotAllowed {
                        role: role.clone(),
                        allowed: roles.join(", "),
                    });
                }
                if roles == self.allowed_roles {
                    return Ok(Vec::new());
                }
                vec![SettingsEvent::AllowedRolesSet {
                    previous: self.allowed_roles.clone(),
                    roles,
                }]
            }
            SettingsCommand::AllowAnyRole => {
                if self.allows_any_role() {
                    return Ok(Vec::new());
                }
                vec![SettingsEvent::AnyRoleAllowed {
                    previous: self.allowed_roles.clone(),
                }]
            }
            SettingsCommand::SetDefaultRoles { roles } => {
                let mut defaults = Vec::new();
                for role in checked_roles(&roles)? {
                    let canonical = self.allowed_role(&role).ok_or_else(|| {
                        SettingsError::DefaultRoleNotAllowed {
                            role: role.clone(),
                            allowed: self.allowed_roles.join(", "),
                        }
                    })?;
                    defaults.push(canonical);
                }
                if defaults == self.default_roles {
                    return Ok(Vec::new());
                }
                vec![SettingsEvent::DefaultRolesSet {
                    previous: self.default_roles.clone(),
                    roles: defaults,
                }]
            }
            SettingsCommand::RecordInstanceCreated { name } => vec![self.record_created(name)?],
            SettingsCommand::RecordKeyIssued {
                key_id,
                integration_user,
            } => vec![self.record_issued(key_id, integration_user)?],
            SettingsCommand::RecordKeyRevoked {
                key_id,
                integration_user,
            } => vec![self.record_revoked(key_id, integration_user)?],
            SettingsCommand::RecordWebhookEndpointAdded {
                endpoint_id,
                url,
                types,
                description,
            } => self.record_webhook_added(endpoint_id, url, types, description)?,
            SettingsCommand::RecordWebhookEndpointDisabled {
                endpoint_id,
                reason,
            } => self.record_webhook_disabled(endpoint_id, reason)?,
            SettingsCommand::RecordWebhookEndpointEnabled { endpoint_id } => {
                self.record_webhook_enabled(endpoint_id)?
            }
            SettingsCommand::RecordWebhookEndpointDeleted { endpoint_id } => {
                self.record_webhook_deleted(endpoint_id)?
            }
            SettingsCommand::RecordWebhookSecretRotated {
                endpoint_id,
                previous_expires_at,
            } => self.record_secret_rotated(endpoint_id, previous_expires_at)?,
            SettingsCommand::RecordWebhookEndpointReplayed { endpoint_id, from } => {
                self.record_webhook_replayed(endpoint_id, from)?
            }
        })
    }

    pub fn custom_fields(&self) -> &[String] {
        &self.custom_fields
    }

    pub fn mapping(&self) -> &[MappingRow] {
        &self.mapping
    }

    /// The allowed roles; empty when any role is allowed.
    pub fn allowed_roles(&self) -> &[String] {
        &self.allowed_roles
    }

    pub fn allows_any_role(&self) -> bool {
        self.allowed_roles.is_empty()
    }

    pub fn default_roles(&self) -> &[String] {
        &self.default_roles
    }

    /// The allowed role `role` names (any case), in its canonical spelling.
    pub fn allowed_role(&self, role: &str) -> Option<String> {
        if self.allows_any_role() {
            return Some(role.trim().to_string());
        }
        self.allowed_roles
            .iter()
            .find(|allowed| allowed.eq_ignore_ascii_case(role.trim()))
            .cloned()
    }

    /// The roles a user provisioned with `requested` ends up with: the defaults when it asked
    /// for none, else the requested ones, each of which must be allowed. `Err` lists those that
    /// are not.
    pub fn roles_for(&self, requested: &[String]) -> Result<Vec<String>, Vec<String>> {
        if requested.is_empty() {
            return Ok(self.default_roles.clone());
        }
        let refused: Vec<String> = requested
            .iter()
            .filter(|role| self.allowed_role(role).is_none())
            .cloned()
            .collect();
        if refused.is_empty() {
            Ok(requested.to_vec())
        } else {
            Err(refused)
        }
    }

    /// Every text field of the User entity, standard then custom.
    pub fn fields(&self) -> Vec<String> {
        STANDARD_FIELDS
            .iter()
            .map(|field| (*field).to_string())
            .chain(self.custom_fields.iter().cloned())
            .collect()
    }

    /// The field named `name` (any case), standard or custom, in its canonical spelling.
    fn field(&self, name: &str) -> Option<String> {
        standard_field(name).map(str::to_string).or_else(|| {
            self.custom_fields
                .iter()
                .find(|field| field.eq_ignore_ascii_case(name.trim()))
                .cloned()
        })
    }

    /// A field whose mapping may change: it exists and is not the read-only User Name.
    fn writable_field(&self, name: &str) -> Result<String, SettingsError> {
        let field = self
            .field(name)
            .ok_or_else(|| SettingsError::UnknownField {
                field: name.to_string(),
                fields: self.fields().join(", "),
            })?;
        if field == mapping::USER_NAME_FIELD {
            return Err(SettingsError::ReadOnlyField(field));
        }
        Ok(field)
    }

    fn mapped_attribute(&self, field: &str) -> Option<String> {
        self.mapping
            .iter()
            .find(|row| row.field == field)
            .map(|row| row.attribute.clone())
    }
}

fn checked_name(name: &str, max: usize) -> Option<String> {
    let name = name.trim();
    let fits = !name.is_empty() && name.chars().count() <= max;
    (fits && !name.chars().any(char::is_control)).then(|| name.to_string())
}

/// The roles as given, trimmed, each once (ignoring case), in order.
fn checked_roles(roles: &[String]) -> Result<Vec<String>, SettingsError> {
    let mut checked: Vec<String> = Vec::new();
    for role in roles {
        let role = checked_name(role, MAX_ROLE_NAME).ok_or(SettingsError::InvalidRoleName)?;
        if !contains_role(&checked, &role) {
            checked.push(role);
        }
    }
    Ok(checked)
}

fn contains_role(roles: &[String], role: &str) -> bool {
    roles.iter().any(|r| r.eq_ignore_ascii_case(role))
}

#[cfg(test)]
mod tests;
