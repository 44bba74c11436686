//! Every delivery verifies with the reference library, and what arrives is the feed: each
//! event once accepted, in feed order, its body the feed's document, its webhook-id the event's
//! id; the attempt log records each success. During a rotation's overlap each delivery carries
//! two signatures, and the reference library verifies it with the old secret and with the new
//! one; after the overlap, only the new secret signs.

use super::{
    admin, assert_feed_delivered_in_order, delivered, feed_of_at_least, hook, hook_with_secret,
    log_once_delivered, Scimd, INSTANCE,
};
use crate::common::receiver::{Mode, Receiver};
use crate::common::StoreKind;
use crate::on_both_store_kinds;
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeSet;

on_both_store_kinds!(
    every_change_reaches_the_receiver_signed_whole_and_in_feed_order,
    during_a_rotation_both_secrets_verify_and_after_it_only_the_new_one_signs,
);

async fn every_change_reaches_the_receiver_signed_whole_and_in_feed_order(kind: StoreKind) {
    let scimd = Scimd::start(kind).await;
    let admin = scimd.admin_base();
    let mut receiver = Receiver::start(Mode::Accept).await;
    let endpoint = hook(&admin, &mut receiver).await;

    let ada = scimd.create_user("ada@corp.example").await;
    let alan = scimd.create_user("alan@corp.example").await;
    scimd.patch_user(&ada, "title", json!("Engineer")).await;
    let members = json!({"displayName": "Engineering", "members": [{"value": ada}]});
    let group = scimd.send(Method::POST, "/Groups", Some(members)).await;
    assert_eq!(group.status, 201, "{:?}", group.body);
    scimd.patch_user(&alan, "active", json!(false)).await;
    let deleted = scimd
        .send(Method::DELETE, &format!("/Users/{alan}"), None)
        .await;
    assert_eq!(deleted.status, 204);

    let events = feed_of_at_least(&admin, 7).await;
    let types: BTreeSet<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    for expected in [
        "user.created",
        "user.updated",
        "group.created",
        "user.suspended",
        "user.deleted",
    ] {
        assert!(types.contains(expected), "{expected} in {types:?}");
    }
    let received = delivered(&receiver, &events).await;
    assert_feed_delivered_in_order(&received, &events);
    for delivery in &received {
        assert_eq!(delivery.signatures, 1, "one secret, one signature");
    }

    // scimd records attempts a moment after the receiver has them.
    let log = log_once_delivered(&admin, &endpoint, &events).await;
    for event in &events {
        let succeeded = log.iter().any(|attempt| {
            attempt["eventId"] == event["id"]
                && attempt["eventType"] == event["type"]
                && attempt["succeeded"] == true
                && attempt["status"] == 200
                && attempt["response"].as_str().unwrap_or("").contains("ok")
        });
        assert!(
            succeeded,
            "a successful attempt of {} in {log:?}",
            event["id"]
        );
    }
}

/// Rotates the endpoint's secret with this overlap; the new secret.
async fn rotate(admin_base: &str, endpoint: &str, overlap_hours: u32) -> String {
    let path = format!("/instances/{INSTANCE}/webhooks/{endpoint}/rotate");
    let body = json!({"overlapHours": overlap_hours});
    let reply = admin(admin_base, Method::POST, &path, Some(body)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["secret"]
        .as_str()
        .expect("the new secret, once")
        .to_string()
}

async fn during_a_rotation_both_secrets_verify_and_after_it_only_the_new_one_signs(
    kind: StoreKind,
) {
    let scimd = Scimd::start(kind).await;
    let admin = scimd.admin_base();
    let mut receiver = Receiver::start(Mode::Accept).await;
    let (endpoint, first) = hook_with_secret(&admin, &mut receiver).await;
    scimd.create_user("before@corp.example").await;
    let events = feed_of_at_least(&admin, 1).await;
    delivered(&receiver, &events).await;

    let second = rotate(&admin, &endpoint, 1).await;
    assert_ne!(first, second);
    receiver.set_secrets(&[&first, &second]).await;
    scimd.create_user("during@corp.example").await;
    let events = feed_of_at_least(&admin, 2).await;
    let received = delivered(&receiver, &events).await;
    let during = received.last().expect("the delivery during the overlap");
    assert_eq!(during.webhook_id.as_deref(), events[1]["id"].as_str());
    assert_eq!(during.signatures, 2, "{during:?}");
    assert_eq!(
        during.verified_by,
        [0, 1],
        "old and new secret each verify it"
    );

    // No overlap: the second secret stops signing at once.
    let third = rotate(&admin, &endpoint, 0).await;
    receiver.set_secrets(&[&second, &third]).await;
    scimd.create_user("after@corp.example").await;
    let events = feed_of_at_least(&admin, 3).await;
    let received = delivered(&receiver, &events).await;
    let after = received.last().expect("the delivery after the overlap");
    assert_eq!(after.signatures, 1, "{after:?}");
    assert_eq!(after.verified_by, [1], "only the newest secret verifies it");
    assert_feed_delivered_in_order(&received, &events);
}
