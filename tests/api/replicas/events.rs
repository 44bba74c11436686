//! The events API across replicas: a reader held open on one replica (long poll or event
//! stream) gets what is written through the other, whose projector may be the one that
//! published it, and the feed both serve is one sequence with no gap and no duplicate.

use super::{Replica, Replicas, A, B};
use crate::common::Reply;
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;

/// Long enough for a request sent just before it to be waiting in the server: if it is not
/// yet, the test proves less (the answer comes without waiting) but still passes honestly.
const SETTLE: Duration = Duration::from_millis(700);

async fn events(replicas: &Replicas, replica: Replica, query: &str) -> Reply {
    let path = format!("/instances/acme/events?{query}");
    let reply = replicas.admin(replica, Method::GET, &path, None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply
}

fn event_list(reply: &Reply) -> Vec<Value> {
    reply.body["events"].as_array().cloned().unwrap_or_default()
}

/// The cursor after every event the feed holds now, as `replica` serves it, once it holds the
/// `user.created` of `user_id`.
async fn cursor_after_created(replicas: &Replicas, replica: Replica, user_id: &str) -> String {
    let reply = events(replicas, replica, "after=0&types=user.created&wait=30").await;
    let found = event_list(&reply)
        .iter()
        .any(|event| event["data"]["resource"]["id"] == user_id);
    assert!(found, "the first user's user.created: {:?}", reply.body);
    reply.body["next"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_on_one_replica_returns_an_event_written_through_the_other() {
    let replicas = Replicas::start().await;
    let first = replicas.create_user(B, "first@corp.example").await;
    let after = cursor_after_created(&replicas, A, &first).await;

    let query = format!("after={after}&types=user.created&wait=60");
    let poll = events(&replicas, A, &query);
    let write = async {
        tokio::time::sleep(SETTLE).await;
        replicas.create_user(B, "second@corp.example").await
    };
    let (reply, second) = tokio::join!(poll, write);

    let got = event_list(&reply);
    assert_eq!(got.len(), 1, "{:?}", reply.body);
    assert_eq!(got[0]["type"], "user.created");
    assert_eq!(got[0]["data"]["resource"]["id"], second.as_str());
    assert_eq!(reply.body["next"], got[0]["cursor"]);
    let before: u64 = after.parse().expect("a numeric cursor");
    let cursor: u64 = got[0]["cursor"]
        .as_str()
        .and_then(|cursor| cursor.parse().ok())
        .expect("a numeric cursor");
    assert!(cursor > before, "{cursor} after {before}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_stream_on_one_replica_carries_what_is_written_through_the_other() {
    let replicas = Replicas::start().await;
    let first = replicas.create_user(A, "first@corp.example").await;
    let after = cursor_after_created(&replicas, B, &first).await;

    let url = format!(
        "{}/admin/v1/instances/acme/events/stream?types=user.created",
        replicas.base(B).trim_end_matches("/scim/v2")
    );
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(crate::common::admin_api::ADMIN_TOKEN)
        .header("last-event-id", &after)
        .send()
        .await
        .expect("scimd answers");
    assert_eq!(response.status(), 200);
    let mut response = response;
    tokio::time::sleep(SETTLE).await;
    let second = replicas.create_user(A, "second@corp.example").await;

    let mut text = String::new();
    let frame = loop {
        let chunk = tokio::time::timeout(Duration::from_secs(60), response.chunk())
            .await
            .expect("an event within 60 s")
            .expect("the stream is readable")
            .expect("the stream stays open");
        text.push_str(&String::from_utf8_lossy(&chunk));
        if let Some(end) = text.find("\n\n").filter(|_| text.contains("data:")) {
            break text[..end].to_string();
        }
        // Keep-alive comments (": …") carry no event.
        if text.trim_start().starts_with(':') && text.ends_with("\n\n") {
            text.clear();
        }
    };
    let field = |name: &str| {
        frame
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name}:")))
            .map(|value| value.trim().to_string())
            .unwrap_or_default()
    };
    assert_eq!(field("event"), "user.created", "{frame}");
    let document: Value = serde_json::from_str(&field("data")).expect("a JSON document");
    assert_eq!(document["data"]["resource"]["id"], second.as_str());
    assert_eq!(document["cursor"].as_str(), Some(field("id").as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_replicas_serve_one_feed_with_no_gap_and_no_duplicate() {
    let replicas = Replicas::start().await;
    let writes = (0..40).map(|n| {
        let replicas = &replicas;
        async move {
            let replica = Replica::alternating(n);
            replicas
                .create_user(replica, &format!("feed{n}@corp.example"))
                .await
        }
    });
    let mut created: Vec<String> = futures::future::join_all(writes).await;
    created.sort();

    let mut pages = Vec::new();
    for replica in [A, B] {
        let (mut after, mut all) = ("0".to_string(), Vec::new());
        loop {
            let reply = events(&replicas, replica, &format!("after={after}&limit=7")).await;
            let page = event_list(&reply);
            if page.is_empty() {
                break;
            }
            after = reply.body["next"].as_str().unwrap_or_default().to_string();
            all.extend(page);
        }
        pages.push(all);
    }
    assert_eq!(pages[0], pages[1], "both replicas serve the same feed");
    let cursors: Vec<u64> = pages[0]
        .iter()
        .filter_map(|event| event["cursor"].as_str()?.parse().ok())
        .collect();
    assert!(
        cursors.windows(2).all(|pair| pair[0] < pair[1]),
        "{cursors:?}"
    );
    let mut ids: Vec<String> = pages[0]
        .iter()
        .filter(|event| event["type"] == "user.created")
        .filter_map(|event| event["data"]["resource"]["id"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    assert_eq!(ids, created, "each user.created once");
    let mut event_ids: Vec<&str> = pages[0]
        .iter()
        .filter_map(|event| event["id"].as_str())
        .collect();
    event_ids.sort();
    event_ids.dedup();
    assert_eq!(event_ids.len(), pages[0].len(), "no event id twice");
}
