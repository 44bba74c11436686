//! The provisioning log: every SCIM request of a known instance with its outcome, and for a
//! failure its SCIM error and its body without credentials, so that a support engineer can
//! answer "why was alice@corp not created?" from an IdP's correlation id or a userName.
//!
//! Written off the request path (`writer`), described by pure code (`describe`, `redact`),
//! captured by middleware (`capture`), cut to size (`bound`), stored in a plain table (`store::provisioning_log`) and
//! pruned after the retention period (`retention`). It is not derived from events and is
//! never rebuilt.

pub mod bound;
mod capture;
pub mod describe;
pub mod redact;
mod retention;
mod writer;

pub use capture::{capture, read_body, Capture, SeenBody};
pub use retention::{prune, start_pruning};
pub use writer::{LogError, ProvisioningLog, QUEUE_CAPACITY};
