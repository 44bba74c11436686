//! `scimd import`: accounts that existed before provisioning (created by hand or by an older
//! sync tool), loaded from JSON Lines as unmanaged users that an IdP later adopts.
//!
//! Each line is a SCIM User object (`userName` and any other attributes). The whole file is
//! checked first: if any line is refused, nothing is imported and every refusal is reported
//! with its line number. Accounts already present in the instance are skipped, so running the
//! same import twice imports nothing the second time. Each account is one command, whole or
//! not at all.

use crate::admin_ops::{self, AdminError};
use crate::scim::mapping::mapped_fields;
use crate::scim::resource::{decode, user_profile};
use crate::scim::schema::ResourceType;
use crate::store::{Claim, CommandError, NameKind, Store, UniqueName};
use aggregates::settings::roles::requested_roles;
use aggregates::user::{UserCommand, UserProfile};
use aggregates::values::{case_insensitive_key, InstanceId};
use projections::db::Sql;
use projections::metadata::{timestamp, EventMetadata};
use serde_json::Value;
use std::collections::HashSet;

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
}

/// Imports the accounts of `lines` into `instance_name`; `progress` hears the count so far.
pub async fn import_users(
    store: &Store,
    instance_name: &str,
    lines: &str,
    progress: impl Fn(usize),
) -> Result<ImportReport, ImportError> {
    let instance = admin_ops::instance(store, instance_name).await?;
    let settings = store
        .commands
        .settings(&instance.id)
        .await
        .map_err(AdminError::from)?;
    let mut report = ImportReport::default();
    let mut accounts = Vec::new();
    let mut seen = HashSet::new();
    for (index, text) in lines.lines().enumerate() {
        let line = index + 1;
        if text.trim().is_empty() {
            continue;
        }
        match read_account(text, &settings) {
            Ok(profile) if !seen.insert(profile.user_name.key()) => {
                report.rejected.push(Rejected {
                    line,
                    reason: format!(
                        "userName {:?} appears twice in the file",
                        profile.user_name.as_str()
                    ),
                })
            }
            Ok(profile) => accounts.push(Account { line, profile }),
            Err(reason) => report.rejected.push(Rejected { line, reason }),
        }
    }
    let mut fresh = Vec::new();
    for account in accounts {
        match holder_of(store, account.profile.user_name.as_str()).await? {
            None => fresh.push(account),
            Some(holder) if holder == instance.id => report.skipped += 1,
            Some(_) => report.rejected.push(Rejected {
                line: account.line,
                reason: "userName is already in use".into(),
            }),
        }
    }
    if !report.rejected.is_empty() {
        report.rejected.sort_by_key(|rejected| rejected.line);
        return Ok(report);
    }
    for account in fresh {
        import_one(store, &instance.id, &settings, account).await?;
        report.imported += 1;
        if report.imported % 100 == 0 {
            progress(report.imported);
        }
    }
    progress(report.imported);
    admin_ops::catch_up(store).await?;
    Ok(report)
}

fn read_account(
    text: &str,
    settings: &aggregates::settings::InstanceSettings,
) -> Result<UserProfile, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|error| format!("not a JSON object: {error}"))?;
    if !value.is_object() {
        return Err("not a JSON object".into());
    }
    let profile = decode(ResourceType::User, &value)
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

/// The instance whose user holds this userName, if any does.
async fn holder_of(store: &Store, user_name: &str) -> Result<Option<String>, AdminError> {
    #[derive(sqlx::FromRow)]
    struct Holder {
        instance_id: String,
    }
    let sql = Sql::new("SELECT instance_id FROM user_name_claims WHERE user_name_key = $1")
        .bind(case_insensitive_key(user_name));
    let holder: Option<Holder> = store.db.fetch_optional(&sql).await?;
    Ok(holder.map(|holder| holder.instance_id))
}

async fn import_one(
    store: &Store,
    instance_id: &str,
    settings: &aggregates::settings::InstanceSettings,
    account: Account,
) -> Result<(), ImportError> {
    let failed = |reason: String| ImportError::Failed {
        line: account.line,
        reason,
    };
    let id = uuid::Uuid::new_v4().to_string();
    let name = UniqueName::new(
        NameKind::UserName,
        instance_id,
        account.profile.user_name.as_str(),
    );
    let now = timestamp(chrono::Utc::now());
    match store
        .claims
        .claim(&name, &id, &now)
        .await
        .map_err(AdminError::from)?
    {
        Claim::Claimed | Claim::AlreadyHeld => {}
        Claim::Taken => return Err(failed("userName was taken while importing".into())),
    }
    let command = UserCommand::Import {
        instance_id: InstanceId::new(instance_id.to_string()),
        mapped: mapped_fields(settings.mapping(), &account.profile),
        profile: account.profile,
    };
    let metadata = EventMetadata {
        instance_id: instance_id.to_string(),
        actor: admin_ops::ADMIN_ACTOR.to_string(),
        key_id: None,
        correlation_id: uuid::Uuid::new_v4().to_string(),
        user_agent: None,
        source: SOURCE_IMPORT.to_string(),
        occurred_at: now,
    };
    if let Err(error) = store.commands.execute_user(&id, command, &metadata).await {
        let _ = store.claims.release(&name, &id).await;
        let reason = match error {
            CommandError::Rejected(refusal) => refusal.to_string(),
            other => other.to_string(),
        };
        return Err(failed(reason));
    }
    Ok(())
}
