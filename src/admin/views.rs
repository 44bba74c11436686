//! The JSON form of instances and keys, instance settings, directory entries, history and
//! provisioning log entries and chain audits, shared by the CLI's `--json` output and the admin HTTP API, so that both
//! show exactly the same thing.

use super::{
    ExpectedHead, GroupMembers, HeadCheck, InstanceChain, IssuedAdmin, IssuedKey, RemapPreview,
    VerifyReport,
};
use crate::store::admins::AdminRecord;
use crate::store::provisioning_log::LogEntry;
use crate::store::tenancy::{InstanceRecord, KeyRecord};
use crate::store::webhooks::{AttemptRecord, EndpointRecord};
use aggregates::settings::InstanceSettings;
use projections::chain::audit::Discrepancy;
use projections::directory::AppUserRecord;
use projections::history::HistoryEntry;
use projections::user_search::FoundUser;
use serde_json::{json, Value};

pub fn instance(instance: &InstanceRecord) -> Value {
    json!({"name": instance.name, "id": instance.id, "createdAt": instance.created_at})
}

/// A key as listed: never its secret.
pub fn key(key: &KeyRecord) -> Value {
    json!({
        "keyId": key.id,
        "integrationUser": key.integration_user,
        "createdAt": key.created_at,
        "revokedAt": key.revoked_at,
        "lastUsedAt": key.last_used_at,
    })
}

/// A key just issued: the only time its secret is shown.
pub fn issued_key(issued: &IssuedKey, instance_name: &str) -> Value {
    json!({
        "keyId": issued.record.id,
        "instance": instance_name,
        "integrationUser": issued.record.integration_user,
        "key": issued.token,
    })
}

/// An administrator as listed: never their credential.
pub fn admin(admin: &AdminRecord) -> Value {
    json!({
        "id": admin.id,
        "name": admin.name,
        "createdAt": admin.created_at,
        "revokedAt": admin.revoked_at,
    })
}

/// An administrator just made: the only time their credential is shown.
pub fn issued_admin(issued: &IssuedAdmin) -> Value {
    json!({"id": issued.record.id, "name": issued.record.name, "token": issued.token})
}

/// A webhook endpoint as listed and shown: never its secret. `now` (RFC 3339) decides whether
/// a rotated-out secret still signs.
pub fn webhook_endpoint(endpoint: &EndpointRecord, now: &str) -> Value {
    let previous_expires = endpoint
        .previous_expires_at
        .as_ref()
        .filter(|expires| expires.as_str() > now);
    json!({
        "id": endpoint.id,
        "url": endpoint.url,
        "description": endpoint.description,
        "types": endpoint.types(),
        "state": endpoint.state,
        "disabledReason": endpoint.disabled_reason,
        "createdAt": endpoint.created_at,
        "cursor": endpoint.cursor.to_string(),
        "failingSince": endpoint.failing_since,
        "nextAttemptAt": endpoint.next_attempt_at,
        "previousSecretExpiresAt": previous_expires,
    })
}

/// An endpoint just created or rotated: the only time its secret is shown.
pub fn webhook_with_secret(endpoint: &EndpointRecord, secret: &str, now: &str) -> Value {
    json!({"endpoint": webhook_endpoint(endpoint, now), "secret": secret})
}

pub fn webhook_attempt(attempt: &AttemptRecord) -> Value {
    json!({
        "id": attempt.id.to_string(),
        "eventId": attempt.event_id,
        "eventType": attempt.event_type,
        "attempt": attempt.attempt,
        "at": attempt.at,
        "status": attempt.status,
        "error": attempt.error,
        "latencyMs": attempt.latency_ms,
        "response": attempt.response,
        "succeeded": attempt.succeeded,
    })
}

pub fn revoked_key(key_id: &str) -> Value {
    json!({"revoked": key_id})
}

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

/// A user of the directory listing, by which an application keeps its copy: `managerId` is
/// null without a manager or while the named one is not provisioned; `updatedAt` is the time of
/// the last change of any of these.
pub fn directory_user(entry: &AppUserRecord) -> Value {
    json!({
        "id": entry.id,
        "userName": entry.user_name,
        "state": entry.state,
        "managed": entry.managed,
        "fields": entry.fields(),
        "managerId": entry.manager_id,
        "updatedAt": entry.updated_at,
    })
}

/// A user a search found: who it is and the addresses it may have been found by.
pub fn found_user(user: &FoundUser) -> Value {
    let attributes: Value = serde_json::from_str(&user.attributes).unwrap_or(Value::Null);
    let emails: Vec<&str> = attributes["emails"]
        .as_array()
        .map(|emails| emails.iter().filter_map(|e| e["value"].as_str()).collect())
        .unwrap_or_default();
    json!({
        "id": user.id,
        "userName": user.user_name,
        "displayName": user.display_name,
        "active": user.active,
        "emails": emails,
    })
}

