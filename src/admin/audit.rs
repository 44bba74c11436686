//! `audit verify`: checks each instance's hash chain against the event log, after bringing the
//! sealer up to everything committed so far.

use super::{catch_up, instance, AdminError};
use crate::store::tenancy::instances;
use crate::store::Store;
use projections::chain::audit::{ChainAudit, ChainCheck};

/// What verifying one instance's chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceChain {
    /// The instance's name.
    pub instance: String,
    pub check: ChainCheck,
}

/// Verifies the chain of the instance named `name`.
pub async fn verify_chain(store: &Store, name: &str) -> Result<InstanceChain, AdminError> {
    let mut found = verify_chains(store, Some(name)).await?;
    found
        .pop()
        .ok_or_else(|| AdminError::UnknownInstance(name.to_string()))
}

/// Verifies the chain of the instance named `only`, or of every instance.
pub async fn verify_chains(
    store: &Store,
    only: Option<&str>,
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
        let check = audit.verify(&target.id).await.map_err(failed)?;
        found.push(InstanceChain {
            instance: target.name,
            check,
        });
    }
    Ok(found)
}
