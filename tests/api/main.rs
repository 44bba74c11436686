//! Integration tests: scimd started on a real port over a real store (a SQLite file, or a
//! throwaway PostgreSQL server), driven over HTTP as an identity provider would.

mod common;

mod admin_api;
mod audit;
mod auth;
mod binary;
mod bulk;
mod console;
mod contention;
mod crash;
mod deleted_group_history;
mod directory;
mod discovery;
mod entra;
mod exposure;
mod groups;
mod health;
mod history;
mod hostile_input;
mod import;
mod instance_names;
mod isolation;
mod key_uses;
mod limits;
mod listing;
mod logs;
mod membership_history;
mod metrics;
mod okta;
mod onelogin;
mod provisioning_log;
mod provisioning_log_triage;
mod query_plans;
mod rate_limit;
mod read_model;
mod replicas;
mod roles;
mod settings;
mod shutdown;
mod statement_timeout;
mod time_travel;
mod timeouts;
mod uniqueness;
mod user_groups;
mod users;
