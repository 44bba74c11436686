//! scimd: an event-sourced SCIM 2.0 provisioning backend.
//!
//! A request flows from `http` (authentication, extraction) through `scim` (protocol:
//! decoding, filters, PATCH, rendering) and `provisioning` (name reservations, commands,
//! read-your-writes) to the domain in the `aggregates` crate; events land in the `store` and
//! are projected by the `projections` crate into the tables reads are served from.

pub mod admin;
pub mod api_key;
pub mod correlation;
pub mod http;
pub mod ids;
pub mod limits;
pub mod metrics;
pub mod provisioning;
pub mod provisioning_log;
pub mod scim;
pub mod startup;
pub mod store;
pub mod tls;
pub mod webhooks;
