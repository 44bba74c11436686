//! `scimd audit verify`: checks each instance's event log against its hash chain, one line (or
//! JSON document) per instance, and fails when any chain is broken; with `--expect-head` and
//! `--at-count`, also when the chain does not have a head recorded elsewhere.

use super::{print_json, printable};
use clap::Subcommand;
use scimd::admin::{self, views, AdminError, ExpectedHead, InstanceChain};
use scimd::store::Store;
use serde_json::Value;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check that no event was altered, removed, inserted or reordered since it was sealed;
    /// prints each chain's head hash, to record elsewhere and compare later
    Verify {
        /// Only this instance (default: every instance)
        #[arg(long)]
        instance: Option<String>,
        /// A head hash recorded elsewhere earlier: fail unless the chain still has it at
        /// entry --at-count (a rewrite of events and chain together shows only this way)
        #[arg(long, requires_all = ["instance", "at_count"])]
        expect_head: Option<String>,
        /// How many events the instance's chain held when the expected head was recorded
        #[arg(long, requires = "expect_head")]
        at_count: Option<i64>,
    },
}

pub async fn audit(store: &Store, command: AuditCommand, json: bool) -> anyhow::Result<()> {
    let AuditCommand::Verify {
        instance,
        expect_head,
        at_count,
    } = command;
    if let (Some(name), Some(hash), Some(count)) = (&instance, &expect_head, at_count) {
        let expected = ExpectedHead::parse(hash, count)?;
        return verify_head(store, name, &expected, json).await;
    }
    let found = admin::verify_chains(store, instance.as_deref()).await?;
    if json {
        print_json(&Value::Array(
            found.iter().map(views::instance_chain).collect(),
        ))?;
    } else {
        for instance in &found {
            println!("{}", printable(&line(instance)));
        }
    }
    let broken = found.iter().filter(|found| !found.check.intact()).count();
    if broken > 0 {
        return Err(AdminError::ChainBroken(broken).into());
    }
    Ok(())
}

async fn verify_head(
    store: &Store,
    name: &str,
    expected: &ExpectedHead,
    json: bool,
) -> anyhow::Result<()> {
    let (found, head) = admin::verify_head(store, name, expected).await?;
    if json {
        let report = views::instance_chain_with_head(&found, expected, &head);
        print_json(&Value::Array(vec![report]))?;
    } else {
        println!("{}", printable(&line(&found)));
        println!(
            "instance {}: {}",
            printable(&found.instance),
            head.describe(expected)
        );
    }
    if !head.matches() {
        return Err(AdminError::UnexpectedHead {
            instance: found.instance,
            detail: head.describe(expected),
        }
        .into());
    }
    if !found.check.intact() {
        return Err(AdminError::ChainBroken(1).into());
    }
    Ok(())
}

fn line(found: &InstanceChain) -> String {
    let check = &found.check;
    let Some(discrepancy) = &check.discrepancy else {
        return format!(
            "instance {}: {}, chain intact, head {}",
            found.instance,
            events(check.verified),
            check.head.as_deref().unwrap_or_default()
        );
    };
    let event = match &discrepancy.event {
        Some(event) => format!(
            "global position {}, {} {}/{}",
            event.position.position, event.aggregate_type, event.aggregate_id, event.sequence
        ),
        None => "its chain entry is gone too".to_string(),
    };
    format!(
        "instance {}: {} at chain position {} ({event}); {} intact before it",
        found.instance,
        discrepancy.kind.as_str().to_uppercase(),
        discrepancy.chain_position,
        events(check.verified)
    )
}

fn events(count: i64) -> String {
    match count {
        1 => "1 event".to_string(),
        _ => format!("{count} events"),
    }
}
