//! An instance's settings (custom fields, mapping, roles) and the application directory the
//! mapping fills.

use super::{catch_up, instance, Action, AdminError};
use crate::scim::list::statements::Statements;
use crate::scim::mapping::{check_mapping_source, mapped_fields};
use crate::scim::resource::{decode, user_document, user_profile};
use crate::scim::schema::ResourceType;
use crate::store::{CommandError, Store};
use aggregates::settings::mapping::{changed_fields, FieldChange};
use aggregates::settings::{InstanceSettings, SettingsCommand};
use aggregates::user::{UserCommand, UserError};
use aggregates::values::InstanceId;
use projections::directory::{app_user, find_app_user, AppUserRecord};
use projections::scim_users::UserRecord;
use serde_json::Value;

/// Users read per round trip when re-applying a mapping.
const REMAP_BATCH: i64 = 500;

/// An instance's settings: custom fields, attribute mapping and roles.
pub async fn settings(store: &Store, instance_name: &str) -> Result<InstanceSettings, AdminError> {
    let instance = instance(store, instance_name).await?;
    Ok(store.commands.settings(&instance.id).await?)
}

/// Changes an instance's settings, recorded as done by `action`'s administrator, and returns
/// them as they now are.
pub async fn change_settings(
    store: &Store,
    instance_name: &str,
    command: SettingsCommand,
    action: &Action,
) -> Result<InstanceSettings, AdminError> {
    let instance = instance(store, instance_name).await?;
    record_settings_change(store, &instance.id, command, action).await?;
    Ok(store.commands.settings(&instance.id).await?)
}

/// Appends a settings event (a setting, an instance or key change, a webhook endpoint's) to
/// the instance's log, as done by `action`'s administrator.
pub(super) async fn record_settings_change(
    store: &Store,
    instance_id: &str,
    command: SettingsCommand,
    action: &Action,
) -> Result<(), AdminError> {
    store
        .commands
        .execute_settings(instance_id, command, &action.metadata(instance_id))
        .await?;
    Ok(())
}

/// How many users a re-application of the mapping looked at, and how many it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemapReport {
    pub users: usize,
    pub changed: usize,
}

/// How many users a re-application would change, and how, before anything is written: the
/// same walk as `apply_mappings`, with the commands left unsent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemapPreview {
    pub report: RemapReport,
    /// The first users that would change (at most the sample asked for), in creation order.
    pub sample: Vec<RemappedUser>,
}

/// One user's application fields as a re-application would change them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemappedUser {
    pub id: String,
    pub user_name: String,
    /// Exactly the fields whose values would differ, old and new, as the mapped event would
    /// record them.
    pub changes: Vec<FieldChange>,
}

/// Whether a walk over the users changes them or only reports what it would change.
enum Remap<'a> {
    Apply(&'a Action),
    Preview { sample: usize },
}

/// Fills every live user's application fields again with the instance's current mapping; each
/// user whose fields change gets a mapped event, all of them under `action`'s one correlation
/// id. `progress` hears after each batch.
pub async fn apply_mappings(
    store: &Store,
    instance_name: &str,
    action: &Action,
    progress: impl Fn(RemapReport),
) -> Result<RemapReport, AdminError> {
    let preview = remap(store, instance_name, Remap::Apply(action), progress).await?;
    Ok(preview.report)
}

/// What `apply_mappings` would do now, without doing it: how many users it would change and
/// the first `sample` of them with their old and new values.
pub async fn preview_mappings(
    store: &Store,
    instance_name: &str,
    sample: usize,
    progress: impl Fn(RemapReport),
) -> Result<RemapPreview, AdminError> {
    remap(store, instance_name, Remap::Preview { sample }, progress).await
}

async fn remap(
    store: &Store,
    instance_name: &str,
    mode: Remap<'_>,
    progress: impl Fn(RemapReport),
) -> Result<RemapPreview, AdminError> {
    let instance = instance(store, instance_name).await?;
    if matches!(mode, Remap::Preview { .. }) {
        // A preview compares with the directory as it stands after every write so far.
        catch_up(store).await?;
    }
    let settings = store.commands.settings(&instance.id).await?;
    let users = Statements::new(ResourceType::User, store.db.dialect(), &instance.id, None);
    let mut report = RemapReport {
        users: 0,
        changed: 0,
    };
    let mut sample = Vec::new();
    let mut after = 0;
    loop {
        let batch: Vec<UserRecord> = store
            .db
            .fetch_all(&users.scan(after, REMAP_BATCH, false))
            .await?;
        let Some(last) = batch.last() else {
            break;
        };
        after = last.created_position;
        for record in &batch {
            let document = Value::Object(user_document(record));
            let profile = decode(ResourceType::User, &document)
                .and_then(user_profile)
                .map_err(|error| AdminError::Unreadable(record.id.clone(), error.detail))?;
            let mapped = mapped_fields(settings.mapping(), &profile);
            let current = app_user(&store.db, &record.id)
                .await?
                .map(|user| user.fields());
            report.users += 1;
            if current.as_ref() == Some(&mapped) {
                continue;
            }
            let action = match mode {
                Remap::Apply(action) => action,
                Remap::Preview { sample: wanted } => {
                    report.changed += 1;
                    if sample.len() < wanted {
                        sample.push(RemappedUser {
                            id: record.id.clone(),
                            user_name: record.user_name.clone(),
                            changes: changed_fields(&current.unwrap_or_default(), &mapped),
                        });
                    }
                    continue;
                }
            };
            let command = UserCommand::Remap {
                instance_id: InstanceId::new(instance.id.clone()),
                mapped,
            };
            match store
                .commands
                .execute_user(&record.id, command, &action.metadata(&instance.id))
                .await
            {
                Ok(()) => report.changed += 1,
                // Deleted since the batch was read: nothing left to map.
                Err(CommandError::Rejected(UserError::NotFound)) => {}
                Err(error) => return Err(AdminError::Store(error.to_string())),
            }
        }
        progress(report);
    }
    if matches!(mode, Remap::Apply(_)) {
        catch_up(store).await?;
    }
    Ok(RemapPreview { report, sample })
}

/// The application User entity of an instance's user, by User Name.
pub async fn directory_entry(
    store: &Store,
    instance_name: &str,
    user_name: &str,
) -> Result<AppUserRecord, AdminError> {
    let instance = instance(store, instance_name).await?;
    catch_up(store).await?;
    find_app_user(&store.db, &instance.id, user_name)
        .await?
        .ok_or_else(|| AdminError::UnknownUser(user_name.to_string()))
}

/// Maps the SCIM attribute `attribute` onto the User entity field `field`, once the attribute
/// is known to name a single simple value of a User.
pub async fn set_mapping(
    store: &Store,
    instance_name: &str,
    field: &str,
    attribute: &str,
    action: &Action,
) -> Result<InstanceSettings, AdminError> {
    let command = SettingsCommand::SetMapping {
        field: field.to_string(),
        attribute: check_mapping_source(attribute)?,
    };
    change_settings(store, instance_name, command, action).await
}
