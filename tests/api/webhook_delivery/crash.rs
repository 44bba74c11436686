//! SIGKILL of scimd in the middle of deliveries, as a power cut or an OOM kill would stop it,
//! then a restart on the same store: every event of the feed reaches the receiver (nothing
//! lost, the acknowledged writes among them), in feed order, and the only duplicates are
//! repeats of webhook-ids sent since the endpoint's position was last recorded.

use super::{assert_feed_delivered_in_order, delivered, feed, hook, Scimd};
use crate::common::receiver::{summary, Mode, Receiver};
use crate::common::StoreKind;
use crate::on_both_store_kinds;
use std::time::Duration;

on_both_store_kinds!(a_kill_in_the_middle_of_deliveries_loses_nothing_and_keeps_order);

const USERS: usize = 40;

async fn a_kill_in_the_middle_of_deliveries_loses_nothing_and_keeps_order(kind: StoreKind) {
    let mut scimd = Scimd::start(kind).await;
    let admin = scimd.admin_base();
    // Slow answers (in time), so that deliveries are still under way when scimd is killed.
    let mut receiver = Receiver::start(Mode::Slow(Duration::from_millis(40))).await;
    hook(&admin, &mut receiver).await;

    let mut created = Vec::new();
    for n in 0..USERS {
        created.push(scimd.create_user(&format!("crash{n}@corp.example")).await);
    }
    let got_some = receiver
        .wait_for("ten deliveries", |received| received.len() >= 10)
        .await;
    scimd.server.signal("KILL").await;
    let before_kill = receiver.received().len();
    assert!(
        before_kill < USERS,
        "the kill came after every delivery ({} before it, {} at it); the test proves nothing",
        got_some.len(),
        before_kill
    );

    scimd.restart().await;
    let admin = scimd.admin_base();
    let events = feed(&admin).await;
    for id in &created {
        let found = events.iter().any(|event| {
            event["type"] == "user.created" && event["data"]["resource"]["id"] == id.as_str()
        });
        assert!(found, "the acknowledged creation of {id} is in the feed");
    }
    let received = delivered(&receiver, &events).await;
    let repeats = assert_feed_delivered_in_order(&received, &events);
    // At least once: what was sent since the endpoint's position was last recorded (scimd
    // records attempts a group at a time) comes again; had the position not survived the
    // kill, everything delivered before it would.
    assert!(
        repeats < before_kill,
        "{repeats} repeats of {before_kill} deliveries before the kill; {}",
        summary(&received)
    );
    let exit = scimd.server.signal("TERM").await;
    assert!(exit.success(), "{exit:?}");
}
