//! `scimd instances` and `scimd keys`: tenants and their API keys.

use super::settings::cli_action;
use super::{print_json, print_table};
use clap::Subcommand;
use scimd::admin::{self, views};
use scimd::store::Store;
use serde_json::Value;

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
    /// List an instance's keys (never their secrets) and when each was last used (to the
    /// minute: a use is written at most once a minute per key)
    List {
        #[arg(long)]
        instance: String,
    },
    /// Revoke a key; it stops working on the next request
    Revoke { key_id: String },
}

pub async fn instances(store: &Store, command: InstancesCommand, json: bool) -> anyhow::Result<()> {
    match command {
        InstancesCommand::Create { name } => {
            let instance = admin::create_instance(store, &name, &cli_action()).await?;
            if json {
                return print_json(&views::instance(&instance));
            }
            println!("Created instance {:?} ({})", instance.name, instance.id);
        }
        InstancesCommand::List => {
            let instances = admin::list_instances(store).await?;
            if json {
                let listed: Vec<Value> = instances.iter().map(views::instance).collect();
                return print_json(&Value::Array(listed));
            }
            print_table(
                &["NAME", "ID", "CREATED"],
                instances
                    .into_iter()
                    .map(|i| vec![i.name, i.id, i.created_at])
                    .collect(),
            );
        }
    }
    Ok(())
}

pub async fn keys(store: &Store, command: KeysCommand, json: bool) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create {
            instance,
            integration_user,
        } => {
            let issued =
                admin::create_key(store, &instance, &integration_user, &cli_action()).await?;
            if json {
                return print_json(&views::issued_key(&issued, &instance));
            }
            println!(
                "Created key {} for integration user {:?} of instance {:?}.",
                issued.record.id, issued.record.integration_user, instance
            );
            println!("Store it now: it is shown only this once.");
            println!("{}", issued.token);
        }
        KeysCommand::List { instance } => {
            let keys = admin::list_keys(store, &instance).await?;
            if json {
                let listed: Vec<Value> = keys.iter().map(views::key).collect();
                return print_json(&Value::Array(listed));
            }
            print_table(
                &[
                    "KEY ID",
                    "INTEGRATION USER",
                    "CREATED",
                    "REVOKED",
                    "LAST USED",
                ],
                keys.into_iter()
                    .map(|k| {
                        vec![
                            k.id,
                            k.integration_user,
                            k.created_at,
                            k.revoked_at.unwrap_or_else(|| "-".into()),
                            k.last_used_at.unwrap_or_else(|| "-".into()),
                        ]
                    })
                    .collect(),
            );
        }
        KeysCommand::Revoke { key_id } => {
            admin::revoke_key(store, &key_id, &cli_action()).await?;
            if json {
                return print_json(&views::revoked_key(&key_id));
            }
            println!("Revoked key {key_id}; requests with it are refused from now on.");
        }
    }
    Ok(())
}
