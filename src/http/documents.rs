//! Read-model records rendered as SCIM documents, with the attribute that lives in the
//! membership table rather than in their own rows (a user's `groups`, a group's `members`)
//! read in one query for all of them, and only when asked for. Single resources and list
//! pages render the same way.

use super::router::AppState;
use crate::scim::error::ScimError;
use crate::scim::render;
use crate::scim::schema::ResourceType;
use projections::scim_groups::{GroupRecord, MembershipRecord};
use projections::scim_users::UserRecord;
use serde_json::Value;
use std::collections::HashMap;

/// The attribute of a resource type read from the membership table.
pub fn related(resource_type: ResourceType) -> &'static str {
    match resource_type {
        ResourceType::User => "groups",
        ResourceType::Group => "members",
    }
}

/// The users, each with its groups when `with_groups`.
pub async fn users(
    state: &AppState,
    records: &[UserRecord],
    base: &str,
    with_groups: bool,
) -> Result<Vec<Value>, ScimError> {
    let groups = match records.first() {
        Some(first) if with_groups => {
            let ids: Vec<String> = records.iter().map(|record| record.id.clone()).collect();
            state
                .provisioning
                .groups_of_users(&first.instance_id, &ids)
                .await?
        }
        _ => HashMap::new(),
    };
    Ok(render_users(records, base, with_groups.then_some(&groups)))
}

/// The users, each with its groups from `groups` (by user id) when given.
pub fn render_users(
    records: &[UserRecord],
    base: &str,
    groups: Option<&HashMap<String, Vec<MembershipRecord>>>,
) -> Vec<Value> {
    records
        .iter()
        .map(|record| {
            let user_groups = groups.map(|groups| {
                groups
                    .get(&record.id)
                    .map(Vec::as_slice)
                    .unwrap_or_default()
            });
            render::user(record, user_groups, base)
        })
        .collect()
}

/// The groups, each with its members when `with_members`.
pub async fn groups(
    state: &AppState,
    records: &[GroupRecord],
    base: &str,
    with_members: bool,
) -> Result<Vec<Value>, ScimError> {
    let members = if with_members && !records.is_empty() {
        let ids: Vec<String> = records.iter().map(|record| record.id.clone()).collect();
        state.provisioning.members_of_groups(&ids).await?
    } else {
        HashMap::new()
    };
    Ok(records
        .iter()
        .map(|record| {
            let group_members = with_members.then(|| {
                members
                    .get(&record.id)
                    .map(Vec::as_slice)
                    .unwrap_or_default()
            });
            render::group(record, group_members, base)
        })
        .collect())
}
