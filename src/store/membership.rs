//! The Group aggregate's view of its members, answered from the membership read model.
//!
//! The aggregate asks for its members as of the version it loaded. The read model is behind
//! when it has not yet applied that version (wait for it), and ahead when another command
//! committed since (tell the aggregate, which is then reloaded).

use aggregates::group::{Member, MemberId, MemberKind, MembershipReadError, MembershipReader};
use async_trait::async_trait;
use projections::db::Db;
use projections::runner::Projector;
use projections::scim_groups::membership_snapshot;
use std::sync::Arc;

pub struct ProjectedMembership {
    db: Db,
    projector: Arc<Projector>,
}

impl ProjectedMembership {
    pub fn new(db: Db, projector: Arc<Projector>) -> Self {
        Self { db, projector }
    }
}

/// Reading, waiting, reading again: twice is enough unless writers keep racing.
const READS: usize = 3;

#[async_trait]
impl MembershipReader for ProjectedMembership {
    async fn members(
        &self,
        group_id: &str,
        version: u64,
        among: Option<&[MemberId]>,
    ) -> Result<Vec<Member>, MembershipReadError> {
        let unavailable =
            |error: &dyn std::fmt::Display| MembershipReadError::Unavailable(error.to_string());
        let among: Option<Vec<String>> =
            among.map(|ids| ids.iter().map(|id| id.as_str().to_string()).collect());
        let wanted = i64::try_from(version).unwrap_or(i64::MAX);
        for _ in 0..READS {
            let snapshot = membership_snapshot(&self.db, group_id, among.as_deref())
                .await
                .map_err(|error| unavailable(&error))?;
            match snapshot {
                Some(snapshot) if snapshot.version == wanted => {
                    return Ok(snapshot
                        .members
                        .into_iter()
                        .map(|(id, kind)| Member {
                            id: MemberId::new(id),
                            kind: if kind == "Group" {
                                MemberKind::Group
                            } else {
                                MemberKind::User
                            },
                        })
                        .collect());
                }
                Some(snapshot) if snapshot.version > wanted => {
                    return Err(MembershipReadError::Ahead { version });
                }
                _ => self
                    .projector
                    .wait_for_aggregate("Group", group_id)
                    .await
                    .map_err(|error| unavailable(&error))?,
            }
        }
        Err(MembershipReadError::Unavailable(format!(
            "the membership of group {group_id} did not reach version {version}"
        )))
    }
}
