//! `scimd roles`, `fields`, `mappings` and `directory`: an instance's settings, each change an
//! event of the instance, and the application directory they shape.

use super::progress::Progress;
use super::{print_json, print_table, printable};
use aggregates::settings::{InstanceSettings, SettingsCommand};
use anyhow::Context as _;
use clap::{Args, Subcommand};
use scimd::admin::import::import_users;
use scimd::admin::{self, views};
use scimd::store::Store;
use serde_json::json;
use std::io::Write as _;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum RolesCommand {
    /// Show the allowed and the default roles
    Show {
        #[arg(long)]
        instance: String,
    },
    /// Set the allowed roles (the default roles must stay among them), or allow any role
    Allow {
        #[arg(long)]
        instance: String,
        /// Allow any role (for an application without role semantics)
        #[arg(long, conflicts_with = "roles")]
        any: bool,
        #[arg(required_unless_present = "any")]
        roles: Vec<String>,
    },
    /// Set the roles a user provisioned without roles receives (each must be allowed)
    Default {
        #[arg(long)]
        instance: String,
        /// Give such users no role at all
        #[arg(long, conflicts_with = "roles")]
        none: bool,
        #[arg(required_unless_present = "none")]
        roles: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum FieldsCommand {
    /// Add a custom text field
    Add {
        #[arg(long)]
        instance: String,
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum MappingsCommand {
    /// Show the mapping and the fields it can fill
    Show {
        #[arg(long)]
        instance: String,
    },
    /// Fill a standard or custom text field from a SCIM attribute path
    Set {
        #[arg(long)]
        instance: String,
        /// e.g. title, name.givenName, addresses[type eq "work"].country
        #[arg(long)]
        attribute: String,
        #[arg(long)]
        field: String,
    },
    /// Stop filling a field from SCIM (User Name is read-only)
    Delete {
        #[arg(long)]
        instance: String,
        #[arg(long)]
        field: String,
    },
    /// Return to the default mapping
    Reset {
        #[arg(long)]
        instance: String,
    },
    /// What `apply` would change now, nothing written: how many users, and a sample of old → new
    Preview {
        #[arg(long)]
        instance: String,
        /// How many changed users to show
        #[arg(long, default_value_t = 10)]
        sample: usize,
    },
    /// Fill every user's fields again with the current mapping (a mapped event per change)
    Apply {
        #[arg(long)]
        instance: String,
    },
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[arg(long)]
    instance: String,
    /// One SCIM User object per line; accounts already in the instance are skipped
    file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// The application User entity of a user, as JSON
    Show {
        #[arg(long)]
        instance: String,
        user_name: String,
    },
    /// Every user of the instance (deleted ones too) with its state and mapped fields, in the
    /// order they last changed, as JSON Lines
    List {
        #[arg(long)]
        instance: String,
        /// Only the users changed at or after this RFC 3339 time (re-read from the last
        /// `updatedAt` seen to catch up)
        #[arg(long)]
        updated_since: Option<String>,
    },
}

pub async fn roles(store: &Store, command: RolesCommand, json: bool) -> anyhow::Result<()> {
    let settings = match command {
        RolesCommand::Show { instance } => admin::settings(store, &instance).await?,
        RolesCommand::Allow {
            instance,
            any,
            roles,
        } => {
            let command = if any {
                SettingsCommand::AllowAnyRole
            } else {
                SettingsCommand::AllowRoles { roles }
            };
            admin::change_settings(store, &instance, command, &cli_action()).await?
        }
        RolesCommand::Default {
            instance,
            none,
            roles,
        } => {
            let roles = if none { Vec::new() } else { roles };
            let command = SettingsCommand::SetDefaultRoles { roles };
            admin::change_settings(store, &instance, command, &cli_action()).await?
        }
    };
    if json {
        return print_json(&views::roles(&settings));
    }
    let allowed = if settings.allows_any_role() {
        "any".to_string()
    } else {
        settings.allowed_roles().join(", ")
    };
    let defaults = match settings.default_roles() {
        [] => "none".to_string(),
        roles => roles.join(", "),
    };
    println!("Allowed roles: {allowed}");
    println!("Default roles: {defaults}");
    Ok(())
}

pub async fn fields(store: &Store, command: FieldsCommand, json: bool) -> anyhow::Result<()> {
    let FieldsCommand::Add { instance, name } = command;
    let command = SettingsCommand::AddField { name };
    let settings = admin::change_settings(store, &instance, command, &cli_action()).await?;
    if json {
        return print_json(&views::mappings(&settings));
    }
    let added = settings.custom_fields().last().cloned().unwrap_or_default();
    println!("Added the text field {added:?} to instance {instance:?}.");
    Ok(())
}

pub async fn mappings(store: &Store, command: MappingsCommand, json: bool) -> anyhow::Result<()> {
    let settings = match command {
        MappingsCommand::Apply { instance } => return apply(store, &instance, json).await,
        MappingsCommand::Preview { instance, sample } => {
            return preview(store, &instance, sample, json).await
        }
        MappingsCommand::Show { instance } => admin::settings(store, &instance).await?,
        MappingsCommand::Set {
            instance,
            attribute,
            field,
        } => admin::set_mapping(store, &instance, &field, &attribute, &cli_action()).await?,
        MappingsCommand::Delete { instance, field } => {
            let command = SettingsCommand::DeleteMapping { field };
            admin::change_settings(store, &instance, command, &cli_action()).await?
        }
        MappingsCommand::Reset { instance } => {
            admin::change_settings(
                store,
                &instance,
                SettingsCommand::ResetMappings,
                &cli_action(),
            )
            .await?
        }
    };
    if json {
        return print_json(&views::mappings(&settings));
    }
    print_mapping(&settings);
    Ok(())
}

fn print_mapping(settings: &InstanceSettings) {
    print_table(
        &["FIELD", "ATTRIBUTE", ""],
        settings
            .mapping()
            .iter()
            .map(|row| {
                let note = if row.is_read_only() { "read-only" } else { "" };
                vec![row.field.clone(), row.attribute.clone(), note.to_string()]
            })
            .collect(),
    );
}

async fn apply(store: &Store, instance: &str, json: bool) -> anyhow::Result<()> {
    let progress = Progress::new(None);
    let outcome = admin::apply_mappings(store, instance, &cli_action(), |so_far| {
        let line = format!(
            "mapped {} users so far, {} changed",
            so_far.users, so_far.changed
        );
        progress.update(so_far.users, &line);
    })
    .await;
    progress.finish();
    let report = outcome?;
    if json {
        return print_json(&json!({"users": report.users, "changed": report.changed}));
    }
    println!(
        "Applied the mapping of {instance:?} to {} users; {} changed.",
        report.users, report.changed
    );
    Ok(())
}

async fn preview(store: &Store, instance: &str, sample: usize, json: bool) -> anyhow::Result<()> {
    let progress = Progress::new(None);
    let outcome = admin::preview_mappings(store, instance, sample, |so_far| {
        let line = format!(
            "checked {} users so far, {} would change",
            so_far.users, so_far.changed
        );
        progress.update(so_far.users, &line);
    })
    .await;
    progress.finish();
    let preview = outcome?;
    if json {
        return print_json(&views::remap_preview(&preview));
    }
    println!(
        "Applying the mapping of {instance:?} would change {} of {} users; nothing has been written.",
        preview.report.changed, preview.report.users
    );
    let shown = |value: &Option<String>| value.clone().unwrap_or_else(|| "(blank)".to_string());
    print_table(
        &["USERNAME", "FIELD", "NOW", "AFTER APPLYING"],
        preview
            .sample
            .iter()
            .flat_map(|user| {
                user.changes.iter().map(|change| {
                    vec![
                        user.user_name.clone(),
                        change.field.clone(),
                        shown(&change.old),
                        shown(&change.new),
                    ]
                })
            })
            .collect(),
    );
    Ok(())
}

pub async fn directory(store: &Store, command: DirectoryCommand) -> anyhow::Result<()> {
    match command {
        DirectoryCommand::Show {
            instance,
            user_name,
        } => {
            let entry = admin::directory_entry(store, &instance, &user_name).await?;
            print_json(&views::directory_entry(&entry))
        }
        DirectoryCommand::List {
            instance,
            updated_since,
        } => {
            let listing = admin::DirectoryListing {
                updated_since,
                after: None,
                limit: admin::MAX_DIRECTORY_PAGE,
            };
            // Written a page at a time as read: one page in memory, however large the instance.
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let output = |error: std::io::Error| admin::AdminError::Output(error.to_string());
            admin::each_directory_page(store, &instance, &listing, |page| {
                for entry in page {
                    writeln!(out, "{}", views::directory_user(entry)).map_err(output)?;
                }
                out.flush().map_err(output)
            })
            .await?;
            Ok(())
        }
    }
}

pub async fn import(store: &Store, args: ImportArgs, json: bool) -> anyhow::Result<()> {
    let lines = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let total = lines.lines().filter(|line| !line.trim().is_empty()).count();
    let progress = Progress::new(u64::try_from(total).ok());
    let outcome = import_users(
        store,
        &args.instance,
        &lines,
        &admin::Action::by_os_user(admin::Source::Import),
        |so_far| {
            progress.update(so_far, &format!("imported {so_far} accounts so far"));
        },
    )
    .await;
    progress.finish();
    let report = outcome?;
    if json {
        let rejected: Vec<serde_json::Value> = report
            .rejected
            .iter()
            .map(|r| json!({"line": r.line, "reason": r.reason}))
            .collect();
        print_json(&json!({
            "imported": report.imported,
            "skipped": report.skipped,
            "rejected": rejected,
        }))?;
    } else {
        for rejected in &report.rejected {
            eprintln!("line {}: {}", rejected.line, printable(&rejected.reason));
        }
    }
    if !report.rejected.is_empty() {
        anyhow::bail!(
            "{} lines refused; nothing was imported",
            report.rejected.len()
        );
    }
    if !json {
        println!(
            "Imported {} accounts into {:?}; {} were already there.",
            report.imported, args.instance, report.skipped
        );
    }
    Ok(())
}

/// A change made by whoever runs this command, from the command line.
pub(super) fn cli_action() -> admin::Action {
    admin::Action::by_os_user(admin::Source::Cli)
}
