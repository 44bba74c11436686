//! Every delivery verifies with the reference library, and what arrives is the feed: each
//! event once accepted, in feed order, its body the feed's document, its webhook-id the event's
//! id; the attempt log records each success.

use super::{assert_feed_delivered_in_order, attempts, delivered, feed_of_at_least, hook, Scimd};
use crate::common::receiver::{Mode, Receiver};
use crate::common::StoreKind;
use crate::on_both_store_kinds;
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeSet;

on_both_store_kinds!(every_change_reaches_the_receiver_signed_whole_and_in_feed_order);

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

    let log = attempts(&admin, &endpoint).await;
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
