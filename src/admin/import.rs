//! `scimd import`: accounts and groups that existed before provisioning (created by hand or by
//! an older sync tool), loaded from JSON Lines as unmanaged users and groups that an IdP later
//! adopts.
//!
//! Each line is an account: a SCIM User object (`userName` and any other attributes), which may
//! carry the application's own `fields` (`{"fields": {"Cost Centre": "42"}}`, standard or
//! custom text fields, over what the mapping fills); or a group: `{"name": "...", "members":
//! ["userName", ...]}` (`displayName` is read as `name`), whose members are users of the
//! instance or of the same file. The whole file is checked first: if any line is refused,
//! nothing is imported and every refusal is reported with its line number. Accounts and groups
//! already present in the instance are skipped, so running the same import twice imports
//! nothing the second time. Each account and each group is one command, whole or not at all.

use crate::admin::{self, AdminError};
use crate::scim::mapping::mapped_fields;
use crate::scim::resource::{decode, user_profile};
use crate::scim::schema::ResourceType;
use crate::store::{Claim, NameKind, Store, UniqueName};
use aggregates::group::{DisplayName, GroupCommand, Member};
use aggregates::settings::mapping::MappedFields;
use aggregates::settings::roles::requested_roles;
use aggregates::settings::InstanceSettings;
use aggregates::user::{UserCommand, UserProfile};
use aggregates::values::{case_insensitive_key, InstanceId};
use projections::db::Sql;
use projections::metadata::{timestamp, EventMetadata};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Where imported changes come from, in the change history.
pub const SOURCE_IMPORT: &str = "import";

/// A line the import refused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Accounts and groups imported.
    pub imported: usize,
    /// Already in the instance (an earlier import, or provisioned since).
    pub skipped: usize,
    /// Non-empty: nothing was imported.
    pub rejected: Vec<Rejected>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error("line {line}: {reason}")]
    Failed { line: usize, reason: String },
}

struct Account {
    line: usize,
    profile: UserProfile,
    /// Application fields the line states, over what the mapping fills.
    fields: MappedFields,
}

struct ImportedGroup {
    line: usize,
    display_name: DisplayName,
    /// Member userNames, by their case-insensitive key.
    member_keys: Vec<String>,
}

enum Line {
    User(UserProfile, MappedFields),
    Group(DisplayName, Vec<String>),
}

/// What the file holds, read and checked line by line.
#[derive(Default)]
struct Contents {
    accounts: Vec<Account>,
    groups: Vec<ImportedGroup>,
    /// The keys of the file's userNames.
    user_keys: HashSet<String>,
    rejected: Vec<Rejected>,
}

/// Imports the accounts and groups of `lines` into `instance_name`; `progress` hears the
/// count imported so far.
pub async fn import_users(
    store: &Store,
    instance_name: &str,
    lines: &str,
    progress: impl Fn(usize),
) -> Result<ImportReport, ImportError> {
    let instance = admin::instance(store, instance_name).await?;
    let settings = store
        .commands
        .settings(&instance.id)
        .await
        .map_err(AdminError::from)?;
    let contents = read_contents(lines, &settings);
    let mut report = ImportReport {
        rejected: contents.rejected,
        ..ImportReport::default()
    };
    let mut fresh_accounts = Vec::new();
    for account in contents.accounts {
        let name = UniqueName::new(
            NameKind::UserName,
            &instance.id,
            account.profile.user_name.as_str(),
        );
        match store
            .claims
            .holder_instance(&name)
            .await
            .map_err(AdminError::from)?
        {
            None => fresh_accounts.push(account),
            Some(holder) if holder == instance.id => report.skipped += 1,
            Some(_) => report.rejected.push(Rejected {
                line: account.line,
                reason: "userName is already in use".into(),
            }),
        }
    }
    let mut user_ids = users_by_key(store, &instance.id).await?;
    let mut fresh_groups = Vec::new();
    for group in contents.groups {
        let unknown: Vec<&str> = group
            .member_keys
            .iter()
            .filter(|key| !user_ids.contains_key(*key) && !contents.user_keys.contains(*key))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            report.rejected.push(Rejected {
                line: group.line,
                reason: format!(
                    "members are not users of the instance or of the file: {}",
                    unknown.join(", ")
                ),
            });
        } else if store
            .claims
            .holder_instance(&UniqueName::new(
                NameKind::GroupName,
                &instance.id,
                group.display_name.as_str(),
            ))
            .await
            .map_err(AdminError::from)?
            .is_some()
        {
            report.skipped += 1;
        } else {
            fresh_groups.push(group);
        }
    }
    if !report.rejected.is_empty() {
        report.rejected.sort_by_key(|rejected| rejected.line);
        return Ok(report);
    }
    let tick = |report: &ImportReport| {
        if report.imported % 100 == 0 {
            progress(report.imported);
        }
    };
    for account in fresh_accounts {
        let key = account.profile.user_name.key();
        let id = import_account(store, &instance.id, &settings, account).await?;
        user_ids.insert(key, id);
        report.imported += 1;
        tick(&report);
    }
    for group in fresh_groups {
        import_group(store, &instance.id, &user_ids, group).await?;
        report.imported += 1;
        tick(&report);
    }
    progress(report.imported);
    admin::catch_up(store).await?;
    Ok(report)
}

