//! `audit verify`: checks each instance's hash chain against the event log, after bringing the
//! sealer up to everything committed so far; and, given a head recorded elsewhere, whether the
//! chain still has it.
//!
//! The chain lives in the same database as the events, so someone who can write there can
//! rewrite events and chain together: only a head hash recorded outside the database (with the
//! number of events it covered) shows that. Checking it is one command.

use super::{catch_up, instance, AdminError};
use crate::store::tenancy::instances;
use crate::store::Store;
use projections::chain::audit::{ChainAudit, ChainCheck};
use projections::chain::from_hex;
use projections::hex::to_hex;

/// What verifying one instance's chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceChain {
    /// The instance's name.
    pub instance: String,
    pub check: ChainCheck,
}

/// A head hash recorded elsewhere, and how many events the chain held when it was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedHead {
    pub count: i64,
    /// Lowercase hex, as `audit verify` prints heads.
    pub hash: String,
}

impl ExpectedHead {
    /// `hash` is 64 hex digits in either case; `count` is 0 or more.
    pub fn parse(hash: &str, count: i64) -> Result<Self, AdminError> {
        let invalid = || AdminError::InvalidHead(hash.to_string());
        let digest = from_hex(&hash.to_ascii_lowercase()).ok_or_else(invalid)?;
        if count < 0 {
            return Err(AdminError::InvalidHeadCount(count));
        }
        Ok(Self {
            count,
            hash: to_hex(&digest),
        })
    }
}

/// How the chain compares with a recorded head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadCheck {
    /// The chain's entry at the recorded count has the recorded hash.
    Matches,
    /// It has another hash: the events up to it, and the chain with them, were rewritten (or
    /// the head was recorded at another count).
    Differs { found: String },
    /// The chain is intact but holds fewer events than the head covered: events were removed
    /// and the chain rewritten without them.
    Shorter { events: i64 },
    /// The chain is broken before the recorded count, so what stands there proves nothing.
    BrokenBefore { verified: i64 },
}

impl HeadCheck {
    fn of(check: &ChainCheck, expected: &ExpectedHead) -> Self {
        match &check.hash_at {
            Some(found) if *found == expected.hash => Self::Matches,
            Some(found) => Self::Differs {
                found: found.clone(),
            },
            None if check.intact() => Self::Shorter {
                events: check.verified,
            },
            None => Self::BrokenBefore {
                verified: check.verified,
            },
        }
    }

    pub fn matches(&self) -> bool {
        *self == Self::Matches
    }

    /// What an auditor reads: whether the head is there and, if not, what that means.
    pub fn describe(&self, expected: &ExpectedHead) -> String {
        let (count, hash) = (expected.count, &expected.hash);
        match self {
            Self::Matches => format!("entry {count} of the chain has the expected head {hash}"),
            Self::Differs { found } => format!(
                "entry {count} of the chain is {found}, not the expected head {hash}: the log up \
                 to it was rewritten together with its chain (or the head was recorded at \
                 another count)"
            ),
            Self::Shorter { events } => format!(
                "the chain holds only {events} events, fewer than the {count} the expected head \
                 {hash} covered: events were removed and the chain rewritten without them"
            ),
            Self::BrokenBefore { verified } => format!(
                "the chain is broken after its first {verified} events, before entry {count}: \
                 the expected head {hash} cannot be confirmed"
            ),
        }
    }
}

/// Verifies the chain of the instance named `name`.
pub async fn verify_chain(store: &Store, name: &str) -> Result<InstanceChain, AdminError> {
    check_chain(store, name, None).await
}

/// Verifies the chain of the instance named `name` and compares it with a recorded head.
pub async fn verify_head(
    store: &Store,
    name: &str,
    expected: &ExpectedHead,
) -> Result<(InstanceChain, HeadCheck), AdminError> {
    let chain = check_chain(store, name, Some(expected.count)).await?;
    let head = HeadCheck::of(&chain.check, expected);
    Ok((chain, head))
}

/// `check_chains` of the one instance named `name`.
async fn check_chain(
    store: &Store,
    name: &str,
    at_count: Option<i64>,
) -> Result<InstanceChain, AdminError> {
    let mut found = check_chains(store, Some(name), at_count).await?;
    found
        .pop()
        .ok_or_else(|| AdminError::UnknownInstance(name.to_string()))
}

/// Verifies the chain of the instance named `only`, or of every instance.
pub async fn verify_chains(
    store: &Store,
    only: Option<&str>,
) -> Result<Vec<InstanceChain>, AdminError> {
    check_chains(store, only, None).await
}

/// `verify_chains`; with `at_count`, each check keeps the hash after that many events.
async fn check_chains(
    store: &Store,
    only: Option<&str>,
    at_count: Option<i64>,
) -> Result<Vec<InstanceChain>, AdminError> {
    let targets = match only {
        Some(name) => vec![instance(store, name).await?],
        None => instances(&store.db).await?,
    };
    catch_up(store).await?;
    let failed = |error: projections::error::ProjectionError| AdminError::Store(error.to_string());
    let audit = ChainAudit::start(&store.db).await.map_err(failed)?;
    let mut found = Vec::with_capacity(targets.len());
    for target in targets {
        let check = audit.verify(&target.id, at_count).await.map_err(failed)?;
        found.push(InstanceChain {
            instance: target.name,
            check,
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(verified: i64, intact: bool, hash_at: Option<&str>) -> ChainCheck {
        use projections::chain::audit::{Discrepancy, Tampering};
        ChainCheck {
            instance_id: "i".into(),
            verified,
            head: None,
            discrepancy: (!intact).then_some(Discrepancy {
                kind: Tampering::Altered,
                chain_position: verified + 1,
                event: None,
            }),
            hash_at: hash_at.map(str::to_string),
        }
    }

    #[test]
    fn a_recorded_head_is_read_in_either_case_and_must_be_a_hash() {
        let upper = "AB".repeat(32);
        let parsed = ExpectedHead::parse(&upper, 3).map(|head| head.hash);
        assert_eq!(parsed.ok(), Some("ab".repeat(32)));
        assert!(ExpectedHead::parse("abc", 3).is_err());
        assert!(ExpectedHead::parse(&"g".repeat(64), 3).is_err());
        assert!(ExpectedHead::parse(&upper, -1).is_err());
    }

    #[test]
    fn the_head_is_matched_found_different_missing_or_past_a_break() {
        let expected = ExpectedHead {
            count: 2,
            hash: "a".repeat(64),
        };
        let of = |check: ChainCheck| HeadCheck::of(&check, &expected);
        assert_eq!(
            of(check(5, true, Some(&"a".repeat(64)))),
            HeadCheck::Matches
        );
        let found = "b".repeat(64);
        assert_eq!(
            of(check(5, true, Some(&found))),
            HeadCheck::Differs { found }
        );
        assert_eq!(of(check(1, true, None)), HeadCheck::Shorter { events: 1 });
        assert_eq!(
            of(check(1, false, None)),
            HeadCheck::BrokenBefore { verified: 1 }
        );
    }
}
