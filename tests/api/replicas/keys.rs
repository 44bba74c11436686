//! A key revoked with the CLI or through one replica is refused by every replica from its
//! next request on, and a settings change made through one replica is honoured by the other's
//! next request: each replica holds keys and settings in memory, and checks them with the
//! request's own reads.

use super::{Replica, Replicas, A, B};
use crate::common::cli::run_cli;
use crate::common::encode;
use crate::common::server::{call, new_key};
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_is_refused_by_every_replica_at_once() {
    let replicas = Replicas::start().await;
    let token = new_key(&replicas.database_url, "acme", "entra").await;
    let key_id = token.split('_').nth(1).unwrap_or_default().to_string();
    let url =
        |replica: super::Replica| format!("{}/Users", replicas.servers[replica as usize].base);
    // Both replicas have admitted the key, so a cache of admissions would hold it.
    for replica in [A, B, A, B] {
        let (status, body) = call(Method::GET, &url(replica), &token, None).await;
        assert_eq!(status, 200, "{replica:?}: {body}");
    }
    let (ok, _, err) = run_cli(&replicas.database_url, &["keys", "revoke", &key_id]).await;
    assert!(ok, "{err}");
    for replica in [A, B] {
        let (status, body) = call(Method::GET, &url(replica), &token, None).await;
        assert_eq!(status, 401, "{replica:?}: {body}");
    }
    // The instance's other key is untouched on both.
    for replica in [A, B] {
        assert_eq!(
            replicas.get(replica, "/Users").await.status,
            200,
            "{replica:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_revoked_through_one_replica_is_refused_by_the_others_next_lookup_and_write() {
    let replicas = Replicas::start().await;
    replicas.create_user(A, "ada@example.com").await;
    let token = new_key(&replicas.database_url, "acme", "entra").await;
    let key_id = token.split('_').nth(1).unwrap_or_default().to_string();
    let base = |replica: Replica| replicas.base(replica).to_string();
    let lookup = |replica: Replica, name: &str| {
        let filter = encode(&format!(r#"userName eq "{name}""#));
        format!("{}/Users?filter={filter}", base(replica))
    };
    // Both hold the key: lookups that find a user, and lookups that find none.
    for replica in [A, B, A, B] {
        for name in ["ada@example.com", "nobody@example.com"] {
            let (status, body) = call(Method::GET, &lookup(replica, name), &token, None).await;
            assert_eq!(status, 200, "{replica:?}: {body}");
        }
    }
    let path = format!("/instances/acme/keys/{key_id}");
    let revoked = replicas.admin(A, Method::DELETE, &path, None).await;
    assert!(revoked.status < 300, "{:?}", revoked.body);
    for replica in [B, A] {
        for name in ["ada@example.com", "nobody@example.com"] {
            let (status, body) = call(Method::GET, &lookup(replica, name), &token, None).await;
            assert_eq!(status, 401, "{replica:?} looking up {name}: {body}");
        }
        let user = json!({"userName": format!("{replica:?}@example.com")});
        let users = format!("{}/Users", base(replica));
        let (status, body) = call(Method::POST, &users, &token, Some(user)).await;
        assert_eq!(status, 401, "{replica:?}: {body}");
    }
    assert_eq!(
        replicas
            .users_named(B, "ada@example.com")
            .await
            .resources()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settings_change_through_one_replica_is_honoured_by_the_others_next_request() {
    let replicas = Replicas::start().await;
    let viewer = |name: &str| json!({"userName": name, "roles": [{"value": "Viewer"}]});
    // Both hold the instance's settings, which do not allow the role.
    for replica in [A, B, A, B] {
        let refused = replicas
            .post(replica, "/Users", viewer("early@example.com"))
            .await;
        assert_eq!(refused.status, 400, "{replica:?}: {:?}", refused.body);
    }
    let allowed = json!({"roles": ["User", "Viewer"]});
    let path = "/instances/acme/roles/allowed";
    let changed = replicas.admin(A, Method::PUT, path, Some(allowed)).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    let admitted = replicas.post(B, "/Users", viewer("bea@example.com")).await;
    assert_eq!(admitted.status, 201, "{:?}", admitted.body);
    // And a change made with the CLI, by neither replica.
    let (ok, _, err) = run_cli(
        &replicas.database_url,
        &["roles", "default", "--instance", "acme", "Viewer"],
    )
    .await;
    assert!(ok, "{err}");
    for replica in [A, B] {
        let name = format!("default-{replica:?}@example.com");
        let created = replicas
            .post(replica, "/Users", json!({"userName": name}))
            .await;
        assert_eq!(created.status, 201, "{replica:?}: {:?}", created.body);
        assert_eq!(
            created.body["roles"],
            json!([{"value": "Viewer"}]),
            "{replica:?}"
        );
    }
}
