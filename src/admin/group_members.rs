//! A group as an administrator reads it: its name and its members a page at a time, each
//! with its name, for the console's group page.

use super::paging::split_page;
use super::{catch_up, instance, AdminError};
use crate::store::Store;
use projections::group_members::{member_page, member_total, NamedMember};
use projections::scim_groups::{find_group, GroupRecord};

/// Members per page when none is asked for, and the most a page holds.
pub const MEMBER_PAGE: i64 = 50;
pub const MAX_MEMBER_PAGE: i64 = 1000;

/// A page of a group's members.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupMembers {
    pub group: GroupRecord,
    /// How many live members the group has in all.
    pub total: i64,
    pub members: Vec<NamedMember>,
    /// The member id the next page starts after; `None` on the last page.
    pub next: Option<String>,
}

/// The live group `id` of the instance and at most `limit` of its members after the member id
/// `after`.
pub async fn group_members(
    store: &Store,
    instance_name: &str,
    id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<GroupMembers, AdminError> {
    let instance = instance(store, instance_name).await?;
    catch_up(store).await?;
    let group = find_group(&store.db, &instance.id, id)
        .await?
        .ok_or_else(|| AdminError::UnknownId(id.to_string()))?;
    let page = limit.clamp(1, MAX_MEMBER_PAGE);
    let found = member_page(&store.db, &group.id, after, page + 1).await?;
    let (members, next) = split_page(found, page, |member| member.member_id.clone());
    let total = member_total(&store.db, &group.id).await?;
    Ok(GroupMembers {
        group,
        total,
        members,
        next,
    })
}