fn read_contents(lines: &str, settings: &InstanceSettings) -> Contents {
    let mut contents = Contents::default();
    let mut group_keys = HashSet::new();
    for (index, text) in lines.lines().enumerate() {
        let line = index + 1;
        if text.trim().is_empty() {
            continue;
        }
        let refusal = match read_line(text, settings) {
            Ok(Line::User(profile, _)) if !contents.user_keys.insert(profile.user_name.key()) => {
                let name = profile.user_name.as_str();
                format!("userName {name:?} appears twice in the file")
            }
            Ok(Line::User(profile, fields)) => {
                contents.accounts.push(Account {
                    line,
                    profile,
                    fields,
                });
                continue;
            }
            Ok(Line::Group(name, _)) if !group_keys.insert(name.key()) => {
                format!("group {:?} appears twice in the file", name.as_str())
            }
            Ok(Line::Group(display_name, member_keys)) => {
                contents.groups.push(ImportedGroup {
                    line,
                    display_name,
                    member_keys,
                });
                continue;
            }
            Err(reason) => reason,
        };
        contents.rejected.push(Rejected {
            line,
            reason: refusal,
        });
    }
    contents
}

/// A line as an account (it has a `userName`) or a group (a `displayName` and no `userName`).
fn read_line(text: &str, settings: &InstanceSettings) -> Result<Line, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|error| format!("not a JSON object: {error}"))?;
    let Some(object) = value.as_object() else {
        return Err("not a JSON object".into());
    };
    // A user's SCIM `name` is an object; a group's name is text.
    let named =
        object.get("name").is_some_and(Value::is_string) || object.contains_key("displayName");
    if named && !object.contains_key("userName") {
        return read_group(&value).map(|(name, members)| Line::Group(name, members));
    }
    let mut account = object.clone();
    let fields = read_fields(account.remove("fields"), settings)?;
    let profile = read_account(&Value::Object(account), settings)?;
    Ok(Line::User(profile, fields))
}

/// The application fields a line states: each a text field of the instance, with a string.
fn read_fields(fields: Option<Value>, settings: &InstanceSettings) -> Result<MappedFields, String> {
    let Some(fields) = fields else {
        return Ok(MappedFields::new());
    };
    let Value::Object(fields) = fields else {
        return Err("fields is an object of field names and text values".into());
    };
    let known = settings.fields();
    let mut read = MappedFields::new();
    for (name, value) in fields {
        let field = known
            .iter()
            .find(|field| field.eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                format!(
                    "there is no text field {name:?}; fields are: {}",
                    known.join(", ")
                )
            })?;
        let Value::String(text) = value else {
            return Err(format!("field {name:?} takes text"));
        };
        read.insert(field.clone(), text);
    }
    Ok(read)
}

fn read_group(value: &Value) -> Result<(DisplayName, Vec<String>), String> {
    let name = value
        .get("name")
        .or_else(|| value.get("displayName"))
        .and_then(Value::as_str)
        .ok_or("a group's name is a string")?;
    let display_name = DisplayName::parse(name).map_err(|error| error.to_string())?;
    let members = match value.get("members") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(members)) => members
            .iter()
            .map(|member| member.as_str().map(case_insensitive_key))
            .collect::<Option<Vec<String>>>()
            .ok_or("a group's members are the userNames of its members")?,
        Some(_) => return Err("a group's members are a list of userNames".into()),
    };
    Ok((display_name, members))
}

