//! The application layer between the SCIM protocol and the domain: it reserves unique names,
//! turns requests into commands with their metadata, retries edits that raced, and answers
//! only once the read model shows the change (read-your-writes). No HTTP, no SQL text.

mod context;
mod error;
mod groups;
mod locks;
mod users;

pub use context::RequestContext;
pub use error::ProvisioningError;
pub use groups::GroupChange;

use crate::store::Store;
use locks::AggregateLocks;
use std::sync::Arc;

/// Edits based on a version that another request changed meanwhile are re-derived from the
/// fresh version this many times before giving up.
const EDIT_ATTEMPTS: usize = 8;

#[derive(Clone)]
pub struct Provisioning {
    store: Arc<Store>,
    locks: Arc<AggregateLocks>,
}

impl Provisioning {
    pub fn new(store: Arc<Store>) -> Self {
        Self {
            store,
            locks: Arc::default(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}
