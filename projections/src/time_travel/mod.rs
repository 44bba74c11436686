//! Time travel: a user or group as the SCIM read model showed it at a past moment, derived by
//! folding the events that had happened by then through the same row changes the live
//! projections apply. Reads the events of the entities concerned only (see `read`).

mod fold;
mod read;

pub use fold::{created_in, fold_group, fold_user, listed_members, memberships, AsOf, Cut};
pub use read::{cut_at, cut_statement};

use crate::db::Db;
use crate::error::ProjectionError;
use crate::event_log::RecordedEvent;
use crate::scim_groups::{GroupRecord, GroupState, MemberRecord, MembershipRecord};
use crate::scim_users::UserRecord;
use aggregates::group::Group;
use aggregates::user::User;
use cqrs_es::Aggregate;

/// A user as the read model held it: its row and the groups it directly belonged to.
#[derive(Debug, Clone, PartialEq)]
pub struct UserAsOf {
    pub record: UserRecord,
    pub groups: Vec<MembershipRecord>,
}

/// A group as the read model held it: its row and the members it listed.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupAsOf {
    pub record: GroupRecord,
    pub members: Vec<MemberRecord>,
}

/// User `id` of `instance_id` as of `cut`; `None` if that instance never
/// had such a user.
pub async fn user_as_of(
    db: &Db,
    instance_id: &str,
    id: &str,
    cut: Cut,
) -> Result<Option<AsOf<UserAsOf>>, ProjectionError> {
    let Some(row) = user_row_as_of(db, instance_id, id, cut).await? else {
        return Ok(None);
    };
    let record = match row.into_live() {
        Ok(record) => record,
        Err(absent) => return Ok(Some(absent)),
    };
    // The groups it ever joined, each read as its own events plus those about this member:
    // enough to know the group's name and whether the member was in it, without its other
    // members.
    let mut group_events = read::member_events(db, id).await?;
    let mut group_ids: Vec<String> = group_events
        .iter()
        .map(|recorded| recorded.aggregate_id.clone())
        .collect();
    group_ids.dedup();
    group_events.extend(read::group_own_events(db, &group_ids).await?);
    group_events.sort_by(|a, b| (&a.aggregate_id, a.sequence).cmp(&(&b.aggregate_id, b.sequence)));
    let groups = memberships(id, &record.instance_id, &group_events, cut)?;
    Ok(Some(AsOf::Live(UserAsOf { record, groups })))
}

/// User `id`'s row as of `cut`, without its groups; `None` if `instance_id` never had such
/// a user.
pub async fn user_row_as_of(
    db: &Db,
    instance_id: &str,
    id: &str,
    cut: Cut,
) -> Result<Option<AsOf<UserRecord>>, ProjectionError> {
    let Some(events) = of_instance(
        read::aggregate_events(db, User::TYPE, id).await?,
        instance_id,
    ) else {
        return Ok(None);
    };
    fold_user(&events, cut).map(Some)
}

/// Group `id` of `instance_id` as of `cut`; `None` if that instance never
/// had such a group. Folds every event of the group up to then: its cost grows with the
/// group's history.
pub async fn group_as_of(
    db: &Db,
    instance_id: &str,
    id: &str,
    cut: Cut,
) -> Result<Option<AsOf<GroupAsOf>>, ProjectionError> {
    let Some(events) = of_instance(
        read::aggregate_events(db, Group::TYPE, id).await?,
        instance_id,
    ) else {
        return Ok(None);
    };
    let group = match fold_group(&events, cut)?.into_live() {
        Ok(group) => group,
        Err(absent) => return Ok(Some(absent)),
    };
    let member_ids: Vec<String> = group.members.keys().cloned().collect();
    let deleted = read::deleted_among(db, &member_ids, cut).await?;
    let members = listed_members(&group, &deleted);
    Ok(Some(AsOf::Live(GroupAsOf {
        record: group.row,
        members,
    })))
}

/// Group `id`'s displayName as of `cut`, from its own events only (not its member changes);
/// `None` if `instance_id` never had such a group.
pub async fn group_name_as_of(
    db: &Db,
    instance_id: &str,
    id: &str,
    cut: Cut,
) -> Result<Option<AsOf<String>>, ProjectionError> {
    let Some(events) = of_instance(
        read::group_own_events(db, &[id.to_string()]).await?,
        instance_id,
    ) else {
        return Ok(None);
    };
    Ok(Some(
        fold_group(&events, cut)?.map(|group: GroupState| group.row.display_name),
    ))
}

/// The events, if they are those of an aggregate created in `instance_id`: another instance's
/// ids name nothing there.
fn of_instance(events: Vec<RecordedEvent>, instance_id: &str) -> Option<Vec<RecordedEvent>> {
    (created_in(&events) == Some(instance_id)).then_some(events)
}
