//! `scimd import`: accounts and groups that existed before provisioning (created by hand or by
//! an older sync tool), loaded from JSON Lines as unmanaged users and groups that an IdP later
//! adopts.
//!
//! Each line is an account: a SCIM User object (`userName` and any other attributes), which may
//! carry the application's own `fields` (`{"fields": {"Cost Centre": "42"}}`, standard or
//! custom text fields, over what the mapping fills); or a group: `{"name": "...", "members":
//! ["userName", ...]}` (`displayName` is read as `name`), whose members are users of the
//! instance or accounts of the same file. Accounts and groups already present in the instance
//! are skipped, so running the same import twice imports nothing the second time.
//!
//! All or nothing, as far as a running process can promise it: the whole file is checked and
//! every name it takes is reserved before anything is written, and if any line is refused (a
//! group member that cannot be resolved among them), nothing is written and every refusal is
//! reported with its line number. Each account and group is then one command of its own; if
//! one fails, those written before it are deleted again and every name given back. Only a
//! process that dies while writing leaves part of a file imported: running the import again
//! completes it.

use crate::admin::{self, Action, AdminError};
use crate::scim::mapping::mapped_fields;
use crate::scim::resource::{decode, user_profile};
use crate::scim::schema::ResourceType;
use crate::startup::CLAIM_GRACE_SECS;
use crate::store::{orphaned_before, Claim, NameKind, Store, UniqueName};
use aggregates::group::{DisplayName, Group, GroupCommand, Member};
use aggregates::settings::mapping::MappedFields;
use aggregates::settings::roles::requested_roles;
use aggregates::settings::InstanceSettings;
use aggregates::user::{User, UserCommand, UserProfile};
use aggregates::values::{case_insensitive_key, InstanceId};
use cqrs_es::Aggregate;
use projections::db::Sql;
use projections::metadata::timestamp;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

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
    /// A write failed after every line was checked and every name reserved. What the import
    /// wrote before it was deleted again, except `left` (ids), whose deletion failed too.
    #[error("line {line}: {reason}; {}", undone(left))]
    Failed {
        line: usize,
        reason: String,
        left: Vec<String>,
    },
}

fn undone(left: &[String]) -> String {
    if left.is_empty() {
        "nothing was imported".into()
    } else {
        format!("these could not be deleted again: {}", left.join(", "))
    }
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
    rejected: Vec<Rejected>,
}

/// Imports the accounts and groups of `lines` into `instance_name`, every event of it made by
/// `action` under its one correlation id; `progress` hears the count imported so far.
pub async fn import_users(
    store: &Store,
    instance_name: &str,
    lines: &str,
    action: &Action,
    progress: impl Fn(usize),
) -> Result<ImportReport, ImportError> {
    let instance = admin::instance(store, instance_name).await?;
    let settings = store
        .commands
        .settings(&instance.id)
        .await
        .map_err(AdminError::from)?;
    // An account is skipped only when its user is in the read model: so the read model must
    // show every user committed so far.
    admin::catch_up(store).await?;
    let contents = read_contents(lines, &settings);
    let mut report = ImportReport {
        rejected: contents.rejected,
        ..ImportReport::default()
    };
    let mut user_ids = ids_by_key(store, &instance.id, NameKind::UserName).await?;
    let group_ids = ids_by_key(store, &instance.id, NameKind::GroupName).await?;
    let mut fresh_accounts = Vec::new();
    for account in contents.accounts {
        if user_ids.contains_key(&account.profile.user_name.key()) {
            report.skipped += 1;
            continue;
        }
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
            Some(holder) if holder != instance.id => report.rejected.push(Rejected {
                line: account.line,
                reason: "userName is already in use".into(),
            }),
            // Held in this instance by no user (yet): reserving it below decides.
            _ => fresh_accounts.push(account),
        }
    }
    let fresh_keys: HashSet<String> = fresh_accounts
        .iter()
        .map(|account| account.profile.user_name.key())
        .collect();
    let mut fresh_groups = Vec::new();
    for group in contents.groups {
        let unknown: Vec<&str> = group
            .member_keys
            .iter()
            .filter(|key| !user_ids.contains_key(*key) && !fresh_keys.contains(*key))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            report.rejected.push(Rejected {
                line: group.line,
                reason: format!(
                    "members are neither users of the instance nor accounts the file imports: {}",
                    unknown.join(", ")
                ),
            });
        } else if group_ids.contains_key(&group.display_name.key()) {
            report.skipped += 1;
        } else {
            fresh_groups.push(group);
        }
    }
    if !report.rejected.is_empty() {
        report.rejected.sort_by_key(|rejected| rejected.line);
        return Ok(report);
    }
    let plan = Plan::new(&instance.id, action, fresh_accounts, fresh_groups);
    let refused = plan.reserve(store).await?;
    if !refused.is_empty() {
        report.rejected = refused;
        return Ok(report);
    }
    let tick = |imported: usize| {
        if imported % 100 == 0 {
            progress(imported);
        }
    };
    let mut written = Vec::new();
    for (account, id) in &plan.accounts {
        let outcome = import_account(store, &plan, &settings, account, id).await;
        let outcome = outcome.map(|version| Written::User { id, version });
        plan.settle(store, &mut written, account.line, outcome)
            .await?;
        user_ids.insert(account.profile.user_name.key(), id.clone());
        report.imported += 1;
        tick(report.imported);
    }
    for (group, id) in &plan.groups {
        let outcome = import_group(store, &plan, &user_ids, group, id).await;
        let outcome = outcome.map(|version| Written::Group { id, version });
        plan.settle(store, &mut written, group.line, outcome)
            .await?;
        report.imported += 1;
        tick(report.imported);
    }
    progress(report.imported);
    admin::catch_up(store).await?;
    Ok(report)
}

