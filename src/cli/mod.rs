//! The command line: `serve`, and the administration of instances, keys and instance settings.
//! Every command takes `--database`; administrative commands print JSON with `--json` (`show`
//! always prints JSON: it shows a SCIM document).

mod admins;
mod audit;
mod events;
mod history;
mod progress;
mod provisioning_log;
mod serve;
mod settings;
mod show;
mod spreadsheet;
mod tenancy;
mod terminal;
mod users;
mod verify;
mod webhooks;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use scimd::store::{redact, IfAbsent, Store, StoreSettings};
use serde_json::Value;
use std::io::Write as _;
use std::sync::Arc;
use terminal::printable;

use admins::AdminsCommand;
use audit::AuditCommand;
pub use serve::{LogFormat, ServeArgs};
use settings::{DirectoryCommand, FieldsCommand, MappingsCommand, RolesCommand};
use tenancy::{InstancesCommand, KeysCommand};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://./scimd.db";

#[derive(Debug, Parser)]
#[command(
    name = "scimd",
    version,
    about = "An event-sourced SCIM 2.0 provisioning backend"
)]
pub struct Cli {
    /// The store: sqlite://PATH or postgres://USER[:PASSWORD]@HOST[:PORT]/DB (`serve`,
    /// `instances create` and `admins create` set up a store where there is none yet; the other
    /// commands refuse)
    #[arg(long, global = true, env = "SCIMD_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database: String,
    /// Print the result as JSON (administrative commands)
    #[arg(long, global = true)]
    pub json: bool,
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
    /// Named administrators of the admin API and console
    #[command(subcommand)]
    Admins(AdminsCommand),
    /// The roles an instance's provisioned users may have, and those new users get
    #[command(subcommand)]
    Roles(RolesCommand),
    /// Find an instance's users
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Custom text fields of an instance's application User entity
    #[command(subcommand)]
    Fields(FieldsCommand),
    /// Which SCIM attribute fills which field of the application's User entity
    #[command(subcommand)]
    Mappings(MappingsCommand),
    /// The application's user directory that the mapping fills
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Import accounts that existed before provisioning from a JSON Lines file of SCIM Users
    Import(settings::ImportArgs),
    /// An instance's change history, in order (table, JSON Lines or CSV)
    History(history::HistoryArgs),
    /// An instance's change feed: the public events (JSON Lines), after a cursor, --follow to wait for more
    Events(events::EventsArgs),
    /// Empty every projection and rebuild it from the event log (stop the servers first)
    Rebuild,
    /// Rebuild every projection into a scratch store and compare it with the live read models
    Verify,
    /// Tamper evidence: check the event log against its hash chain
    #[command(subcommand)]
    Audit(AuditCommand),
    /// A user or group as the SCIM API showed it at a past time (--at) or now, from the event log
    Show(show::ShowArgs),
    /// An instance's SCIM requests and their outcomes, in order (table or JSON Lines)
    ProvisioningLog(provisioning_log::ProvisioningLogArgs),
    /// An instance's webhook endpoints: signed deliveries of its events
    Webhooks(webhooks::WebhooksArgs),
}

const ADMIN_POOL_SIZE: u32 = 2;

impl Command {
    /// Whether the command may set up a store where there is none: serving, and the first
    /// steps a person may take before the first serve (their instance, their administrator).
    fn sets_up_a_store(&self) -> bool {
        matches!(
            self,
            Command::Serve(_)
                | Command::Instances(InstancesCommand::Create { .. })
                | Command::Admins(AdminsCommand::Create { .. })
        )
    }
}

async fn open(settings: &StoreSettings) -> anyhow::Result<Arc<Store>> {
    let database = &settings.database_url;
    match Store::open(settings).await {
        Ok(store) => Ok(Arc::new(store)),
        Err(absent) if absent.is_absent() => Err(anyhow::anyhow!(
            "{absent}\nChoose the store with --database URL or SCIMD_DATABASE_URL, or run \
             `scimd serve` (or `scimd instances create NAME`) once to set this one up."
        )),
        Err(error) => {
            Err(error).with_context(|| format!("opening the store at {}", redact(database)))
        }
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Serve(args) = cli.command {
        return serve::serve(&cli.database, args).await;
    }
    let if_absent = if cli.command.sets_up_a_store() {
        IfAbsent::Create
    } else {
        IfAbsent::Refuse
    };
    let store = open(&StoreSettings {
        if_absent,
        ..StoreSettings::new(&cli.database, ADMIN_POOL_SIZE)
    })
    .await?;
    let json = cli.json;
    let outcome = match cli.command {
        Command::Serve(_) => Ok(()),
        Command::Instances(command) => tenancy::instances(&store, command, json).await,
        Command::Keys(command) => tenancy::keys(&store, command, json).await,
        Command::Admins(command) => admins::admins(&store, command, json).await,
        Command::Roles(command) => settings::roles(&store, command, json).await,
        Command::Users(command) => users::users(&store, command, json).await,
        Command::Fields(command) => settings::fields(&store, command, json).await,
        Command::Mappings(command) => settings::mappings(&store, command, json).await,
        Command::Directory(command) => settings::directory(&store, command).await,
        Command::Import(args) => settings::import(&store, args, json).await,
        Command::History(args) => history::history(&store, args).await,
        Command::Events(args) => events::events(&store, args).await,
        Command::Rebuild => history::rebuild(&store, json).await,
        Command::Verify => verify::verify(&store, json).await,
        Command::Audit(command) => audit::audit(&store, command, json).await,
        Command::Show(args) => show::show(&store, args).await,
        Command::ProvisioningLog(args) => provisioning_log::provisioning_log(&store, args).await,
        Command::Webhooks(args) => webhooks::webhooks(&store, args, json).await,
    };
    store.db.close().await;
    outcome
}

/// Prints a command's result as one JSON document.
fn print_json(value: &Value) -> anyhow::Result<()> {
    // Written, not printed: a reader that went away (`| head`) is an error, not a panic.
    writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(value)?
    )?;
    Ok(())
}

fn print_table(headers: &[&str], rows: Vec<Vec<String>>) {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|cell| printable(cell).into_owned())
                .collect()
        })
        .collect();
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
