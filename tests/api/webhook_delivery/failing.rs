//! Receivers that fail: one answering 500, one redirecting (to the same URL: scimd follows no
//! redirect, so the try fails with the redirect's status), one never answering (scimd's 1 s
//! attempt timeout ends each try), one answering after the timeout, one hanging up, each for
//! the first two tries of every event, and one answering slowly but in time. Each gets every
//! event in feed order, retried under the same webhook-id until it is accepted, and the
//! endpoint's attempt log records every try with its status or error.

use super::{assert_feed_delivered_in_order, feed_of_at_least, hook, log_once_delivered, Scimd};
use crate::common::receiver::{summary, Mode, Receiver};
use crate::common::StoreKind;
use crate::on_both_store_kinds;
use serde_json::Value;
use std::time::Duration;

on_both_store_kinds!(failing_receivers_get_retries_of_the_same_webhook_id_until_they_accept);

/// What the log must say of a failed try.
fn failed_as(mode: &Mode, attempt: &Value) -> bool {
    let error = attempt["error"].as_str().unwrap_or("");
    attempt["succeeded"] == false
        && match mode {
            Mode::Fail(status) => attempt["status"] == *status,
            Mode::Silent | Mode::Slow(_) => {
                attempt["status"].is_null() && error.contains("timeout")
            }
            Mode::Hangup => attempt["status"].is_null() && !error.is_empty(),
            Mode::Accept => false,
        }
}

async fn failing_receivers_get_retries_of_the_same_webhook_id_until_they_accept(kind: StoreKind) {
    let scimd = Scimd::start(kind).await;
    let admin = scimd.admin_base();
    let failing = [
        Mode::Fail(500),
        Mode::Fail(307),
        Mode::Silent,
        Mode::Slow(Duration::from_millis(2500)),
        Mode::Hangup,
    ];
    let mut hooked = Vec::new();
    for mode in &failing {
        let mut receiver = Receiver::start(Mode::Accept).await;
        receiver.fail_first(2, mode.clone()).await;
        let endpoint = hook(&admin, &mut receiver).await;
        hooked.push((Some(mode.clone()), receiver, endpoint));
    }
    let mut slow = Receiver::start(Mode::Slow(Duration::from_millis(300))).await;
    let endpoint = hook(&admin, &mut slow).await;
    hooked.push((None, slow, endpoint));

    for n in 0..3 {
        scimd.create_user(&format!("retried{n}@corp.example")).await;
    }
    let events = feed_of_at_least(&admin, 3).await;

    for (mode, receiver, endpoint) in &hooked {
        let log = log_once_delivered(&admin, endpoint, &events).await;
        let received = receiver.received();
        let repeats = assert_feed_delivered_in_order(&received, &events);
        let Some(mode) = mode else {
            assert_eq!(
                repeats,
                0,
                "a slow answer in time is one try; {}",
                summary(&received)
            );
            continue;
        };
        assert!(
            repeats >= 2 * events.len(),
            "{mode:?}: {}",
            summary(&received)
        );
        for event in &events {
            let id = event["id"].as_str().unwrap_or_default();
            let tries: Vec<&Value> = log.iter().filter(|a| a["eventId"] == id).collect();
            let numbers: Vec<u64> = tries.iter().filter_map(|a| a["attempt"].as_u64()).collect();
            let expected: Vec<u64> = (1..=numbers.len() as u64).collect();
            assert_eq!(
                numbers, expected,
                "{mode:?}: the tries of {id} are numbered"
            );
            assert!(tries.len() >= 3, "{mode:?}: {id} tried {tries:?}");
            assert!(
                tries[..2].iter().all(|attempt| failed_as(mode, attempt)),
                "{mode:?}: the first two tries of {id} failed as the receiver did: {tries:?}"
            );
            let last = tries[tries.len() - 1];
            assert_eq!(last["succeeded"], true, "{mode:?}: {last:?}");
            assert_eq!(last["status"], 200);
            assert_eq!(last["eventType"], "user.created");
            // The receiver saw each try under the event's id.
            let seen = received
                .iter()
                .filter(|d| d.webhook_id.as_deref() == Some(id))
                .count();
            assert!(seen >= 3, "{mode:?}: {id} arrived {seen} times");
        }
    }
}
