//! A receiver down for a while (nothing listens on its port): scimd keeps trying the first
//! event, its attempt log says the connection was refused, and once the receiver is up it gets
//! everything written meanwhile, in feed order, with nothing lost.

use super::{assert_feed_delivered_in_order, attempts, delivered, feed_of_at_least, hook, Scimd};
use crate::common::receiver::{Mode, Receiver};
use crate::common::StoreKind;
use crate::on_both_store_kinds;
use std::time::Duration;

on_both_store_kinds!(a_receiver_down_for_a_while_gets_everything_in_order_once_up);

async fn a_receiver_down_for_a_while_gets_everything_in_order_once_up(kind: StoreKind) {
    let scimd = Scimd::start(kind).await;
    let admin = scimd.admin_base();
    // Up only to learn its secret, then down before anything is written.
    let mut receiver = Receiver::start(Mode::Accept).await;
    let endpoint = hook(&admin, &mut receiver).await;
    receiver.down().await;

    for n in 0..10 {
        scimd
            .create_user(&format!("while-down{n}@corp.example"))
            .await;
    }
    let events = feed_of_at_least(&admin, 10).await;
    let refused = 'refused: {
        for _ in 0..600 {
            let log = attempts(&admin, &endpoint).await;
            if log.len() >= 3 {
                break 'refused log;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("scimd did not keep trying the receiver that is down");
    };
    assert!(
        refused.iter().all(|attempt| attempt["succeeded"] == false
            && attempt["status"].is_null()
            && attempt["eventId"] == events[0]["id"]),
        "only the first event is tried while the receiver is down: {refused:?}"
    );
    let error = refused[0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("refused"), "{error}");

    receiver.up().await;
    let received = delivered(&receiver, &events).await;
    assert_feed_delivered_in_order(&received, &events);
}