/// The accounts and groups an import writes, each with the id it gets, and the names they
/// reserve.
struct Plan {
    instance_id: String,
    action: Action,
    accounts: Vec<(Account, String)>,
    groups: Vec<(ImportedGroup, String)>,
}

/// What an import has written so far, each with its version then: what it deletes again if a
/// later write fails, unless it changed since (an IdP adopted it).
enum Written<'a> {
    User { id: &'a str, version: u64 },
    Group { id: &'a str, version: u64 },
}

impl Plan {
    fn new(
        instance_id: &str,
        action: &Action,
        accounts: Vec<Account>,
        groups: Vec<ImportedGroup>,
    ) -> Self {
        let new_id = crate::ids::new_id;
        Self {
            instance_id: instance_id.to_string(),
            action: action.clone(),
            accounts: accounts
                .into_iter()
                .map(|account| (account, new_id()))
                .collect(),
            groups: groups.into_iter().map(|group| (group, new_id())).collect(),
        }
    }

    /// Every name the import takes, with the line and the id that takes it.
    fn names(&self) -> impl Iterator<Item = (usize, UniqueName, &str)> {
        let accounts = self.accounts.iter().map(|(account, id)| {
            let name = account.profile.user_name.as_str();
            let name = UniqueName::new(NameKind::UserName, &self.instance_id, name);
            (account.line, name, id.as_str())
        });
        let groups = self.groups.iter().map(|(group, id)| {
            let name = group.display_name.as_str();
            let name = UniqueName::new(NameKind::GroupName, &self.instance_id, name);
            (group.line, name, id.as_str())
        });
        accounts.chain(groups)
    }

    /// Reserves every name before anything is written, so that a name someone else holds
    /// refuses the import whole. A name held by a create of this instance that never came to
    /// be (its process died) is taken over once it has gone unrenewed for the claim grace; one
    /// held by a create still running refuses its line, and with it every group that lists it.
    /// Returns the refusals; if there are any, every name reserved here is given back.
    async fn reserve(&self, store: &Store) -> Result<Vec<Rejected>, ImportError> {
        let now = chrono::Utc::now();
        let orphaned_before = orphaned_before(now, Duration::from_secs(CLAIM_GRACE_SECS));
        let now = timestamp(now);
        let mut refused = Vec::new();
        let mut refused_keys = HashSet::new();
        for (line, name, id) in self.names() {
            let claimed = store.claims.claim(&name, id, &now, &orphaned_before).await;
            match claimed {
                Ok(Claim::Claimed | Claim::AlreadyHeld) => {}
                Ok(Claim::Taken) => {
                    refused.push(Rejected {
                        line,
                        reason: "the name is held by a create in progress; import again later"
                            .into(),
                    });
                    if name.kind == NameKind::UserName {
                        refused_keys.insert(name.key);
                    }
                }
                Err(error) => {
                    self.release(store).await;
                    return Err(AdminError::from(error).into());
                }
            }
        }
        for (group, _) in &self.groups {
            let lost: Vec<&str> = group
                .member_keys
                .iter()
                .filter(|key| refused_keys.contains(*key))
                .map(String::as_str)
                .collect();
            if !lost.is_empty() {
                refused.push(Rejected {
                    line: group.line,
                    reason: format!("members cannot be imported: {}", lost.join(", ")),
                });
            }
        }
        if !refused.is_empty() {
            self.release(store).await;
            refused.sort_by_key(|rejected| rejected.line);
        }
        Ok(refused)
    }

    /// Gives back every name this import reserved (those another owner holds stay its own).
    async fn release(&self, store: &Store) {
        for (_, name, id) in self.names() {
            if let Err(error) = store.claims.release(&name, id).await {
                tracing::error!(%error, "cannot release a name an import reserved");
            }
        }
    }

    /// Notes a write that succeeded; after one that failed, deletes what the import wrote
    /// before it and gives back every name, so that the import leaves nothing behind.
    async fn settle<'a>(
        &self,
        store: &Store,
        written: &mut Vec<Written<'a>>,
        line: usize,
        outcome: Result<Written<'a>, String>,
    ) -> Result<(), ImportError> {
        let reason = match outcome {
            Ok(this) => {
                written.push(this);
                return Ok(());
            }
            Err(reason) => reason,
        };
        let mut left = Vec::new();
        let cause = format!("{SOURCE_IMPORT}: undone, line {line} failed");
        // Groups were written after the accounts: deleted first, they leave no member behind.
        for entry in written.iter().rev() {
            let metadata = self.action.metadata(&self.instance_id);
            let instance_id = InstanceId::new(self.instance_id.clone());
            let (id, deleted) = match entry {
                Written::User { id, version } => {
                    let command = UserCommand::Delete {
                        instance_id,
                        expected_version: Some(*version),
                        cause: cause.clone(),
                    };
                    let deleted = store.commands.execute_user(id, command, &metadata).await;
                    (id, deleted.map_err(|error| error.to_string()))
                }
                Written::Group { id, version } => {
                    let command = GroupCommand::Delete {
                        instance_id,
                        expected_version: Some(*version),
                    };
                    let deleted = store.commands.execute_group(id, command, &metadata).await;
                    (id, deleted.map_err(|error| error.to_string()))
                }
            };
            if let Err(error) = deleted {
                tracing::error!(%error, id, "cannot undo an imported account or group");
                left.push((*id).to_string());
            }
        }
        self.release(store).await;
        Err(ImportError::Failed { line, reason, left })
    }
}

