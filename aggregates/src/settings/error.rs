//! Why a settings command was refused; each message is meant for the administrator.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("a field name must be 1 to {max} characters, without control characters", max = super::MAX_FIELD_NAME)]
    InvalidFieldName,
    #[error("the User entity already has a field called {0:?}")]
    FieldExists(String),
    #[error("there is no text field {field:?}; mappable fields are: {fields}")]
    UnknownField { field: String, fields: String },
    #[error("{0:?} is read-only: it identifies the account and is always filled from userName")]
    ReadOnlyField(String),
    #[error("{0:?} is not mapped")]
    NotMapped(String),
    #[error("a role name must be 1 to {max} characters, without control characters", max = super::MAX_ROLE_NAME)]
    InvalidRoleName,
    #[error("at least one role must be allowed")]
    NoRoles,
    #[error("default role {role:?} is not allowed; allowed roles are: {allowed}")]
    DefaultRoleNotAllowed { role: String, allowed: String },
    #[error("the instance's creation is recorded already")]
    InstanceAlreadyCreated,
    #[error("key {0:?} was issued already")]
    KeyAlreadyIssued(String),
    #[error("key {0:?} is already revoked")]
    KeyAlreadyRevoked(String),
    #[error("webhook endpoint {0:?} was added already")]
    WebhookAlreadyAdded(String),
    #[error("the instance has no webhook endpoint {0:?}")]
    UnknownWebhook(String),
}
