//! Who may reach an instance: its creation and the API keys issued and revoked for it. The
//! instances and keys tables stay the lookup (a key's digest must never reach the event log);
//! these events are the audited account of each change, with who made it, in the instance's
//! hash-chained log.
//!
//! Instances and keys made before these events existed have none: a revocation of such a key
//! is recorded all the same, once.

use super::{InstanceSettings, SettingsError, SettingsEvent};
use serde::{Deserialize, Serialize};

/// What the events say of the instance's access, enough to refuse recording a fact twice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Access {
    created: bool,
    issued: Vec<String>,
    revoked: Vec<String>,
}

impl Access {
    pub(super) fn apply(&mut self, event: &SettingsEvent) {
        match event {
            SettingsEvent::InstanceCreated { .. } => self.created = true,
            SettingsEvent::KeyIssued { key_id, .. } => self.issued.push(key_id.clone()),
            SettingsEvent::KeyRevoked { key_id, .. } => self.revoked.push(key_id.clone()),
            _ => {}
        }
    }
}

impl InstanceSettings {
    pub(super) fn record_created(&self, name: String) -> Result<SettingsEvent, SettingsError> {
        if self.access.created {
            return Err(SettingsError::InstanceAlreadyCreated);
        }
        Ok(SettingsEvent::InstanceCreated { name })
    }

    pub(super) fn record_issued(
        &self,
        key_id: String,
        integration_user: String,
    ) -> Result<SettingsEvent, SettingsError> {
        if self.access.issued.contains(&key_id) {
            return Err(SettingsError::KeyAlreadyIssued(key_id));
        }
        Ok(SettingsEvent::KeyIssued {
            key_id,
            integration_user,
        })
    }

    pub(super) fn record_revoked(
        &self,
        key_id: String,
        integration_user: String,
    ) -> Result<SettingsEvent, SettingsError> {
        if self.access.revoked.contains(&key_id) {
            return Err(SettingsError::KeyAlreadyRevoked(key_id));
        }
        Ok(SettingsEvent::KeyRevoked {
            key_id,
            integration_user,
        })
    }
}
