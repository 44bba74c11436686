//! The webhook receivers the delivery tests trust (tests/receivers, through
//! common::receiver), tested on their own: signed here by the Standard Webhooks 1.0 rules, a
//! delivery verifies with the reference library and a forged, tampered or stale one does not;
//! each failing mode fails as it says; a receiver down for a while refuses connections and keeps
//! what it got across restarts. Without these, a receiver that verified nothing, or everything,
//! would let the delivery tests pass whatever scimd sends.

use crate::common::receiver::{Mode, Receiver};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// A fresh `whsec_` secret of 32 random bytes, as the specification describes them.
fn secret() -> String {
    let bytes: Vec<u8> = (0..2)
        .flat_map(|_| *uuid::Uuid::new_v4().as_bytes())
        .collect();
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// `v1,<base64 HMAC-SHA256(secret bytes, "{id}.{timestamp}.{body}")>`.
fn signature(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    let key = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .expect("a base64 secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn event(id: &str, cursor: u64) -> String {
    serde_json::json!({"id": id, "type": "user.created", "cursor": cursor.to_string(), "data": {}})
        .to_string()
}

/// Why a request got no answer.
#[derive(Debug, PartialEq, Eq)]
enum NoAnswer {
    Refused,
    TimedOut,
    Cut,
}

/// POSTs `body` to the receiver with the given Standard Webhooks headers: the status it
/// answered, or why it did not.
async fn post(
    receiver: &Receiver,
    id: &str,
    timestamp: i64,
    signatures: &str,
    body: &str,
) -> Result<u16, NoAnswer> {
    post_waiting(
        receiver,
        id,
        timestamp,
        signatures,
        body,
        Duration::from_secs(5),
    )
    .await
}

async fn post_waiting(
    receiver: &Receiver,
    id: &str,
    timestamp: i64,
    signatures: &str,
    body: &str,
    patience: Duration,
) -> Result<u16, NoAnswer> {
    reqwest::Client::new()
        .post(receiver.url())
        .timeout(patience)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signatures)
        .body(body.to_string())
        .send()
        .await
        .map(|response| response.status().as_u16())
        .map_err(|error| {
            if error.is_connect() {
                NoAnswer::Refused
            } else if error.is_timeout() {
                NoAnswer::TimedOut
            } else {
                NoAnswer::Cut
            }
        })
}

#[tokio::test]
async fn a_delivery_signed_with_its_secret_verifies_and_a_forged_one_does_not() {
    let key = secret();
    let mut receiver = Receiver::start(Mode::Accept).await;
    receiver.set_secrets(&[&key]).await;
    let body = event("evt_good", 1);
    let good = signature(&key, "evt_good", now(), &body);
    assert_eq!(
        post(&receiver, "evt_good", now(), &good, &body).await,
        Ok(200)
    );

    let other = signature(&secret(), "evt_other", now(), &body);
    assert_eq!(
        post(&receiver, "evt_other", now(), &other, &body).await,
        Ok(401)
    );
    let tampered = event("evt_tampered", 2);
    let signed_original = signature(&key, "evt_tampered", now(), &event("evt_tampered", 1));
    assert_eq!(
        post(
            &receiver,
            "evt_tampered",
            now(),
            &signed_original,
            &tampered
        )
        .await,
        Ok(401)
    );
    let stale = now() - 3600;
    let old = signature(&key, "evt_stale", stale, &body);
    assert_eq!(
        post(&receiver, "evt_stale", stale, &old, &body).await,
        Ok(401)
    );

    let before = chrono::Utc::now().timestamp_millis();
    let received = receiver
        .wait_for("four requests", |received| received.len() == 4)
        .await;
    let verdicts: Vec<(Option<&str>, bool)> = received
        .iter()
        .map(|delivery| (delivery.webhook_id.as_deref(), delivery.verified))
        .collect();
    assert_eq!(
        verdicts,
        [
            (Some("evt_good"), true),
            (Some("evt_other"), false),
            (Some("evt_tampered"), false),
            (Some("evt_stale"), false),
        ]
    );
    assert!(received[0].accepted() && !received[1].accepted());
    assert_eq!(received[0].seq(), 1);
    assert_eq!(received[0].event_id.as_deref(), Some("evt_good"));
    assert_eq!(
        received[0].content_type.as_deref(),
        Some("application/json")
    );
    assert!(received[0].received_at_ms <= before);
    assert_eq!(received[0].event_type.as_deref(), Some("user.created"));
    assert_eq!(received[0].body, body);
    assert!(received[3]
        .error
        .as_deref()
        .unwrap_or("")
        .contains("too old"));
}

#[tokio::test]
async fn during_a_rotation_either_secret_verifies_a_delivery_signed_with_both() {
    let (old, new) = (secret(), secret());
    let mut receiver = Receiver::start(Mode::Accept).await;
    let body = event("evt_rotated", 7);
    let both = format!(
        "{} {}",
        signature(&old, "evt_rotated", now(), &body),
        signature(&new, "evt_rotated", now(), &body)
    );
    receiver.set_secrets(&[&new]).await;
    assert_eq!(
        post(&receiver, "evt_rotated", now(), &both, &body).await,
        Ok(200)
    );
    receiver.set_secrets(&[&secret(), &old]).await;
    assert_eq!(
        post(&receiver, "evt_rotated", now(), &both, &body).await,
        Ok(200)
    );
    let received = receiver.received();
    assert_eq!(received[0].verified_by, [0]);
    assert_eq!(
        received[1].verified_by,
        [1],
        "the old secret, second of two"
    );
    assert_eq!(received[1].signatures, 2);
}

#[tokio::test]
async fn each_failing_mode_fails_as_it_says() {
    let key = secret();
    let body = event("evt_modes", 1);
    let signed = |id: &str| signature(&key, id, now(), &body);
    let mut receiver = Receiver::start(Mode::Fail(503)).await;
    receiver.set_secrets(&[&key]).await;
    assert_eq!(
        post(&receiver, "a", now(), &signed("a"), &body).await,
        Ok(503)
    );

    receiver.set_mode(Mode::Hangup).await;
    let hung_up = post(&receiver, "b", now(), &signed("b"), &body).await;
    assert_eq!(hung_up, Err(NoAnswer::Cut));

    receiver.set_mode(Mode::Silent).await;
    let patience = Duration::from_millis(500);
    let silent = post_waiting(&receiver, "c", now(), &signed("c"), &body, patience).await;
    assert_eq!(silent, Err(NoAnswer::TimedOut));

    receiver
        .set_mode(Mode::Slow(Duration::from_millis(200)))
        .await;
    assert_eq!(
        post(&receiver, "d", now(), &signed("d"), &body).await,
        Ok(200)
    );

    let answers: Vec<String> = receiver
        .received()
        .into_iter()
        .map(|delivery| {
            assert!(delivery.verified, "{delivery:?}");
            delivery.answer
        })
        .collect();
    assert_eq!(answers, ["503", "hangup", "silent", "slow"]);
}

#[tokio::test]
async fn failing_the_first_tries_of_each_webhook_id_then_accepting() {
    let key = secret();
    let mut receiver = Receiver::start(Mode::Accept).await;
    receiver.set_secrets(&[&key]).await;
    receiver.fail_first(2, Mode::Fail(500)).await;
    let body = event("evt_retried", 1);
    let mut statuses = Vec::new();
    for id in ["evt_retried", "evt_retried", "evt_retried", "evt_next"] {
        statuses.push(
            post(
                &receiver,
                id,
                now(),
                &signature(&key, id, now(), &body),
                &body,
            )
            .await,
        );
    }
    assert_eq!(statuses, [Ok(500), Ok(500), Ok(200), Ok(500)]);
    let attempts: Vec<u32> = receiver.received().iter().map(|d| d.attempt).collect();
    assert_eq!(attempts, [1, 2, 3, 1]);
}

#[tokio::test]
async fn a_receiver_down_for_a_while_refuses_connections_and_keeps_what_it_got() {
    let key = secret();
    let mut receiver = Receiver::reserve(Mode::Accept);
    let body = event("evt_down", 1);
    let refused = post(&receiver, "evt_down", now(), "v1,x", &body).await;
    assert_eq!(refused, Err(NoAnswer::Refused));

    receiver.up().await;
    receiver.set_secrets(&[&key]).await;
    let signed = signature(&key, "evt_down", now(), &body);
    assert_eq!(
        post(&receiver, "evt_down", now(), &signed, &body).await,
        Ok(200)
    );
    receiver.down().await;
    let refused = post(&receiver, "evt_down", now(), &signed, &body).await;
    assert_eq!(refused, Err(NoAnswer::Refused));

    receiver.up().await;
    assert_eq!(
        post(
            &receiver,
            "evt_up",
            now(),
            &signature(&key, "evt_up", now(), &body),
            &body
        )
        .await,
        Ok(200)
    );
    let ids: Vec<Option<String>> = receiver
        .wait_for_accepted(&["evt_down".to_string(), "evt_up".to_string()])
        .await
        .into_iter()
        .map(|delivery| delivery.webhook_id)
        .collect();
    assert_eq!(ids, [Some("evt_down".into()), Some("evt_up".into())]);
}
