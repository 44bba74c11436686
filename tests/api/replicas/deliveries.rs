//! Webhooks with two replicas on one PostgreSQL database and one endpoint: writes through both
//! at once reach the receiver each exactly once (no crash, so no repeat), verified by the
//! reference library and in feed order; one replica delivers each event, not each replica.
//! When replicas are killed in the middle of deliveries, the one left takes the endpoint over
//! once the dead one's lease runs out and delivers the rest: nothing lost, order kept, and the
//! only repeats are webhook-ids sent since the endpoint's position was last recorded.

use super::{Replica, Replicas, A, B};
use crate::common::receiver::{summary, Mode, Receiver};
use crate::webhook_delivery::{
    admin_base, assert_feed_delivered_in_order, delivered, feed_of_at_least, hook,
    log_once_delivered,
};
use futures::future::join_all;

const USERS: usize = 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_reaches_the_endpoint_once_and_in_order_from_two_replicas() {
    let replicas =
        Replicas::start_with(&["--webhook-allow-loopback", "--webhook-poll-ms", "100"]).await;
    let admin = admin_base(replicas.base(A));
    let mut receiver = Receiver::start(Mode::Accept).await;
    let endpoint = hook(&admin, &mut receiver).await;

    let writes = (0..USERS).map(|n| {
        let replicas = &replicas;
        async move {
            let replica = Replica::alternating(n);
            replicas
                .create_user(replica, &format!("hooked{n}@corp.example"))
                .await
        }
    });
    join_all(writes).await;

    let events = feed_of_at_least(&admin, USERS).await;
    assert_eq!(events.len(), USERS, "one user.created per user");
    let received = delivered(&receiver, &events).await;
    let repeats = assert_feed_delivered_in_order(&received, &events);
    assert_eq!(
        repeats,
        0,
        "delivered by one replica, not by each; {}",
        summary(&received)
    );
    assert_eq!(received.len(), USERS, "{}", summary(&received));

    // scimd records attempts a moment after the receiver has them.
    let log = log_once_delivered(&admin, &endpoint, &events).await;
    assert_eq!(log.len(), USERS, "one attempt per event: {log:?}");
    assert!(log.iter().all(|attempt| attempt["succeeded"] == true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_killed_in_the_middle_of_deliveries_hand_the_endpoint_over_losing_nothing() {
    let mut replicas = Replicas::start_with(&[
        "--webhook-allow-loopback",
        "--webhook-poll-ms",
        "100",
        "--webhook-lease-secs",
        "2",
    ])
    .await;
    let mut receiver = Receiver::start(Mode::Slow(std::time::Duration::from_millis(40))).await;
    hook(&admin_base(replicas.base(B)), &mut receiver).await;
    for n in 0..USERS {
        let replica = Replica::alternating(n);
        replicas
            .create_user(replica, &format!("handed{n}@corp.example"))
            .await;
    }

    // Whichever replica holds the endpoint, one of the two kills stops the one delivering.
    receiver
        .wait_for("ten deliveries", |got| got.len() >= 10)
        .await;
    replicas.kill(A).await;
    replicas.restart(A).await;
    receiver
        .wait_for("25 deliveries", |got| got.len() >= 25)
        .await;
    replicas.kill(B).await;
    let at_second_kill = receiver.received().len();
    assert!(
        at_second_kill < USERS,
        "every event was delivered before the second kill"
    );

    let admin = admin_base(replicas.base(A));
    let events = feed_of_at_least(&admin, USERS).await;
    let received = delivered(&receiver, &events).await;
    let repeats = assert_feed_delivered_in_order(&received, &events);
    assert!(
        repeats < at_second_kill,
        "{repeats} repeats; {}",
        summary(&received)
    );
}
