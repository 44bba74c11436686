//! scimd's own log, captured from a `scimd serve` process at debug level (SQL statements
//! included): JSON lines that carry each request's correlation id, instance and aggregate id,
//! one `served` line per request, and never a key, the admin token or an Authorization value.

use crate::common::cli::run_cli;
use crate::common::server::{self, new_key, Server};
use crate::common::{fresh_database, user, Reply, StoreKind};
use crate::on_both_store_kinds;
use reqwest::Method;
use serde_json::{json, Value};

on_both_store_kinds!(
    json_lines_carry_the_request_fields_and_no_secret,
    text_lines_carry_no_secret,
);

/// A session as an operator and an IdP run it, and what it left in the log.
struct Session {
    lines: Vec<String>,
    /// Everything that must never be logged.
    secrets: Vec<String>,
    user_id: String,
    /// The correlation ids of the create and the PATCH.
    created: String,
    patched: String,
    /// The id of the key the PATCH used.
    patch_key_id: String,
}

/// A fresh random string, for tokens that are none of scimd's making.
fn random_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The key id and the secret of a `scimd_<key id>_<secret>` token.
fn key_parts(token: &str) -> (String, String) {
    let rest = token.strip_prefix("scimd_").expect("a scimd key");
    let (id, secret) = rest.split_once('_').expect("an id and a secret");
    (id.to_string(), secret.to_string())
}

async fn send(method: Method, url: &str, token: &str, body: Option<Value>) -> (Reply, String) {
    let reply = server::send(method, url, token, body).await;
    let correlation_id = reply.header("x-request-id").unwrap_or_default().to_string();
    (reply, correlation_id)
}

async fn session(kind: StoreKind, format: &str) -> Session {
    let (url, _dir) = fresh_database(kind).await;
    let admin_token = random_secret();
    let env = [
        ("RUST_LOG", "debug"),
        ("SCIMD_ADMIN_TOKEN", admin_token.as_str()),
    ];
    let mut server = Server::start_logging(&url, &["--log-format", format], &env).await;
    let logs = server.logs.clone().expect("stderr is captured");
    let printed = server
        .printed_key
        .clone()
        .expect("a first start prints a key");
    let made = new_key(&url, "default", "okta").await;
    let (printed_id, printed_secret) = key_parts(&printed);
    let (made_id, made_secret) = key_parts(&made);
    // A key that names a real key id with a wrong secret: a guess worth logging, not its secret.
    let guessed_secret = random_secret();
    let guessed = format!("scimd_{printed_id}_{guessed_secret}");
    let wrong_admin_token = random_secret();

    let users = format!("{}/Users", server.base);
    let body = user("logged@example.com");
    let (reply, created) = send(Method::POST, &users, &printed, Some(body)).await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let user_id = reply.id();
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Logged"}],
    });
    let (reply, patched) = send(
        Method::PATCH,
        &format!("{users}/{user_id}"),
        &made,
        Some(patch),
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let (reply, _) = send(Method::GET, &users, &guessed, None).await;
    assert_eq!(reply.status, 401);

    let origin = server.base.trim_end_matches("/scim/v2");
    let roles = format!("{origin}/admin/v1/instances/default/roles");
    let (reply, _) = send(Method::GET, &roles, &admin_token, None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let (reply, _) = send(Method::GET, &roles, &wrong_admin_token, None).await;
    assert_eq!(reply.status, 401);

    let (ok, _, err) = run_cli(&url, &["keys", "revoke", &made_id]).await;
    assert!(ok, "{err}");
    let (reply, _) = send(Method::GET, &users, &made, None).await;
    assert_eq!(reply.status, 401, "a revoked key is refused");

    assert!(server.signal("TERM").await.success());
    Session {
        lines: logs.after_exit().await,
        secrets: vec![
            printed,
            printed_secret,
            made,
            made_secret,
            guessed,
            guessed_secret,
            admin_token,
            wrong_admin_token,
        ],
        user_id,
        created,
        patched,
        patch_key_id: made_id,
    }
}

impl Session {
    fn assert_no_secret(&self) {
        assert!(
            self.lines.len() > 20,
            "a debug log has lines: {:?}",
            self.lines
        );
        for line in &self.lines {
            for secret in &self.secrets {
                assert!(
                    !line.contains(secret.as_str()),
                    "a secret is logged: {line}"
                );
            }
            let lowered = line.to_ascii_lowercase();
            assert!(
                !lowered.contains("authorization:"),
                "a header is logged: {line}"
            );
        }
    }
}

/// The fields of the request span a JSON line was logged in, if any.
fn request_span(line: &Value) -> Option<&Value> {
    line["spans"]
        .as_array()?
        .iter()
        .find(|span| span["name"] == "request")
}

async fn json_lines_carry_the_request_fields_and_no_secret(kind: StoreKind) {
    let session = session(kind, "json").await;
    session.assert_no_secret();
    let lines: Vec<Value> = session
        .lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    for line in &lines {
        for field in ["timestamp", "level", "target"] {
            assert!(line[field].is_string(), "no {field}: {line}");
        }
        assert!(line["fields"].is_object(), "no fields: {line}");
        if let Some(span) = request_span(line) {
            assert!(span["correlation_id"].is_string(), "{line}");
        }
    }
    let of = |id: &str| -> Vec<&Value> {
        lines
            .iter()
            .filter(|line| request_span(line).is_some_and(|span| span["correlation_id"] == id))
            .collect()
    };
    let created = of(&session.created);
    let messages: Vec<&str> = created
        .iter()
        .filter_map(|line| line["fields"]["message"].as_str())
        .collect();
    assert!(messages.contains(&"user created"), "{messages:?}");
    assert!(
        created
            .iter()
            .any(|line| matches!(line["target"].as_str(), Some("sqlx::query" | "scimd::sql"))),
        "its SQL statements are logged in its span: {messages:?}"
    );
    for (correlation_id, status, key_id) in [
        (&session.created, 201, None),
        (&session.patched, 200, Some(session.patch_key_id.as_str())),
    ] {
        let lines = of(correlation_id);
        let served: Vec<&&Value> = lines
            .iter()
            .filter(|line| line["fields"]["message"] == "served")
            .collect();
        assert_eq!(served.len(), 1, "one served line per request: {lines:?}");
        let line = served[0];
        assert_eq!(line["fields"]["status"], status, "{line}");
        assert!(line["fields"]["latency_ms"].as_f64().is_some(), "{line}");
        let span = request_span(line).expect("the request span");
        assert_eq!(span["instance"], "default", "{line}");
        assert_eq!(span["aggregate_id"], session.user_id.as_str(), "{line}");
        if let Some(key_id) = key_id {
            assert_eq!(span["key_id"], key_id, "{line}");
        }
    }
}

async fn text_lines_carry_no_secret(kind: StoreKind) {
    let session = session(kind, "text").await;
    session.assert_no_secret();
    let served: Vec<&String> = session
        .lines
        .iter()
        .filter(|line| line.contains(&session.patched) && line.contains("served"))
        .collect();
    assert_eq!(served.len(), 1, "{:?}", session.lines);
    assert!(!served[0].starts_with('{'), "text, not JSON: {}", served[0]);
    assert!(served[0].contains("status=200"), "{}", served[0]);
    let aggregate = format!("aggregate_id={}", session.user_id);
    assert!(served[0].contains(&aggregate), "{}", served[0]);
}
