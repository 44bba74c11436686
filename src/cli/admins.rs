//! `scimd admins`: the named administrators who sign in to the admin API and the console.

use super::{print_json, print_table};
use clap::Subcommand;
use scimd::admin::{self, views};
use scimd::store::Store;
use serde_json::Value;

#[derive(Debug, Subcommand)]
pub enum AdminsCommand {
    /// Create an administrator; their credential is printed once, alone on the last line
    Create { name: String },
    /// List administrators (never their credentials)
    List,
    /// Revoke an administrator by id or name; refused from their next request on
    Revoke { admin: String },
}

pub async fn admins(store: &Store, command: AdminsCommand, json: bool) -> anyhow::Result<()> {
    match command {
        AdminsCommand::Create { name } => {
            let issued = admin::create_admin(store, &name).await?;
            if json {
                return print_json(&views::issued_admin(&issued));
            }
            println!(
                "Created administrator {:?} ({}).",
                issued.record.name, issued.record.id
            );
            println!("Hand it to them now: it is shown only this once.");
            println!("{}", issued.token);
        }
        AdminsCommand::List => {
            let admins = admin::list_admins(store).await?;
            if json {
                let listed: Vec<Value> = admins.iter().map(views::admin).collect();
                return print_json(&Value::Array(listed));
            }
            print_table(
                &["ID", "NAME", "CREATED", "REVOKED"],
                admins
                    .into_iter()
                    .map(|a| {
                        let revoked = a.revoked_at.unwrap_or_else(|| "-".into());
                        vec![a.id, a.name, a.created_at, revoked]
                    })
                    .collect(),
            );
        }
        AdminsCommand::Revoke { admin: which } => {
            let revoked = admin::revoke_admin(store, &which).await?;
            if json {
                return print_json(&views::admin(&revoked));
            }
            println!(
                "Revoked administrator {:?} ({}); their credential and sign-ins are refused \
                 from now on.",
                revoked.name, revoked.id
            );
        }
    }
    Ok(())
}
