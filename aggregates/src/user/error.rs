//! Why a user command was refused.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    /// Never created, deleted, or of another instance: indistinguishable on purpose.
    #[error("user not found")]
    NotFound,
    #[error("user already exists")]
    AlreadyExists,
    #[error("user is already managed by SCIM")]
    AlreadyManaged,
    #[error("user was modified concurrently: expected version {expected}, found {actual}")]
    VersionMismatch { expected: u64, actual: u64 },
}
