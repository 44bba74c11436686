//! The command line: `serve`, and the administration of instances and keys.

use aggregates::settings::{InstanceSettings, SettingsCommand};
use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use scimd::admin_token::AdminToken;
use scimd::scim::bulk::BulkLimits;
use scimd::startup::{self, ServerSettings};
use scimd::store::{redact, Store, StoreSettings};
use scimd::{admin_ops, admin_views};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://./scimd.db";

#[derive(Debug, Parser)]
#[command(
    name = "scimd",
    version,
    about = "An event-sourced SCIM 2.0 provisioning backend"
)]
pub struct Cli {
    /// The store: sqlite://PATH (created if missing) or postgres://USER[:PASSWORD]@HOST[:PORT]/DB
    #[arg(long, global = true, env = "SCIMD_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the SCIM API (on a store without instances, first creates `default` and prints a key)
    Serve(ServeArgs),
    /// Manage instances (tenants)
    #[command(subcommand)]
    Instances(InstancesCommand),
    /// Manage API keys
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The roles an instance's provisioned users may have, and those new users get
    #[command(subcommand)]
    Roles(RolesCommand),
    /// Custom text fields of an instance's application User entity
    #[command(subcommand)]
    Fields(FieldsCommand),
    /// Which SCIM attribute fills which field of the application's User entity
    #[command(subcommand)]
    Mappings(MappingsCommand),
    /// The application's user directory that the mapping fills
    #[command(subcommand)]
    Directory(DirectoryCommand),
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
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
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
    /// Fill every user's fields again with the current mapping (a mapped event per change)
    Apply {
        #[arg(long)]
        instance: String,
        /// Print the outcome as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// The application User entity of a user, as JSON
    Show {
        #[arg(long)]
        instance: String,
        user_name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RolesCommand {
    /// Show the allowed and the default roles
    Show {
        #[arg(long)]
        instance: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
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

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port
    #[arg(long, env = "SCIMD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Base URL clients reach scimd at, when a proxy hides it (e.g. https://scim.example.com)
    #[arg(long, env = "SCIMD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Database connections in the pool
    #[arg(long, env = "SCIMD_POOL_SIZE", default_value_t = 16)]
    pub pool_size: u32,
    /// Largest request body accepted, in bytes (larger bodies get 413)
    #[arg(long, env = "SCIMD_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Most operations in one /Bulk request (more get 413)
    #[arg(long, env = "SCIMD_BULK_MAX_OPERATIONS", default_value_t = 1000)]
    pub bulk_max_operations: usize,
    /// Largest /Bulk request body accepted, in bytes (larger bodies get 413)
    #[arg(long, env = "SCIMD_BULK_MAX_PAYLOAD_BYTES", default_value_t = 1024 * 1024)]
    pub bulk_max_payload_bytes: usize,
    /// Enables the admin HTTP API under /admin/v1 with this secret (at least 32 characters);
    /// prefer the environment variable, which stays out of the process list
    #[arg(long, env = "SCIMD_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum InstancesCommand {
    /// Create an instance
    Create { name: String },
    /// List instances
    List,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an API key; the key is printed once, alone on the last line
    Create {
        #[arg(long)]
        instance: String,
        /// The integration user changes made with this key are recorded as made by
        #[arg(long)]
        integration_user: String,
    },
    /// List an instance's keys (never their secrets)
    List {
        #[arg(long)]
        instance: String,
    },
    /// Revoke a key; it stops working on the next request
    Revoke { key_id: String },
}

/// How long a write waits for the read model to show it before answering 503.
const PROJECTION_WAIT: Duration = Duration::from_secs(10);
const ADMIN_POOL_SIZE: u32 = 2;

async fn open(database: &str, pool_size: u32) -> anyhow::Result<Arc<Store>> {
    let settings = StoreSettings {
        database_url: database.to_string(),
        pool_size,
        projection_wait: PROJECTION_WAIT,
    };
    let store = Store::open(&settings)
        .await
        .with_context(|| format!("opening the store at {}", redact(database)))?;
    Ok(Arc::new(store))
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(&cli.database, args).await,
        Command::Instances(command) => {
            let store = open(&cli.database, ADMIN_POOL_SIZE).await?;
            match command {
                InstancesCommand::Create { name } => {
                    let instance = admin_ops::create_instance(&store, &name).await?;
                    println!("Created instance {:?} ({})", instance.name, instance.id);
                }
                InstancesCommand::List => {
                    let instances = admin_ops::list_instances(&store).await?;
                    print_table(
                        &["NAME", "ID", "CREATED"],
                        instances
                            .into_iter()
                            .map(|i| vec![i.name, i.id, i.created_at])
                            .collect(),
                    );
                }
            }
            store.db.close().await;
            Ok(())
        }
        Command::Keys(command) => {
            let store = open(&cli.database, ADMIN_POOL_SIZE).await?;
            match command {
                KeysCommand::Create {
                    instance,
                    integration_user,
                } => {
                    let issued =
                        admin_ops::create_key(&store, &instance, &integration_user).await?;
                    println!(
                        "Created key {} for integration user {:?} of instance {:?}.",
                        issued.record.id, issued.record.integration_user, instance
                    );
                    println!("Store it now: it is shown only this once.");
                    println!("{}", issued.token);
                }
                KeysCommand::List { instance } => {
                    let keys = admin_ops::list_keys(&store, &instance).await?;
                    print_table(
                        &["KEY ID", "INTEGRATION USER", "CREATED", "REVOKED"],
                        keys.into_iter()
                            .map(|k| {
                                vec![
                                    k.id,
                                    k.integration_user,
                                    k.created_at,
                                    k.revoked_at.unwrap_or_else(|| "-".into()),
                                ]
                            })
                            .collect(),
                    );
                }
                KeysCommand::Revoke { key_id } => {
                    admin_ops::revoke_key(&store, &key_id).await?;
                    println!("Revoked key {key_id}; requests with it are refused from now on.");
                }
            }
            store.db.close().await;
            Ok(())
        }
        Command::Roles(command) => {
            let store = open(&cli.database, ADMIN_POOL_SIZE).await?;
            let outcome = roles(&store, command).await;
            store.db.close().await;
            outcome
        }
        Command::Fields(FieldsCommand::Add { instance, name }) => {
            let store = open(&cli.database, ADMIN_POOL_SIZE).await?;
            let command = SettingsCommand::AddField { name };
            let outcome = admin_ops::change_settings(&store, &instance, command).await;
            store.db.close().await;
            let settings = outcome?;
            let added = settings.custom_fields().last().cloned().unwrap_or_default();
            println!("Added the text field {added:?} to instance {instance:?}.");
            Ok(())
        }
        Command::Mappings(command) => {
            let store = open(&cli.database, ADMIN_POOL_SIZE).await?;
            let outcome = mappings(&store, command).await;
            store.db.close().await;
            outcome
        }
        Command::Directory(DirectoryCommand::Show {
            instance,
            user_name,
        }) => {
            let store = open(&cli.database, ADMIN_POOL_SIZE).await?;
            let outcome = admin_ops::directory_entry(&store, &instance, &user_name).await;
            store.db.close().await;
            let shown = admin_views::directory_entry(&outcome?);
            println!("{}", serde_json::to_string_pretty(&shown)?);
            Ok(())
        }
    }
}

async fn roles(store: &Store, command: RolesCommand) -> anyhow::Result<()> {
    let (settings, json) = match command {
        RolesCommand::Show { instance, json } => {
            (admin_ops::settings(store, &instance).await?, json)
        }
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
            (
                admin_ops::change_settings(store, &instance, command).await?,
                false,
            )
        }
        RolesCommand::Default {
            instance,
            none,
            roles,
        } => {
            let roles = if none { Vec::new() } else { roles };
            let command = SettingsCommand::SetDefaultRoles { roles };
            (
                admin_ops::change_settings(store, &instance, command).await?,
                false,
            )
        }
    };
    print_roles(&settings, json)
}

async fn mappings(store: &Store, command: MappingsCommand) -> anyhow::Result<()> {
    let (settings, json) = match command {
        MappingsCommand::Apply { instance, json } => {
            return apply_mappings(store, &instance, json).await
        }
        MappingsCommand::Show { instance, json } => {
            (admin_ops::settings(store, &instance).await?, json)
        }
        MappingsCommand::Set {
            instance,
            attribute,
            field,
        } => (
            admin_ops::set_mapping(store, &instance, &field, &attribute).await?,
            false,
        ),
        MappingsCommand::Delete { instance, field } => {
            let command = SettingsCommand::DeleteMapping { field };
            (
                admin_ops::change_settings(store, &instance, command).await?,
                false,
            )
        }
        MappingsCommand::Reset { instance } => {
            let command = SettingsCommand::ResetMappings;
            (
                admin_ops::change_settings(store, &instance, command).await?,
                false,
            )
        }
    };
    if json {
        let shown = admin_views::mappings(&settings);
        println!("{}", serde_json::to_string_pretty(&shown)?);
    } else {
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
    Ok(())
}

async fn apply_mappings(store: &Store, instance: &str, json: bool) -> anyhow::Result<()> {
    let report = admin_ops::apply_mappings(store, instance, |so_far| {
        eprintln!(
            "mapped {} users so far, {} changed",
            so_far.users, so_far.changed
        );
    })
    .await?;
    if json {
        let shown = serde_json::json!({"users": report.users, "changed": report.changed});
        println!("{shown}");
    } else {
        println!(
            "Applied the mapping of {instance:?} to {} users; {} changed.",
            report.users, report.changed
        );
    }
    Ok(())
}

fn default_roles(settings: &InstanceSettings) -> String {
    match settings.default_roles() {
        [] => "none".to_string(),
        roles => roles.join(", "),
    }
}

fn print_roles(settings: &InstanceSettings, json: bool) -> anyhow::Result<()> {
    if json {
        let shown = admin_views::roles(settings);
        println!("{}", serde_json::to_string_pretty(&shown)?);
    } else if settings.allows_any_role() {
        println!("Allowed roles: any");
        println!("Default roles: {}", default_roles(settings));
    } else {
        println!("Allowed roles: {}", settings.allowed_roles().join(", "));
        println!("Default roles: {}", default_roles(settings));
    }
    Ok(())
}

async fn serve(database: &str, args: ServeArgs) -> anyhow::Result<()> {
    let store = open(database, args.pool_size).await?;
    if let Some(issued) = admin_ops::ensure_default_instance(&store).await? {
        println!(
            "Created instance {:?} with an API key for integration user {:?}.",
            admin_ops::DEFAULT_INSTANCE,
            issued.record.integration_user
        );
        println!("Store the key now: it is shown only this once.");
        println!("{}", issued.token);
    }
    let listener = TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let address = listener.local_addr()?;
    println!(
        "scimd listening on http://{address}/scim/v2 (store: {})",
        redact(database)
    );
    let admin_token = args
        .admin_token
        .as_deref()
        .map(AdminToken::new)
        .transpose()?;
    let settings = ServerSettings {
        admin_token,
        public_url: args.public_url,
        max_body_bytes: args.max_body_bytes,
        bulk: BulkLimits {
            max_operations: args.bulk_max_operations,
            max_payload_bytes: args.bulk_max_payload_bytes,
        },
        ..ServerSettings::default()
    };
    startup::serve(Arc::clone(&store), settings, listener, shutdown_signal()).await?;
    store.db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM; in-flight requests then finish before the process exits.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}

fn print_table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(row);
    }
}
