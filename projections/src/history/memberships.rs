//! The members each group has now, as its member changes left them, so that a group's
//! deletion, whose event names no member, is in the history of every member it still had:
//! the deletion's entry once per member, naming it by its name then, in
//! `history_group_deletions` (a member's history reads it beside `history_entries`). The cost
//! is one row per member change, and one read of the group's members at its deletion.

use super::{Entry, Named};
use crate::db::{Sql, Tx};
use crate::error::ProjectionError;
use aggregates::group::GroupEvent;

#[derive(sqlx::FromRow, serde::Deserialize)]
struct Remaining {
    member_id: String,
    member_type: String,
    name: Option<String>,
}

/// Keeps the members of `entry`'s group up to date with `event`.
pub(super) async fn apply(
    tx: &mut Tx,
    entry: &Entry<'_>,
    event: &GroupEvent,
) -> Result<(), ProjectionError> {
    let group_id = entry.recorded.aggregate_id.as_str();
    match event {
        GroupEvent::GroupMemberAdded { member } => {
            let add = Sql::new(
                "INSERT INTO history_group_members (group_id, member_id, member_type)
                 VALUES ($1, $2, $3) ON CONFLICT (group_id, member_id) DO NOTHING",
            )
            .bind(group_id)
            .bind(member.id.as_str())
            .bind(member.kind.as_str());
            tx.defer(add).await?;
        }
        GroupEvent::GroupMemberRemoved { member } => {
            let remove = Sql::new(
                "DELETE FROM history_group_members WHERE group_id = $1 AND member_id = $2",
            )
            .bind(group_id)
            .bind(member.id.as_str());
            tx.defer(remove).await?;
        }
        GroupEvent::GroupDeleted => {
            // Every name change so far is written (a read sends what was deferred): each
            // member's latest name is its name at the deletion.
            let members = Sql::new(
                "SELECT m.member_id, m.member_type, n.name
                   FROM history_group_members m
                   LEFT JOIN history_names n ON n.entity_id = m.member_id
                  WHERE m.group_id = $1",
            )
            .bind(group_id);
            let remaining: Vec<Remaining> = tx.fetch_all(&members).await?;
            for member in &remaining {
                let named = Named {
                    kind: &member.member_type,
                    id: &member.member_id,
                    name: member.name.as_deref(),
                };
                tx.defer_row(entry.insert("history_group_deletions", Some(&named)))
                    .await?;
            }
            let empty =
                Sql::new("DELETE FROM history_group_members WHERE group_id = $1").bind(group_id);
            tx.defer(empty).await?;
        }
        _ => {}
    }
    Ok(())
}
