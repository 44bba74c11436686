//! Why a projection could not be brought up to date.

use crate::db::DbError;
use crate::event_log::{Position, RecordedEvent};

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("event at {position} could not be read: {reason}")]
    UnreadableEvent { position: Position, reason: String },
    #[error("projection {projection} has no row for {aggregate} {id} (event at {position})")]
    MissingRow {
        projection: &'static str,
        aggregate: &'static str,
        id: String,
        position: Position,
    },
    #[error("the read model did not catch up with position {target} in time")]
    Lagging { target: Position },
}

impl ProjectionError {
    /// `projection` has no row for the user or group `recorded` changes.
    pub fn missing_row(
        projection: &'static str,
        aggregate: &'static str,
        recorded: &RecordedEvent,
    ) -> Self {
        Self::MissingRow {
            projection,
            aggregate,
            id: recorded.aggregate_id.clone(),
            position: recorded.position,
        }
    }
}