/// A page of a group's members, with the group; a member's `userName` is null for a group.
pub fn group_members(page: &GroupMembers) -> Value {
    let members: Vec<Value> = page
        .members
        .iter()
        .map(|member| {
            json!({
                "id": member.member_id,
                "kind": member.member_kind,
                "userName": member.user_name,
                "displayName": member.display_name,
            })
        })
        .collect();
    json!({
        "group": {
            "id": page.group.id,
            "displayName": page.group.display_name,
            "externalId": page.group.external_id,
            "created": page.group.created_at,
            "lastModified": page.group.last_modified,
            "members": page.total,
        },
        "entries": members,
        "nextCursor": page.next,
    })
}

/// What re-applying the mapping would change: counts and a sample of old → new values (an
/// absent value is null).
pub fn remap_preview(preview: &RemapPreview) -> Value {
    let sample: Vec<Value> = preview
        .sample
        .iter()
        .map(|user| {
            let changes: Vec<Value> = user
                .changes
                .iter()
                .map(|change| json!({"field": change.field, "old": change.old, "new": change.new}))
                .collect();
            json!({"id": user.id, "userName": user.user_name, "changes": changes})
        })
        .collect();
    json!({
        "users": preview.report.users,
        "changed": preview.report.changed,
        "sample": sample,
    })
}

/// `scimd verify`'s report: each projection's live and rebuilt digests, and the rows that
/// differ; `seconds` is how long it took.
pub fn verify_report(report: &VerifyReport, seconds: f64) -> Value {
    let projections: Vec<Value> = report
        .projections
        .iter()
        .map(|projection| {
            let tables: Vec<Value> = projection
                .tables
                .iter()
                .map(|table| {
                    json!({
                        "table": table.table,
                        "liveRows": table.live_rows,
                        "rebuiltRows": table.rebuilt_rows,
                        "onlyLive": table.only_live,
                        "onlyRebuilt": table.only_rebuilt,
                    })
                })
                .collect();
            json!({
                "name": projection.name,
                "identical": projection.identical(),
                "liveRows": projection.live_rows(),
                "liveDigest": projection.live_digest,
                "rebuiltDigest": projection.rebuilt_digest,
                "tables": tables,
            })
        })
        .collect();
    json!({
        "identical": report.identical(),
        "events": report.events,
        "position": report.at.position,
        "seconds": seconds,
        "projections": projections,
    })
}

/// A history entry, its details as JSON; `memberType`, `memberId` and `memberName` (its name
/// at the time) say whom a group's member change added or removed, and are null otherwise.
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
        "memberType": entry.member_type,
        "memberId": entry.member_id,
        "memberName": entry.member_name,
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

/// The chain audit of `found` with `expectedHead`: how it compares with a head recorded
/// elsewhere.
pub fn instance_chain_with_head(
    found: &InstanceChain,
    expected: &ExpectedHead,
    head: &HeadCheck,
) -> Value {
    let mut report = instance_chain(found);
    report["expectedHead"] = head_check(expected, head);
    report
}

fn head_check(expected: &ExpectedHead, head: &HeadCheck) -> Value {
    let found = match head {
        HeadCheck::Matches => Some(expected.hash.as_str()),
        HeadCheck::Differs { found } => Some(found.as_str()),
        HeadCheck::Shorter { .. } | HeadCheck::BrokenBefore { .. } => None,
    };
    json!({
        "atCount": expected.count,
        "hash": expected.hash,
        "matches": head.matches(),
        "found": found,
        "detail": head.describe(expected),
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

/// A provisioning log entry; `body` is the redacted request body as JSON (or a string saying
/// why it was withheld), null unless the request failed.
pub fn provisioning_log_entry(entry: &LogEntry) -> Value {
    let body: Value = entry
        .body
        .as_deref()
        .and_then(|body| serde_json::from_str(body).ok())
        .unwrap_or(Value::Null);
    json!({
        "sequence": entry.sequence,
        "at": entry.at,
        "method": entry.method,
        "path": entry.path,
        "status": entry.status,
        "latencyMs": latency_ms(entry.latency_us),
        "correlationId": entry.correlation_id,
        "keyId": entry.key_id,
        "userAgent": entry.user_agent,
        "resourceType": entry.resource_type,
        "resourceId": entry.resource_id,
        "userName": entry.user_name,
        "externalId": entry.external_id,
        "failed": entry.failed,
        "scimType": entry.scim_type,
        "detail": entry.detail,
        "body": body,
    })
}

/// Why an entry's body was not kept as a document (not valid JSON, too large, not read whole),
/// when that is so: then no userName could be read from it either.
pub fn body_withheld(entry: &LogEntry) -> Option<String> {
    let body = entry.body.as_deref()?;
    match serde_json::from_str(body) {
        Ok(Value::String(note)) => Some(note),
        _ => None,
    }
}

/// Microseconds as milliseconds with three decimals.
pub fn latency_ms(micros: i64) -> f64 {
    // Latencies are far below 2^53 µs, so the conversion is exact.
    micros as f64 / 1000.0
}
