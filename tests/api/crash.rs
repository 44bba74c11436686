//! SIGKILL in the middle of a write load, as a power cut or an OOM kill would stop scimd:
//! after a restart, every create and PATCH that was answered with success is there, a request
//! cut off by the kill is either whole or absent, and the read models, the hash chain and the
//! change history agree with the event log.

use crate::common::audit_trail::assert_audit_trail_is_complete_and_ordered;
use crate::common::cli::database_with_instance;
use crate::common::server::{new_key, Server};
use crate::common::{encode, StoreKind};
use crate::on_both_store_kinds;
use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::time::Duration;

on_both_store_kinds!(a_kill_under_load_keeps_every_acknowledged_change);

/// Clients creating and patching users at once when the kill comes.
const WRITERS: usize = 16;
/// How long the load runs before the kill.
const LOAD: Duration = Duration::from_millis(1500);

/// One request's outcome as the client saw it: a status, or no answer (cut off by the kill).
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

/// What one writer knows once the server is gone.
#[derive(Debug, Default)]
struct Outcomes {
    /// Users whose create was answered 201: id, userName, and the title a 200 to the PATCH
    /// set, if it was answered.
    created: Vec<(String, String, Option<&'static str>)>,
    /// The user whose PATCH was cut off, if one was: its title may be either.
    patch_cut_off: Option<String>,
    /// The userName whose create was cut off, if one was.
    create_cut_off: Option<String>,
}

/// Creates a user, then renames its title, again and again until the server stops answering.
async fn write_until_killed(
    client: Client,
    base: String,
    token: String,
    writer: usize,
) -> Outcomes {
    let mut outcomes = Outcomes::default();
    for n in 0.. {
        let user_name = format!("w{writer}-{n}@crash.example");
        let body = json!({"userName": user_name, "title": "before"});
        let Some((status, created)) =
            send(&client, format!("{base}/Users"), &token, Method::POST, body).await
        else {
            outcomes.create_cut_off = Some(user_name);
            return outcomes;
        };
        assert_eq!(status, 201, "creating {user_name}: {created}");
        let id = created["id"].as_str().unwrap_or_default().to_string();
        let rename = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "title", "value": "after"}],
        });
        let patched = send(
            &client,
            format!("{base}/Users/{id}"),
            &token,
            Method::PATCH,
            rename,
        )
        .await;
        match patched {
            Some((status, body)) => {
                assert_eq!(status, 200, "patching {user_name}: {body}");
                outcomes.created.push((id, user_name, Some("after")));
            }
            None => {
                outcomes.patch_cut_off = Some(id.clone());
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

async fn a_kill_under_load_keeps_every_acknowledged_change(kind: StoreKind) {
    let (url, _dir) = database_with_instance(kind, "acme").await;
    let token = new_key(&url, "acme", "okta").await;
    let mut server = Server::start(&url).await;
    let client = Client::new();
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (client, base, token) = (client.clone(), server.base.clone(), token.clone());
            tokio::spawn(write_until_killed(client, base, token, writer))
        })
        .collect();
    tokio::time::sleep(LOAD).await;
    server.signal("KILL").await;
    let mut outcomes = Vec::with_capacity(WRITERS);
    for writer in writers {
        outcomes.push(writer.await.expect("a writer ends once the server is gone"));
    }
    let acknowledged: usize = outcomes.iter().map(|o| o.created.len()).sum();
    assert!(
        acknowledged >= WRITERS,
        "the load was under way: {acknowledged} creates answered"
    );

    let mut server = Server::start(&url).await;
    let base = server.base.clone();
    for outcome in &outcomes {
        for (id, user_name, title) in &outcome.created {
            let (status, user) = get(&client, &base, &token, &format!("/Users/{id}")).await;
            assert_eq!(status, 200, "{user_name}, created before the kill: {user}");
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
                get(&client, &base, &token, &format!("/Users?filter={filter}")).await;
            assert_eq!(status, 200, "{found}");
            let total = found["totalResults"].as_i64().unwrap_or(-1);
            assert!(total == 0 || total == 1, "{user_name}, cut off: {found}");
            if total == 1 {
                let id = found["Resources"][0]["id"].as_str().unwrap_or_default();
                let (status, user) = get(&client, &base, &token, &format!("/Users/{id}")).await;
                assert_eq!(
                    (status, user["title"].as_str()),
                    (200, Some("before")),
                    "{user}"
                );
            }
        }
    }
    let exit = server.signal("TERM").await;
    assert!(exit.success(), "{exit:?}");
    assert_audit_trail_is_complete_and_ordered(&url).await;
}
