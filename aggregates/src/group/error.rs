//! Why a group command was refused.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    /// Never created, deleted, or of another instance: indistinguishable on purpose.
    #[error("group not found")]
    NotFound,
    #[error("group already exists")]
    AlreadyExists,
    #[error("group is already managed by SCIM")]
    AlreadyManaged,
    #[error("group was modified concurrently: expected version {expected}, found {actual}")]
    VersionMismatch { expected: u64, actual: u64 },
    #[error("a group cannot be a member of itself")]
    SelfMembership,
    /// The membership view did not match the loaded version of the group; retrying the
    /// command against fresh state resolves it.
    #[error("the group's membership changed while the command was decided")]
    StaleMembership,
    #[error("the group's members could not be read: {0}")]
    MembershipUnavailable(String),
}
