//! Folding recorded events into the read-model rows they had produced by a moment: the same
//! row changes the live projections apply (`UserRowChange`, `GroupRowChange`), applied in
//! memory to the events before the log's cut for that moment (see `Cut`). Pure: the events
//! come in, rows go out.

use crate::error::ProjectionError;
use crate::event_log::{DomainEvent, Position, RecordedEvent};
use crate::scim_groups::{group_row_change, GroupState, MemberRecord, MembershipRecord};
use crate::scim_users::{user_row_change, UserRecord};
use aggregates::group::GroupEvent;
use aggregates::user::UserEvent;
use aggregates::values::case_insensitive_key;
use std::collections::HashSet;

/// What an entity was at a moment.
#[derive(Debug, Clone, PartialEq)]
pub enum AsOf<T> {
    /// Nothing had happened to it yet.
    NotYetCreated,
    Live(T),
    /// It had been deleted, at `deleted_at`.
    Deleted {
        deleted_at: String,
    },
}

impl<T> AsOf<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> AsOf<U> {
        match self {
            Self::NotYetCreated => AsOf::NotYetCreated,
            Self::Live(value) => AsOf::Live(f(value)),
            Self::Deleted { deleted_at } => AsOf::Deleted { deleted_at },
        }
    }

    /// The live value, or the absence as an `AsOf` of any other type.
    pub fn into_live<U>(self) -> Result<T, AsOf<U>> {
        match self {
            Self::Live(value) => Ok(value),
            Self::NotYetCreated => Err(AsOf::NotYetCreated),
            Self::Deleted { deleted_at } => Err(AsOf::Deleted { deleted_at }),
        }
    }

    pub fn live(self) -> Option<T> {
        match self {
            Self::Live(value) => Some(value),
            _ => None,
        }
    }
}

/// Where the event log is cut for a moment: what an as-of view folds is always a prefix of the
/// log in the order the projector applies it, so that it shows a state the read model held.
///
/// An event's `occurred_at` is stamped before its command runs and kept across retries, so a
/// later stamp can be logged before an earlier one; keeping every event stamped by the moment
/// would then apply one without another logged before it: a state that never was. The cut is
/// therefore the first event, in log order, stamped after the moment (as if each event's time
/// were the latest stamp logged up to it): everything before it, nothing from it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The whole log: now.
    Everything,
    /// The events logged before this position.
    Before(Position),
}

impl Cut {
    pub fn includes(&self, recorded: &RecordedEvent) -> bool {
        match self {
            Self::Everything => true,
            Self::Before(position) => recorded.position < *position,
        }
    }
}

/// Folds any state from the events of one aggregate before `cut`, each through `step`;
/// `Deleted` once a step leaves no state after there was one.
fn fold<S>(
    events: &[RecordedEvent],
    cut: Cut,
    mut step: impl FnMut(Option<S>, &RecordedEvent) -> Result<Option<S>, ProjectionError>,
) -> Result<AsOf<S>, ProjectionError> {
    let mut state = None;
    let mut deleted_at = None;
    for recorded in events.iter().filter(|recorded| cut.includes(recorded)) {
        let existed = state.is_some();
        state = step(state, recorded)?;
        if existed && state.is_none() {
            deleted_at = Some(recorded.metadata.occurred_at.clone());
        }
    }
    Ok(match (state, deleted_at) {
        (Some(state), _) => AsOf::Live(state),
        (None, Some(deleted_at)) => AsOf::Deleted { deleted_at },
        (None, None) => AsOf::NotYetCreated,
    })
}

/// The instance an aggregate was created in: its first event says.
pub fn created_in(events: &[RecordedEvent]) -> Option<&str> {
    match &events.first()?.event {
        DomainEvent::User(
            UserEvent::UserCreated { instance_id, .. }
            | UserEvent::UserImported { instance_id, .. },
        )
        | DomainEvent::Group(
            GroupEvent::GroupCreated { instance_id, .. }
            | GroupEvent::GroupImported { instance_id, .. },
        ) => Some(instance_id.as_str()),
        _ => None,
    }
}

/// The `scim_users` row of the user whose events these are, as of `cut`.
pub fn fold_user(events: &[RecordedEvent], cut: Cut) -> Result<AsOf<UserRecord>, ProjectionError> {
    fold(events, cut, |row, recorded| {
        let DomainEvent::User(event) = &recorded.event else {
            return Ok(row);
        };
        user_row_change(recorded, event)
            .apply_to(row, recorded)
            .map_err(|_| ProjectionError::missing_row("time travel", "user", recorded))
    })
}

/// The `scim_groups` row and membership rows of the group whose events these are (all of
/// them, or its own and those about some members only), as of `cut`.
pub fn fold_group(events: &[RecordedEvent], cut: Cut) -> Result<AsOf<GroupState>, ProjectionError> {
    fold(events, cut, |state, recorded| {
        let DomainEvent::Group(event) = &recorded.event else {
            return Ok(state);
        };
        Ok(group_row_change(recorded, event).apply_to(state, recorded))
    })
}

/// The groups of `instance_id` that `member_id` directly belonged to as of `cut`, from the
/// events of every group it ever joined (each group's own events and those about this member
/// suffice), in the order the live read model lists them: by displayName without regard to
/// case, then id.
pub fn memberships(
    member_id: &str,
    instance_id: &str,
    group_events: &[RecordedEvent],
    cut: Cut,
) -> Result<Vec<MembershipRecord>, ProjectionError> {
    let mut groups = Vec::new();
    for events in group_events.chunk_by(|a, b| a.aggregate_id == b.aggregate_id) {
        let Some(group) = fold_group(events, cut)?.live() else {
            continue;
        };
        if group.row.instance_id == instance_id && group.members.contains_key(member_id) {
            groups.push(MembershipRecord {
                group_id: group.row.id,
                display_name: group.row.display_name,
            });
        }
    }
    groups.sort_by_cached_key(|group| {
        (
            case_insensitive_key(&group.display_name),
            group.group_id.clone(),
        )
    });
    Ok(groups)
}

/// The members a group listed: those not deleted themselves (the read model hides a deleted
/// member until the group's removal event for it), in member id order.
pub fn listed_members(group: &GroupState, deleted: &HashSet<String>) -> Vec<MemberRecord> {
    group
        .members
        .values()
        .filter(|member| !deleted.contains(&member.member_id))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests;
