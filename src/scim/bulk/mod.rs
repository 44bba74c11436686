//! SCIM Bulk (RFC 7644 §3.7): reading the request, and ordering its operations so that each
//! runs after the POSTs whose `bulkId` it refers to. Pure: running the operations is the HTTP
//! layer's business (`src/http/bulk.rs`), through the same functions as the single endpoints.

pub mod plan;
pub mod request;

pub use plan::{plan, resolve, Step};
pub use request::{parse_bulk_request, precondition, Action, BulkRequest, Operation};

pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// What a Bulk request may hold (RFC 7644 §3.7.4), as advertised in `/ServiceProviderConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkLimits {
    pub max_operations: usize,
    pub max_payload_bytes: usize,
}

impl Default for BulkLimits {
    fn default() -> Self {
        Self {
            max_operations: 1000,
            max_payload_bytes: 1024 * 1024,
        }
    }
}
