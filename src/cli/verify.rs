//! `scimd verify`: the live read models against a rebuild from the event log.

use super::progress::Progress;
use scimd::admin::{self, views, VerifyReport, VerifyStep};
use scimd::store::Store;

#[derive(Debug, thiserror::Error)]
#[error("the live read models differ from a rebuild from the event log: {0}")]
struct Differs(String);

pub async fn verify(store: &Store, json: bool) -> anyhow::Result<()> {
    let total = admin::event_count(store).await?;
    let progress = Progress::new(u64::try_from(total).ok());
    let started = std::time::Instant::now();
    let outcome = admin::verify(store, |step| match step {
        VerifyStep::Copied(done) => progress.update(
            done,
            &format!("copied {done} of {total} events to a scratch store"),
        ),
        VerifyStep::Applied(done) => {
            progress.update(done, &format!("rebuilt from {done} of {total} events"))
        }
    })
    .await;
    progress.finish();
    let report = outcome?;
    let seconds = started.elapsed().as_secs_f64();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&views::verify_report(&report, seconds))?
        );
    } else {
        print_report(&report, seconds);
    }
    let differing = report.differing();
    if differing.is_empty() {
        Ok(())
    } else {
        Err(Differs(differing.join(", ")).into())
    }
}

fn print_report(report: &VerifyReport, seconds: f64) {
    println!(
        "Rebuilt every projection from {} events (up to {}) in a scratch store in {seconds:.1} s.",
        report.events, report.at
    );
    let rows = report
        .projections
        .iter()
        .map(|projection| {
            vec![
                projection.name.to_string(),
                projection.live_rows().to_string(),
                short(&projection.live_digest),
                short(&projection.rebuilt_digest),
                if projection.identical() {
                    "identical"
                } else {
                    "DIFFERENT"
                }
                .to_string(),
            ]
        })
        .collect();
    super::print_table(
        &[
            "PROJECTION",
            "ROWS",
            "LIVE DIGEST",
            "REBUILT DIGEST",
            "RESULT",
        ],
        rows,
    );
    for projection in report.projections.iter().filter(|p| !p.identical()) {
        for table in &projection.tables {
            if table.only_live.is_empty() && table.only_rebuilt.is_empty() {
                continue;
            }
            println!(
                "{}: {} live rows, {} rebuilt rows",
                table.table, table.live_rows, table.rebuilt_rows
            );
            for row in &table.only_live {
                println!("  only live:    {}", super::printable(row));
            }
            for row in &table.only_rebuilt {
                println!("  only rebuilt: {}", super::printable(row));
            }
        }
    }
}

/// The first 16 hex digits: enough to tell digests apart by eye.
fn short(digest: &str) -> String {
    digest.chars().take(16).collect()
}
