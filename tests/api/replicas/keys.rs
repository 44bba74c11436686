//! A key revoked with the CLI is refused by every replica from its next request on: no
//! replica keeps an admission cached.

use super::{Replicas, A, B};
use crate::common::cli::run_cli;
use crate::common::server::{call, new_key};
use reqwest::Method;

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