fn read_contents(lines: &str, settings: &InstanceSettings) -> Contents {
    let mut contents = Contents::default();
    let mut user_keys = HashSet::new();
    let mut group_keys = HashSet::new();
    for (index, text) in lines.lines().enumerate() {
        let line = index + 1;
        if text.trim().is_empty() {
            continue;
        }
        let refusal = match read_line(text, settings) {
            Ok(Line::User(profile, _)) if !user_keys.insert(profile.user_name.key()) => {
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

/// The ids of the instance's users (or groups), by the case-insensitive key of their userName
/// (or displayName).
async fn ids_by_key(
    store: &Store,
    instance_id: &str,
    kind: NameKind,
) -> Result<HashMap<String, String>, AdminError> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Row {
        id: String,
        name_key: String,
    }
    let text = match kind {
        NameKind::UserName => {
            "SELECT id, user_name_key AS name_key FROM scim_users WHERE instance_id = $1"
        }
        NameKind::GroupName => {
            "SELECT id, display_name_key AS name_key FROM scim_groups WHERE instance_id = $1"
        }
    };
    let rows: Vec<Row> = store
        .db
        .fetch_all(&Sql::new(text).bind(instance_id))
        .await?;
    Ok(rows.into_iter().map(|row| (row.name_key, row.id)).collect())
}

/// Imports one account as user `id`; its version then, or why not.
async fn import_account(
    store: &Store,
    plan: &Plan,
    settings: &InstanceSettings,
    account: &Account,
    id: &str,
) -> Result<u64, String> {
    let instance_id = plan.instance_id.as_str();
    let mut mapped = mapped_fields(settings.mapping(), &account.profile);
    mapped.extend(account.fields.clone());
    let command = UserCommand::Import {
        instance_id: InstanceId::new(instance_id.to_string()),
        mapped,
        profile: account.profile.clone(),
    };
    let metadata = plan.action.metadata(instance_id);
    store
        .commands
        .execute_user(id, command, &metadata)
        .await
        .map_err(|error| error.to_string())?;
    version_in_log(store, User::TYPE, id).await
}

/// Imports one group as group `id`, its members being users of `user_ids`; its version then,
/// or why not.
async fn import_group(
    store: &Store,
    plan: &Plan,
    user_ids: &HashMap<String, String>,
    group: &ImportedGroup,
    id: &str,
) -> Result<u64, String> {
    let instance_id = plan.instance_id.as_str();
    let mut members = Vec::new();
    for key in &group.member_keys {
        // Checked before anything was written: each member is a user or an account imported
        // before any group.
        let member = user_ids
            .get(key)
            .ok_or_else(|| format!("member {key} was not imported"))?;
        members.push(Member::user(member.clone()));
    }
    let command = GroupCommand::Import {
        instance_id: InstanceId::new(instance_id.to_string()),
        display_name: group.display_name.clone(),
        members,
    };
    let metadata = plan.action.metadata(instance_id);
    store
        .commands
        .execute_group(id, command, &metadata)
        .await
        .map_err(|error| error.to_string())?;
    version_in_log(store, Group::TYPE, id).await
}

/// The version of aggregate `id` in the log (its last sequence), read right after its import:
/// what undoing the import expects.
async fn version_in_log(store: &Store, aggregate_type: &str, id: &str) -> Result<u64, String> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Version {
        version: i64,
    }
    let sql = Sql::new(
        "SELECT COALESCE(MAX(sequence), 0) AS version FROM events
          WHERE aggregate_type = $1 AND aggregate_id = $2",
    )
    .bind(aggregate_type)
    .bind(id);
    let found: Version = store
        .db
        .fetch_one(&sql)
        .await
        .map_err(|error| error.to_string())?;
    u64::try_from(found.version).map_err(|error| error.to_string())
}
