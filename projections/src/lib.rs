//! scimd's read models and the runner that keeps them in step with the event log.
//!
//! Every table here is derived from events alone and can be dropped and rebuilt; the runner
//! applies events in global order and records each projection's checkpoint in the same
//! transaction as its tables. Nothing here speaks HTTP.

pub mod chain;
pub mod db;
pub mod digest;
pub mod directory;
pub mod error;
pub mod event_log;
pub mod feed;
pub mod group_members;
pub mod held;
pub mod hex;
pub mod history;
pub mod metadata;
pub mod runner;
pub mod scim_groups;
pub mod scim_users;
pub mod time_travel;
pub mod totals;
pub mod user_emails;
pub mod user_search;

#[cfg(test)]
mod test_log;

use runner::Projection;
use std::sync::Arc;

/// Every projection scimd maintains, in the order they apply each event, and the sealer of
/// the hash chain, so that every process that applies events also seals them; the change
/// feed last, like the chain a record that is never rebuilt.
pub fn all() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(chain::sealer::Sealer::default()),
        Arc::new(scim_users::ScimUsers::default()),
        Arc::new(user_emails::UserEmails::default()),
        Arc::new(scim_groups::ScimGroups::default()),
        Arc::new(directory::Directory::default()),
        Arc::new(history::History::default()),
        Arc::new(feed::Feed::default()),
    ]
}
