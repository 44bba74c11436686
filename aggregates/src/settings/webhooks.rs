//! The instance's webhook endpoints as the audit sees them: added, disabled (by a person or, after
//! failing for days, by scimd itself), enabled, deleted, their secret rotated, their delivery
//! replayed. The endpoints table is the working state and the only place a secret is kept; these
//! events are the account of each change and who made it, and never carry a secret.
//!
//! Rules: an endpoint is added once; only a known, undeleted endpoint changes; disabling a
//! disabled endpoint or enabling an enabled one records nothing.

use super::{InstanceSettings, SettingsError, SettingsEvent};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Endpoint {
    id: String,
    url: String,
    enabled: bool,
}

/// The endpoints the events have added and not deleted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Webhooks {
    endpoints: Vec<Endpoint>,
    /// Every id ever added, deleted ones included: an id is never reused.
    #[serde(default)]
    added: Vec<String>,
}

impl Webhooks {
    pub(super) fn apply(&mut self, event: &SettingsEvent) {
        match event {
            SettingsEvent::WebhookEndpointAdded {
                endpoint_id, url, ..
            } => {
                self.added.push(endpoint_id.clone());
                self.endpoints.push(Endpoint {
                    id: endpoint_id.clone(),
                    url: url.clone(),
                    enabled: true,
                });
            }
            SettingsEvent::WebhookEndpointDisabled { endpoint_id, .. } => {
                self.set_enabled(endpoint_id, false)
            }
            SettingsEvent::WebhookEndpointEnabled { endpoint_id } => {
                self.set_enabled(endpoint_id, true)
            }
            SettingsEvent::WebhookEndpointDeleted { endpoint_id, .. } => self
                .endpoints
                .retain(|endpoint| &endpoint.id != endpoint_id),
            _ => {}
        }
    }

    fn set_enabled(&mut self, id: &str, enabled: bool) {
        if let Some(endpoint) = self.endpoints.iter_mut().find(|e| e.id == id) {
            endpoint.enabled = enabled;
        }
    }

    fn endpoint(&self, id: &str) -> Result<&Endpoint, SettingsError> {
        self.endpoints
            .iter()
            .find(|endpoint| endpoint.id == id)
            .ok_or_else(|| SettingsError::UnknownWebhook(id.to_string()))
    }
}

impl InstanceSettings {
    pub(super) fn record_webhook_added(
        &self,
        endpoint_id: String,
        url: String,
        types: Vec<String>,
        description: String,
    ) -> Result<Vec<SettingsEvent>, SettingsError> {
        if self.webhooks.added.contains(&endpoint_id) {
            return Err(SettingsError::WebhookAlreadyAdded(endpoint_id));
        }
        Ok(vec![SettingsEvent::WebhookEndpointAdded {
            endpoint_id,
            url,
            types,
            description,
        }])
    }

    pub(super) fn record_webhook_disabled(
        &self,
        endpoint_id: String,
        reason: String,
    ) -> Result<Vec<SettingsEvent>, SettingsError> {
        if !self.webhooks.endpoint(&endpoint_id)?.enabled {
            return Ok(Vec::new());
        }
        Ok(vec![SettingsEvent::WebhookEndpointDisabled {
            endpoint_id,
            reason,
        }])
    }

    pub(super) fn record_webhook_enabled(
        &self,
        endpoint_id: String,
    ) -> Result<Vec<SettingsEvent>, SettingsError> {
        if self.webhooks.endpoint(&endpoint_id)?.enabled {
            return Ok(Vec::new());
        }
        Ok(vec![SettingsEvent::WebhookEndpointEnabled { endpoint_id }])
    }

    pub(super) fn record_webhook_deleted(
        &self,
        endpoint_id: String,
    ) -> Result<Vec<SettingsEvent>, SettingsError> {
        let url = self.webhooks.endpoint(&endpoint_id)?.url.clone();
        Ok(vec![SettingsEvent::WebhookEndpointDeleted {
            endpoint_id,
            url,
        }])
    }

    pub(super) fn record_secret_rotated(
        &self,
        endpoint_id: String,
        previous_expires_at: String,
    ) -> Result<Vec<SettingsEvent>, SettingsError> {
        self.webhooks.endpoint(&endpoint_id)?;
        Ok(vec![SettingsEvent::WebhookSecretRotated {
            endpoint_id,
            previous_expires_at,
        }])
    }

    pub(super) fn record_webhook_replayed(
        &self,
        endpoint_id: String,
        from: String,
    ) -> Result<Vec<SettingsEvent>, SettingsError> {
        self.webhooks.endpoint(&endpoint_id)?;
        Ok(vec![SettingsEvent::WebhookEndpointReplayed {
            endpoint_id,
            from,
        }])
    }
}
