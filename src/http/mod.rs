//! The HTTP surface: routes, authentication, request extraction and SCIM handlers. Handlers
//! authenticate, parse, call the provisioning layer and render; they hold no SQL and no rules.

mod admin;
mod admin_tenancy;
mod auth;
mod bounds;
mod bulk;
mod challenge;
pub mod connections;
mod console;
mod discovery;
mod documents;
mod extract;
mod groups;
mod health;
mod json;
mod listing;
mod metrics;
mod rate_limit;
mod response;
mod router;
mod search;
mod users;

pub use rate_limit::{KeyLimiter, RateLimit};
pub use router::{router, AppState};
