//! The JSON form of instance settings, directory entries, history entries and chain audits, shared by the CLI's `--json`
//! output and the admin HTTP API, so that both show exactly the same thing.

use super::InstanceChain;
use aggregates::settings::InstanceSettings;
use projections::chain::audit::Discrepancy;
use projections::directory::AppUserRecord;
use projections::history::HistoryEntry;
use serde_json::{json, Value};

/// `allowed` is `"any"` when any role is allowed.
pub fn roles(settings: &InstanceSettings) -> Value {
    let allowed = if settings.allows_any_role() {
        json!("any")
    } else {
        json!(settings.allowed_roles())
    };
    json!({"allowed": allowed, "default": settings.default_roles()})
}

pub fn mappings(settings: &InstanceSettings) -> Value {
    let rows: Vec<Value> = settings
        .mapping()
        .iter()
        .map(|row| {
            json!({
                "attribute": row.attribute,
                "field": row.field,
                "readOnly": row.is_read_only(),
            })
        })
        .collect();
    json!({
        "mapping": rows,
        "fields": settings.fields(),
        "customFields": settings.custom_fields(),
    })
}

/// `manager` is null without one; its `id` is null while the named manager is not provisioned.
pub fn directory_entry(entry: &AppUserRecord) -> Value {
    let manager = entry
        .manager_reference
        .as_ref()
        .map(|reference| json!({"reference": reference, "id": entry.manager_id}));
    json!({
        "id": entry.id,
        "userName": entry.user_name,
        "state": entry.state,
        "managedByScim": entry.managed,
        "fields": entry.fields(),
        "manager": manager,
    })
}

/// A history entry, its details as JSON.
pub fn history_entry(entry: &HistoryEntry) -> Value {
    let details: Value = serde_json::from_str(&entry.details).unwrap_or(Value::Null);
    json!({
        "position": entry.position,
        "occurredAt": entry.occurred_at,
        "actor": entry.actor,
        "keyId": entry.key_id,
        "source": entry.source,
        "userAgent": entry.user_agent,
        "correlationId": entry.correlation_id,
        "entityType": entry.entity_type,
        "entityId": entry.entity_id,
        "entityName": entry.entity_name,
        "action": entry.action,
        "details": details,
    })
}

/// One instance's chain audit; `discrepancy` is null when the chain is intact.
pub fn instance_chain(found: &InstanceChain) -> Value {
    json!({
        "instance": found.instance,
        "intact": found.check.intact(),
        "events": found.check.verified,
        "head": found.check.head,
        "discrepancy": found.check.discrepancy.as_ref().map(discrepancy),
    })
}

/// `event` is null when a chain entry is gone together with its event.
fn discrepancy(found: &Discrepancy) -> Value {
    let event = found.event.as_ref().map(|event| {
        json!({
            "aggregateType": event.aggregate_type,
            "aggregateId": event.aggregate_id,
            "sequence": event.sequence,
            "globalPosition": event.position.position,
            "transactionId": event.position.transaction_id,
        })
    });
    json!({
        "kind": found.kind.as_str(),
        "chainPosition": found.chain_position,
        "event": event,
    })
}