fn read_account(value: &Value, settings: &InstanceSettings) -> Result<UserProfile, String> {
    let profile = decode(ResourceType::User, value)
        .and_then(user_profile)
        .map_err(|error| error.detail)?;
    let requested = requested_roles(&profile.attributes);
    settings.roles_for(&requested).map_err(|refused| {
        format!(
            "roles not allowed: {}; allowed roles: {}",
            refused.join(", "),
            settings.allowed_roles().join(", ")
        )
    })?;
    Ok(profile)
}

/// The ids of the instance's users, by the case-insensitive key of their userName.
async fn users_by_key(
    store: &Store,
    instance_id: &str,
) -> Result<HashMap<String, String>, AdminError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: String,
        user_name_key: String,
    }
    let sql = Sql::new("SELECT id, user_name_key FROM scim_users WHERE instance_id = $1")
        .bind(instance_id);
    let rows: Vec<Row> = store.db.fetch_all(&sql).await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.user_name_key, row.id))
        .collect())
}

fn metadata(instance_id: &str, now: String) -> EventMetadata {
    EventMetadata {
        instance_id: instance_id.to_string(),
        actor: admin::ADMIN_ACTOR.to_string(),
        key_id: None,
        correlation_id: uuid::Uuid::new_v4().to_string(),
        user_agent: None,
        source: SOURCE_IMPORT.to_string(),
        occurred_at: now,
    }
}

/// Claims `name` for `owner`, runs `execute`, and gives the name back if it fails.
async fn claimed<F, Fut, E>(
    store: &Store,
    name: &UniqueName,
    owner: &str,
    line: usize,
    execute: F,
) -> Result<(), ImportError>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let failed = |reason: String| ImportError::Failed { line, reason };
    let now = timestamp(chrono::Utc::now());
    // An import never takes a claim over: a server may be creating that owner right now.
    match store
        .claims
        .claim(name, owner, &now, "")
        .await
        .map_err(AdminError::from)?
    {
        Claim::Claimed | Claim::AlreadyHeld => {}
        Claim::Taken => return Err(failed("the name was taken while importing".into())),
    }
    if let Err(error) = execute(now).await {
        if let Err(release) = store.claims.release(name, owner).await {
            tracing::error!(%release, "cannot release the name of a failed import");
        }
        return Err(failed(error.to_string()));
    }
    Ok(())
}

/// Imports one account; its new id.
async fn import_account(
    store: &Store,
    instance_id: &str,
    settings: &InstanceSettings,
    account: Account,
) -> Result<String, ImportError> {
    let id = uuid::Uuid::new_v4().to_string();
    let name = UniqueName::new(
        NameKind::UserName,
        instance_id,
        account.profile.user_name.as_str(),
    );
    let mut mapped = mapped_fields(settings.mapping(), &account.profile);
    mapped.extend(account.fields);
    let command = UserCommand::Import {
        instance_id: InstanceId::new(instance_id.to_string()),
        mapped,
        profile: account.profile,
    };
    let owner = id.as_str();
    claimed(store, &name, owner, account.line, |now| async move {
        let metadata = metadata(instance_id, now);
        store.commands.execute_user(owner, command, &metadata).await
    })
    .await?;
    Ok(id)
}

async fn import_group(
    store: &Store,
    instance_id: &str,
    user_ids: &HashMap<String, String>,
    group: ImportedGroup,
) -> Result<(), ImportError> {
    let id = uuid::Uuid::new_v4().to_string();
    let name = UniqueName::new(
        NameKind::GroupName,
        instance_id,
        group.display_name.as_str(),
    );
    let members = group
        .member_keys
        .iter()
        .filter_map(|key| user_ids.get(key))
        .map(|member| Member::user(member.clone()))
        .collect();
    let command = GroupCommand::Import {
        instance_id: InstanceId::new(instance_id.to_string()),
        display_name: group.display_name,
        members,
    };
    let owner = id.as_str();
    claimed(store, &name, owner, group.line, |now| async move {
        let metadata = metadata(instance_id, now);
        store
            .commands
            .execute_group(owner, command, &metadata)
            .await
    })
    .await
}
