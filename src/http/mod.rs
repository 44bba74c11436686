//! The HTTP surface: routes, authentication, request extraction and SCIM handlers. Handlers
//! authenticate, parse, call the provisioning layer and render; they hold no SQL and no rules.

mod activity;
mod admin;
mod admin_admins;
mod admin_auth;
mod admin_directory;
mod admin_events;
mod admin_finding;
mod admin_tenancy;
mod admin_verify;
mod admin_webhooks;
mod auth;
mod bounds;
mod bulk;
mod canonical;
mod challenge;
pub mod connections;
mod console;
mod discovery;
mod documents;
mod extract;
mod failed_auth;
mod groups;
mod health;
mod json;
mod listing;
mod metrics;
mod origin;
mod protocol;
mod rate_limit;
mod response;
mod router;
mod search;
mod users;

pub use failed_auth::{
    FailedAuthLimit, FailedAuthLimiter, FAILED_AUTH_BURST, FAILED_AUTH_PER_MINUTE,
};
pub use rate_limit::{KeyLimiter, RateLimit};
pub use router::{router, AppState, Webhooks};
