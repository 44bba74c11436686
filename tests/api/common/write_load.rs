//! A write load that runs until the server stops answering (killed or shut down), and the check
//! made after a restart: every acknowledged create and PATCH is there, and a request cut off
//! is either whole or absent.

use super::encode;
use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// Clients creating and patching users at once when the server is stopped.
pub const WRITERS: usize = 16;
/// How long the writers may take to get going: however loaded the machine, far more than
/// sixteen creates need.
const GETTING_GOING: Duration = Duration::from_secs(60);

/// The writers, running.
pub struct Load {
    writers: Vec<JoinHandle<Outcomes>>,
    /// One permit for each writer whose first create was acknowledged.
    going: Arc<Semaphore>,
}

/// What one writer knows once the server is gone.
#[derive(Debug, Default)]
pub struct Outcomes {
    /// Users whose create was answered 201: id, userName, and the title a 200 to the PATCH
    /// set, if it was answered.
    created: Vec<(String, String, Option<&'static str>)>,
    /// The userName whose create was cut off, if one was.
    create_cut_off: Option<String>,
}

/// Starts `WRITERS` clients, each creating a user and then changing its title, again and again,
/// until the server at `base` stops answering. Any answer but success fails the test.
pub fn start(base: &str, token: &str) -> Load {
    let client = Client::new();
    let going = Arc::new(Semaphore::new(0));
    let writers = (0..WRITERS)
        .map(|writer| {
            let (client, base, token) = (client.clone(), base.to_string(), token.to_string());
            let going = Arc::clone(&going);
            tokio::spawn(write_until_stopped(client, base, token, writer, going))
        })
        .collect();
    Load { writers, going }
}

/// Waits until every writer has had a create acknowledged and is on to its next request: the
/// server is then stopped under load however slowly the machine runs, where a fixed wait could
/// stop it before a slow machine's writers got going.
pub async fn under_way(load: &Load) {
    let everyone = u32::try_from(WRITERS).unwrap_or(u32::MAX);
    let going = tokio::time::timeout(GETTING_GOING, load.going.acquire_many(everyone)).await;
    assert!(
        matches!(going, Ok(Ok(_))),
        "the writers did not all get going within {GETTING_GOING:?} (a failed writer says why above)"
    );
}

/// Waits for the writers to notice the server is gone; checks that the load was under way.
pub async fn finish(load: Load) -> Vec<Outcomes> {
    let mut outcomes = Vec::with_capacity(load.writers.len());
    for writer in load.writers {
        outcomes.push(writer.await.expect("a writer ends once the server is gone"));
    }
    let acknowledged: usize = outcomes.iter().map(|o| o.created.len()).sum();
    assert!(
        acknowledged >= WRITERS,
        "the load was under way: {acknowledged} creates answered"
    );
    outcomes
}

/// One request's outcome as the client saw it: a status, or no answer (cut off).
async fn send(
    client: &Client,
    url: String,
    token: &str,
    method: Method,
    body: Value,
) -> Option<(u16, Value)> {
    let request = client
        .request(method, url)
        .bearer_auth(token)
        .header("content-type", "application/scim+json")
        .body(body.to_string());
    let response = request.send().await.ok()?;
    let status = response.status().as_u16();
    let body = response.json().await.ok()?;
    Some((status, body))
}

async fn write_until_stopped(
    client: Client,
    base: String,
    token: String,
    writer: usize,
    going: Arc<Semaphore>,
) -> Outcomes {
    let mut outcomes = Outcomes::default();
    for n in 0.. {
        let user_name = format!("w{writer}-{n}@load.example");
        let body = json!({"userName": user_name, "title": "before"});
        let Some((status, created)) =
            send(&client, format!("{base}/Users"), &token, Method::POST, body).await
        else {
            outcomes.create_cut_off = Some(user_name);
            return outcomes;
        };
        assert_eq!(status, 201, "creating {user_name}: {created}");
        if n == 0 {
            going.add_permits(1);
        }
        let id = created["id"].as_str().unwrap_or_default().to_string();
        let rename = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "title", "value": "after"}],
        });
        let url = format!("{base}/Users/{id}");
        match send(&client, url, &token, Method::PATCH, rename).await {
            Some((status, body)) => {
                assert_eq!(status, 200, "patching {user_name}: {body}");
                outcomes.created.push((id, user_name, Some("after")));
            }
            None => {
                outcomes.created.push((id, user_name, None));
                return outcomes;
            }
        }
    }
    outcomes
}

async fn get(client: &Client, base: &str, token: &str, path: &str) -> (u16, Value) {
    let response = client
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("the restarted scimd answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

/// Checks, against the restarted server at `base`, what the writers were told.
pub async fn assert_survived(outcomes: &[Outcomes], base: &str, token: &str) {
    let client = Client::new();
    for outcome in outcomes {
        for (id, user_name, title) in &outcome.created {
            let (status, user) = get(&client, base, token, &format!("/Users/{id}")).await;
            assert_eq!(status, 200, "{user_name}, created before the stop: {user}");
            assert_eq!(user["userName"], user_name.as_str());
            let shown = user["title"].as_str().unwrap_or_default();
            match title {
                Some(title) => assert_eq!(shown, *title, "{user_name}'s acknowledged PATCH"),
                None => assert!(
                    ["before", "after"].contains(&shown),
                    "{user_name}'s cut-off PATCH left {shown:?}"
                ),
            }
        }
        if let Some(user_name) = &outcome.create_cut_off {
            let filter = encode(&format!("userName eq \"{user_name}\""));
            let (status, found) =
                get(&client, base, token, &format!("/Users?filter={filter}")).await;
            assert_eq!(status, 200, "{found}");
            let total = found["totalResults"].as_i64().unwrap_or(-1);
            assert!(total == 0 || total == 1, "{user_name}, cut off: {found}");
            if total == 1 {
                let id = found["Resources"][0]["id"].as_str().unwrap_or_default();
                let (status, user) = get(&client, base, token, &format!("/Users/{id}")).await;
                assert_eq!(
                    (status, user["title"].as_str()),
                    (200, Some("before")),
                    "{user}"
                );
            }
        }
    }
}
