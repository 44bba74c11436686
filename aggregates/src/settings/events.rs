//! What happened to an instance's settings: each change with what it replaced, for the audit.

use super::mapping::MappingRow;
use crate::EVENT_VERSION;
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SettingsEvent {
    FieldAdded {
        name: String,
    },
    MappingSet {
        field: String,
        attribute: String,
        previous: Option<String>,
    },
    MappingDeleted {
        field: String,
        attribute: String,
    },
    MappingsReset {
        previous: Vec<MappingRow>,
        mapping: Vec<MappingRow>,
    },
    /// `previous` is empty when any role was allowed before.
    AllowedRolesSet {
        previous: Vec<String>,
        roles: Vec<String>,
    },
    AnyRoleAllowed {
        previous: Vec<String>,
    },
    DefaultRolesSet {
        previous: Vec<String>,
        roles: Vec<String>,
    },
    /// The instance was created under `name`.
    InstanceCreated {
        name: String,
    },
    /// An API key was issued for `integration_user`; its secret is in no event.
    KeyIssued {
        key_id: String,
        integration_user: String,
    },
    KeyRevoked {
        key_id: String,
        integration_user: String,
    },
    /// A webhook endpoint was added; its signing secret is in no event. `types` empty: every
    /// type.
    WebhookEndpointAdded {
        endpoint_id: String,
        url: String,
        types: Vec<String>,
        description: String,
    },
    /// Deliveries stopped: by a person, or by scimd itself after days of failure.
    WebhookEndpointDisabled {
        endpoint_id: String,
        reason: String,
    },
    WebhookEndpointEnabled {
        endpoint_id: String,
    },
    WebhookEndpointDeleted {
        endpoint_id: String,
        url: String,
    },
    /// A new signing secret; the previous one signs too until `previous_expires_at`.
    WebhookSecretRotated {
        endpoint_id: String,
        previous_expires_at: String,
    },
    /// Delivery was set back to resume with the feed event `from` (an event id or a cursor).
    WebhookEndpointReplayed {
        endpoint_id: String,
        from: String,
    },
}

impl DomainEvent for SettingsEvent {
    fn event_type(&self) -> String {
        match self {
            Self::FieldAdded { .. } => "FieldAdded",
            Self::MappingSet { .. } => "MappingSet",
            Self::MappingDeleted { .. } => "MappingDeleted",
            Self::MappingsReset { .. } => "MappingsReset",
            Self::AllowedRolesSet { .. } => "AllowedRolesSet",
            Self::AnyRoleAllowed { .. } => "AnyRoleAllowed",
            Self::DefaultRolesSet { .. } => "DefaultRolesSet",
            Self::InstanceCreated { .. } => "InstanceCreated",
            Self::KeyIssued { .. } => "KeyIssued",
            Self::KeyRevoked { .. } => "KeyRevoked",
            Self::WebhookEndpointAdded { .. } => "WebhookEndpointAdded",
            Self::WebhookEndpointDisabled { .. } => "WebhookEndpointDisabled",
            Self::WebhookEndpointEnabled { .. } => "WebhookEndpointEnabled",
            Self::WebhookEndpointDeleted { .. } => "WebhookEndpointDeleted",
            Self::WebhookSecretRotated { .. } => "WebhookSecretRotated",
            Self::WebhookEndpointReplayed { .. } => "WebhookEndpointReplayed",
        }
        .to_string()
    }

    fn event_version(&self) -> String {
        EVENT_VERSION.to_string()
    }
}
