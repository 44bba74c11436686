//! `scimd users search`: an instance's users whose userName, displayName or an email address
//! starts with a prefix (any case), a page at a time in userName order, as the console's users
//! page finds them.

use super::{print_json, print_table};
use clap::Subcommand;
use scimd::admin::{self, views, UserSearchCursor};
use scimd::store::Store;
use serde_json::json;

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Users whose userName, displayName or an email address starts with PREFIX (any case)
    Search {
        #[arg(long)]
        instance: String,
        /// Users per page (at most 1000)
        #[arg(long, default_value_t = admin::USER_SEARCH_PAGE)]
        count: i64,
        /// The next-page cursor a previous search printed
        #[arg(long)]
        cursor: Option<String>,
        /// Leave out to list every user
        #[arg(default_value = "")]
        prefix: String,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a cursor printed by `scimd users search`")]
struct InvalidCursor(String);

pub async fn users(store: &Store, command: UsersCommand, json: bool) -> anyhow::Result<()> {
    let UsersCommand::Search {
        instance,
        count,
        cursor,
        prefix,
    } = command;
    let after = match cursor {
        Some(text) => Some(UserSearchCursor::parse(&text).ok_or(InvalidCursor(text))?),
        None => None,
    };
    let (users, next) = admin::search_users(store, &instance, &prefix, after, count).await?;
    let next = next.map(|cursor| cursor.render());
    if json {
        let entries: Vec<_> = users.iter().map(views::found_user).collect();
        return print_json(&json!({"entries": entries, "nextCursor": next}));
    }
    let rows = users
        .iter()
        .map(|user| {
            let found = views::found_user(user);
            let emails: Vec<&str> = found["emails"]
                .as_array()
                .map(|emails| emails.iter().filter_map(|e| e.as_str()).collect())
                .unwrap_or_default();
            vec![
                user.user_name.clone(),
                user.display_name.clone().unwrap_or_default(),
                emails.join(", "),
                user.id.clone(),
            ]
        })
        .collect();
    print_table(&["USERNAME", "DISPLAY NAME", "EMAILS", "ID"], rows);
    if let Some(next) = next {
        println!("More users: add --cursor '{next}'");
    }
    Ok(())
}
