//! What a run measured: the delivery rate, the delay from commit to delivery, and whether
//! delivery kept up with the writes.

use super::load::Written;
use super::receiver::Arrival;
use std::collections::HashSet;
use std::time::Instant;

/// The delay of one delivery in milliseconds; negative when it arrived before the SCIM
/// response did (the event is in the feed once committed and projected, which the response
/// also waits for).
fn signed_ms(from: Instant, to: Instant) -> f64 {
    if to >= from {
        to.duration_since(from).as_secs_f64() * 1000.0
    } else {
        -(from.duration_since(to).as_secs_f64() * 1000.0)
    }
}

/// p50, p95, p99 and max of `values`, in their unit.
fn percentiles(values: &mut [f64]) -> String {
    if values.is_empty() {
        return "none".to_string();
    }
    values.sort_by(f64::total_cmp);
    let at = |p: f64| values[((values.len() - 1) as f64 * p).round() as usize];
    format!(
        "p50 {:.1}  p95 {:.1}  p99 {:.1}  max {:.1}",
        at(0.50),
        at(0.95),
        at(0.99),
        values[values.len() - 1]
    )
}

pub fn print(store: &str, rate: u32, written: &Written, arrivals: &[Arrival], refused: usize) {
    let writes = written.answered.len();
    let seconds = written
        .finished
        .duration_since(written.started)
        .as_secs_f64();
    println!(
        "{store}: {writes} events written by {} requests in {seconds:.1} s ({:.0} events/s, asked {rate}/s; {} requests failed, {} sent late)",
        written.requests,
        writes as f64 / seconds,
        written.failed,
        written.late
    );

    let mut seen = HashSet::new();
    let (mut duplicates, mut out_of_order, mut highest) = (0, 0, 0);
    let mut firsts = Vec::with_capacity(arrivals.len());
    for arrival in arrivals {
        if !seen.insert(arrival.webhook_id.as_str()) {
            duplicates += 1;
            continue;
        }
        if arrival.cursor < highest {
            out_of_order += 1;
        }
        highest = highest.max(arrival.cursor);
        firsts.push(arrival);
    }
    let unknown = firsts
        .iter()
        .filter(|arrival| !written.answered.contains_key(&arrival.key))
        .count();
    let missing = writes.saturating_sub(firsts.len() - unknown);
    println!(
        "{store}: {} events delivered ({duplicates} repeated, {out_of_order} out of order, {missing} missing, {refused} refused by the receiver's signature check)",
        firsts.len()
    );
    let (Some(first), Some(last)) = (firsts.first(), firsts.last()) else {
        println!("{store}: nothing was delivered");
        return;
    };
    let span = last.at.duration_since(first.at).as_secs_f64();
    let during = firsts
        .iter()
        .filter(|arrival| arrival.at <= written.finished)
        .count();
    println!(
        "{store}: delivery rate {:.0} events/s over {span:.1} s from the first delivery to the last; {:.0} events/s while the writes ran",
        firsts.len() as f64 / span.max(f64::EPSILON),
        during as f64 / seconds
    );

    let mut from_response: Vec<f64> = firsts
        .iter()
        .filter_map(|arrival| {
            let answered = written.answered.get(&arrival.key)?;
            Some(signed_ms(*answered, arrival.at))
        })
        .collect();
    let mut from_occurred: Vec<f64> = firsts
        .iter()
        .map(|arrival| (arrival.wall_ms - arrival.occurred_at_ms) as f64)
        .collect();
    println!(
        "{store}: delay from the SCIM response to delivery (ms): {}",
        percentiles(&mut from_response)
    );
    println!(
        "{store}: delay from occurredAt to delivery (ms):        {}",
        percentiles(&mut from_occurred)
    );

    let backlog = writes.saturating_sub(during);
    let drain = signed_ms(written.finished, last.at).max(0.0);
    let p99 = from_response
        .get(((from_response.len().max(1) - 1) as f64 * 0.99).round() as usize)
        .copied()
        .unwrap_or(f64::INFINITY);
    let kept_up = missing == 0 && backlog <= rate as usize && p99 < 1000.0;
    println!(
        "{store}: at the end of the writes {backlog} events were not yet delivered; the last arrived {drain:.0} ms later; kept up: {}",
        if kept_up { "yes" } else { "no" }
    );
}
