//! Time travel: a user or group exactly as the SCIM API served it at a past moment (or now),
//! derived from the event log. Names are resolved through the change history, so that a name
//! given up later, or the name of a deleted user, still finds the entity that bore it.

use super::{catch_up, history::instant, instance, AdminError};
use crate::scim::render;
use crate::scim::schema::ResourceType;
use crate::scim::select::Selection;
use crate::store::Store;
use aggregates::values::case_insensitive_key;
use projections::error::ProjectionError;
use projections::history::entities_once_named;
use projections::time_travel::{self, AsOf, Cut};
use serde_json::Value;

/// What to show: a user by userName or a group by displayName, or either by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Named(ResourceType, String),
    Id(String),
}

/// The moment asked about, as the cut of the event log it means, and as the operator wrote it.
struct Moment {
    cut: Cut,
    said: String,
}

impl Moment {
    /// One cut for everything an answer reads, so that its parts show the same state.
    async fn at(store: &Store, at: Option<&str>) -> Result<Self, AdminError> {
        let until = at.map(instant).transpose()?;
        let cut = time_travel::cut_at(&store.db, until.as_deref())
            .await
            .map_err(unreadable)?;
        Ok(Self {
            cut,
            said: at.map_or_else(|| "now".to_string(), str::to_string),
        })
    }
}

fn unreadable(error: ProjectionError) -> AdminError {
    AdminError::Store(error.to_string())
}

/// `subject` of instance `instance_name` as the SCIM API showed it at `at` (RFC 3339; now
/// without it), with resource locations under `base_url` (`…/scim/v2`).
pub async fn show(
    store: &Store,
    instance_name: &str,
    subject: &Subject,
    at: Option<&str>,
    base_url: &str,
) -> Result<Value, AdminError> {
    let moment = Moment::at(store, at).await?;
    let instance_id = instance(store, instance_name).await?.id;
    let (kind, id) = match subject {
        Subject::Named(kind, name) => {
            let id = resolve(store, &instance_id, *kind, name, &moment).await?;
            (*kind, id)
        }
        // Ids are unique across users and groups: whichever has it.
        Subject::Id(id) => {
            let user = resource(
                store,
                &instance_id,
                ResourceType::User,
                id,
                &moment,
                base_url,
            );
            match user.await {
                Err(AdminError::UnknownId(_)) => (ResourceType::Group, id.clone()),
                shown => return shown,
            }
        }
    };
    resource(store, &instance_id, kind, &id, &moment, base_url).await
}

/// User or group (`kind`) `id` as of `at`, as `show` renders it.
pub async fn resource_at(
    store: &Store,
    instance_name: &str,
    kind: ResourceType,
    id: &str,
    at: Option<&str>,
    base_url: &str,
) -> Result<Value, AdminError> {
    let moment = Moment::at(store, at).await?;
    let instance_id = instance(store, instance_name).await?.id;
    resource(store, &instance_id, kind, id, &moment, base_url).await
}

async fn resource(
    store: &Store,
    instance_id: &str,
    kind: ResourceType,
    id: &str,
    moment: &Moment,
    base_url: &str,
) -> Result<Value, AdminError> {
    let (db, cut) = (&store.db, moment.cut);
    let resource = match kind {
        ResourceType::User => {
            let found = time_travel::user_as_of(db, instance_id, id, cut).await;
            let user = live(found.map_err(unreadable)?, "user", id, moment)?;
            render::user(&user.record, Some(&user.groups), base_url)
        }
        ResourceType::Group => {
            let found = time_travel::group_as_of(db, instance_id, id, cut).await;
            let group = live(found.map_err(unreadable)?, "group", id, moment)?;
            render::group(&group.record, Some(&group.members), base_url)
        }
    };
    // What GET applies to every response it serves (the schemas list, never a password).
    Ok(Selection::all().apply(kind, resource))
}

/// The entity if it was live at the moment; otherwise an error naming the moment.
fn live<T>(found: Option<AsOf<T>>, kind: &str, id: &str, moment: &Moment) -> Result<T, AdminError> {
    let entity = || format!("{kind} {id}");
    match found {
        None => Err(AdminError::UnknownId(id.to_string())),
        Some(AsOf::Live(value)) => Ok(value),
        Some(AsOf::NotYetCreated) => Err(AdminError::NotYetCreated {
            entity: entity(),
            at: moment.said.clone(),
        }),
        Some(AsOf::Deleted { deleted_at }) => Err(AdminError::DeletedBy {
            entity: entity(),
            deleted_at,
            at: moment.said.clone(),
        }),
    }
}

/// The id of the user (or group) named `name`. A name several entities bore over time (one
/// after the other: names are unique at any moment) means the one that bore it at the moment;
/// if none or several did, the operator must choose by id.
async fn resolve(
    store: &Store,
    instance_id: &str,
    kind: ResourceType,
    name: &str,
    moment: &Moment,
) -> Result<String, AdminError> {
    catch_up(store).await?;
    let candidates = entities_once_named(&store.db, instance_id, kind.name(), name).await?;
    if let [only] = candidates.as_slice() {
        return Ok(only.clone());
    }
    if candidates.is_empty() {
        return Err(match kind {
            ResourceType::User => AdminError::UnknownUser(name.to_string()),
            ResourceType::Group => AdminError::UnknownGroup(name.to_string()),
        });
    }
    let key = case_insensitive_key(name);
    let mut holders = Vec::new();
    for id in &candidates {
        let then = name_as_of(store, instance_id, kind, id, moment).await?;
        if then.is_some_and(|then| case_insensitive_key(&then) == key) {
            holders.push(id.clone());
        }
    }
    match holders.as_slice() {
        [holder] => Ok(holder.clone()),
        _ => Err(AdminError::AmbiguousName {
            name: name.to_string(),
            at: moment.said.clone(),
            candidates: candidates.join(", "),
        }),
    }
}

async fn name_as_of(
    store: &Store,
    instance_id: &str,
    kind: ResourceType,
    id: &str,
    moment: &Moment,
) -> Result<Option<String>, AdminError> {
    let cut = moment.cut;
    let name = match kind {
        ResourceType::User => time_travel::user_row_as_of(&store.db, instance_id, id, cut)
            .await
            .map(|found| found.and_then(AsOf::live).map(|row| row.user_name)),
        ResourceType::Group => time_travel::group_name_as_of(&store.db, instance_id, id, cut)
            .await
            .map(|found| found.and_then(AsOf::live)),
    };
    name.map_err(unreadable)
}
