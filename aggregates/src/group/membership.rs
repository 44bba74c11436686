//! How the Group aggregate learns who its members are without holding them.
//!
//! A group can have 100,000 members; keeping them in the aggregate would make every command
//! load and every snapshot write all of them. Instead the aggregate asks, for exactly the
//! members a command touches, what the membership was at the version it loaded. The reader
//! answers from the membership read model, which is built from these same events.

use super::values::{Member, MemberId};
use async_trait::async_trait;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipReadError {
    /// The read model has already moved past `version`: the aggregate's state is outdated.
    #[error("membership view is ahead of version {version}")]
    Ahead { version: u64 },
    #[error("{0}")]
    Unavailable(String),
}

#[async_trait]
pub trait MembershipReader: Send + Sync {
    /// The members of `group_id` as of its `version`: all of them when `among` is `None`,
    /// otherwise only those whose id is in `among`.
    async fn members(
        &self,
        group_id: &str,
        version: u64,
        among: Option<&[MemberId]>,
    ) -> Result<Vec<Member>, MembershipReadError>;
}

/// The services a Group needs to decide its commands.
#[derive(Clone)]
pub struct GroupServices {
    pub membership: Arc<dyn MembershipReader>,
}
