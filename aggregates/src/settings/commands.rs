//! What an administrator can ask of an instance's settings.

#[derive(Debug, Clone, PartialEq)]
pub enum SettingsCommand {
    /// Add a custom text field to the instance's User entity.
    AddField {
        name: String,
    },
    /// Fill `field` (standard or custom text) from the SCIM attribute path `attribute`, which
    /// the protocol layer has checked.
    SetMapping {
        field: String,
        attribute: String,
    },
    /// Stop filling `field` from SCIM.
    DeleteMapping {
        field: String,
    },
    /// Return to the default mapping.
    ResetMappings,
    /// The roles a provisioned user may have; the defaults must stay among them.
    AllowRoles {
        roles: Vec<String>,
    },
    /// Any role at all, for an application without role semantics (or a conformance run).
    AllowAnyRole,
    /// The roles a user provisioned without roles receives.
    SetDefaultRoles {
        roles: Vec<String>,
    },
    /// Record that the instance was created (its row is the lookup; this is the audit).
    RecordInstanceCreated {
        name: String,
    },
    /// Record that an API key was issued; never its secret.
    RecordKeyIssued {
        key_id: String,
        integration_user: String,
    },
    /// Record that an API key was revoked.
    RecordKeyRevoked {
        key_id: String,
        integration_user: String,
    },
    /// Record that a webhook endpoint was added; never its secret.
    RecordWebhookEndpointAdded {
        endpoint_id: String,
        url: String,
        types: Vec<String>,
        description: String,
    },
    RecordWebhookEndpointDisabled {
        endpoint_id: String,
        reason: String,
    },
    RecordWebhookEndpointEnabled {
        endpoint_id: String,
    },
    RecordWebhookEndpointDeleted {
        endpoint_id: String,
    },
    /// Record that an endpoint's secret was replaced; never either secret.
    RecordWebhookSecretRotated {
        endpoint_id: String,
        previous_expires_at: String,
    },
    RecordWebhookEndpointReplayed {
        endpoint_id: String,
        from: String,
    },
}
