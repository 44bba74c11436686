//! The SCIM 2.0 protocol layer (RFC 7643, RFC 7644): schemas, resource decoding and rendering,
//! filters, PATCH, listing, and the error document. Pure except for logging: no HTTP routing,
//! no store access.

pub mod bulk;
pub mod endpoints;
pub mod error;
pub mod filter;
pub mod limits;
pub mod list;
pub mod mapping;
pub mod patch;
pub mod query;
pub mod render;
pub mod resource;
pub mod schema;
pub mod select;
