//! Every bound scimd puts on what one client may send or make it do, gathered in the one
//! value `serve` takes from its settings. Each bound answers with a SCIM error; the protocol
//! layer's own parts (`BulkLimits`, `ListLimits`, `ValueLimits`) live beside the code that
//! enforces them.

use crate::scim::bulk::BulkLimits;
use crate::scim::limits::ValueLimits;
use crate::scim::list::ListLimits;
use std::time::Duration;

/// Largest request body accepted by default (Bulk has its own, `BulkLimits`).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Largest body read of a request no credential has admitted (the open routes take none): an
/// anonymous client must not make scimd buffer `max_body_bytes` per connection.
pub const UNAUTHENTICATED_BODY_BYTES: usize = 4 * 1024;
/// Default time a request may take from its headers on, in seconds.
pub const REQUEST_TIMEOUT_SECS: u64 = 60;
/// Default time a client has to send a request's headers (and an idle connection to start
/// its next request), in seconds; hyper's own default.
pub const HEADER_READ_TIMEOUT_SECS: u64 = 30;
/// Default time a client has to send a request's body once its headers are in, in seconds.
pub const BODY_READ_TIMEOUT_SECS: u64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of a request body, but a Bulk request's (413).
    pub max_body_bytes: usize,
    /// maxOperations and maxPayloadSize of `/Bulk` (413).
    pub bulk: BulkLimits,
    /// Filter length and depth (400 invalidFilter), page size (clamped).
    pub list: ListLimits,
    /// String length, values per attribute, members per request (400 invalidValue).
    pub values: ValueLimits,
    /// From the headers to the response; beyond it the request is abandoned (503).
    pub request_timeout: Duration,
    /// To receive a request's headers; beyond it the connection is closed.
    pub header_read_timeout: Duration,
    /// To receive a request's body once its headers are in (408, and the connection closed).
    pub body_read_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: MAX_BODY_BYTES,
            bulk: BulkLimits::default(),
            list: ListLimits::default(),
            values: ValueLimits::default(),
            request_timeout: Duration::from_secs(REQUEST_TIMEOUT_SECS),
            header_read_timeout: Duration::from_secs(HEADER_READ_TIMEOUT_SECS),
            body_read_timeout: Duration::from_secs(BODY_READ_TIMEOUT_SECS),
        }
    }
}
