//! Why a provisioning request could not be carried out.

use crate::store::CommandError;
use projections::db::DbError;
use projections::error::ProjectionError;

#[derive(Debug, thiserror::Error)]
pub enum ProvisioningError {
    #[error("not found")]
    NotFound,
    #[error("userName is taken")]
    UserNameTaken,
    #[error("group displayName is taken")]
    GroupNameTaken,
    #[error("If-Match does not name the current version")]
    PreconditionFailed,
    #[error("unknown members: {0:?}")]
    UnknownMembers(Vec<String>),
    #[error("a group cannot contain itself")]
    SelfMembership,
    #[error("roles not allowed: {refused:?}")]
    RolesNotAllowed {
        refused: Vec<String>,
        allowed: Vec<String>,
    },
    #[error("concurrent modification")]
    ConcurrentModification,
    #[error(transparent)]
    Lagging(ProjectionError),
    #[error("{0}")]
    Store(String),
}

impl From<DbError> for ProvisioningError {
    fn from(error: DbError) -> Self {
        Self::Store(error.to_string())
    }
}

impl From<ProjectionError> for ProvisioningError {
    fn from(error: ProjectionError) -> Self {
        match error {
            ProjectionError::Lagging { .. } => Self::Lagging(error),
            other => Self::Store(other.to_string()),
        }
    }
}

impl<E: std::error::Error> From<CommandError<E>> for ProvisioningError {
    /// Domain refusals are mapped by the caller, which knows what they mean for its request;
    /// what remains here is infrastructure.
    fn from(error: CommandError<E>) -> Self {
        match error {
            CommandError::Conflict => Self::ConcurrentModification,
            other => Self::Store(other.to_string()),
        }
    }
}
