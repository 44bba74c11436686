//! What an auditor relies on after racing writers or a crash, checked the way an auditor
//! would: with `scimd verify`, `scimd audit verify` and the exported change history, against
//! the event log itself.

use super::cli::{open_store, run_cli};
use projections::db::{Dialect, Sql};
use serde_json::Value;

#[derive(Debug, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct LoggedEvent {
    position: i64,
    pub event_type: String,
    pub aggregate_id: String,
    payload: String,
}

/// Every event in the global order the projections apply them in (see
/// migrations/*/0001_event_store.sql: on PostgreSQL, positions are not in commit order).
pub async fn event_log(database_url: &str) -> Vec<LoggedEvent> {
    let store = open_store(database_url).await;
    let order = match store.db.dialect() {
        Dialect::Sqlite => "position",
        Dialect::Postgres => "transaction_id, position",
    };
    let sql = format!(
        "SELECT position, event_type, aggregate_id, CAST(payload AS TEXT) AS payload FROM events
          ORDER BY {order}"
    );
    let events = store
        .db
        .fetch_all(&Sql::new(sql))
        .await
        .expect("the event log reads");
    store.db.close().await;
    events
}

impl LoggedEvent {
    /// Whether the event's payload mentions `id` anywhere.
    pub fn payload_names(&self, id: &str) -> bool {
        self.payload.contains(id)
    }
}

/// The member a GroupMemberAdded or GroupMemberRemoved event names.
pub fn member_of(event: &LoggedEvent) -> String {
    let payload: Value = serde_json::from_str(&event.payload).unwrap_or_default();
    payload[event.event_type.as_str()]["member"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// What the auditor relies on after replicas raced: the read models equal a rebuild from the
/// log, the chain of instance `acme` is intact and seals every event, and its change history
/// has every event exactly once, in the log's order, whichever replica wrote it.
pub async fn assert_audit_trail_is_complete_and_ordered(database_url: &str) {
    let events = event_log(database_url).await;
    // The fresh database has one instance, so all of its events are acme's.
    let total = i64::try_from(events.len()).unwrap_or(i64::MAX);

    let (ok, out, err) = run_cli(database_url, &["--json", "verify"]).await;
    assert!(ok, "scimd verify: {out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap_or_default();
    assert_eq!(report["identical"], true, "{out}");
    assert_eq!(report["events"], total, "{out}");
    let projections = report["projections"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(projections.len(), 5, "{out}");
    assert!(projections.iter().all(|p| p["identical"] == true), "{out}");

    let (ok, out, err) = run_cli(database_url, &["--json", "audit", "verify"]).await;
    assert!(ok, "scimd audit verify: {out}{err}");
    let chains: Value = serde_json::from_str(&out).unwrap_or_default();
    assert_eq!(chains.as_array().map(Vec::len), Some(1), "{out}");
    assert_eq!(chains[0]["instance"], "acme", "{out}");
    assert_eq!(chains[0]["intact"], true, "{out}");
    assert_eq!(chains[0]["events"], total, "{out}");

    let (ok, out, err) = run_cli(
        database_url,
        &["history", "--instance", "acme", "--format", "jsonl"],
    )
    .await;
    assert!(ok, "scimd history: {err}");
    let history: Vec<(i64, String, String)> = out
        .lines()
        .map(|line| {
            let entry: Value = serde_json::from_str(line).unwrap_or_default();
            let text = |key: &str| entry[key].as_str().unwrap_or_default().to_string();
            (
                entry["position"].as_i64().unwrap_or_default(),
                text("action"),
                text("entityId"),
            )
        })
        .collect();
    let logged: Vec<(i64, String, String)> = events
        .iter()
        .map(|event| {
            (
                event.position,
                event.event_type.clone(),
                event.aggregate_id.clone(),
            )
        })
        .collect();
    assert_eq!(history.len(), logged.len(), "one history entry per event");
    assert_eq!(history, logged, "the history follows the log's order");
}
