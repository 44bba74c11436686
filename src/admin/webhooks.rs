//! An instance's webhook endpoints: create (the secret shown once), list, show, disable,
//! enable, delete, rotate the secret, replay from an event, send a test message, and read the
//! attempts. Each change is recorded in the instance's log as made by the action's
//! administrator, before the table changes (no endpoint works without its record); no
//! secret is in any event.

use super::paging::split_page;
use super::settings::record_settings_change;
use super::{feed_instance, now, Action, AdminError, Source};
use crate::store::webhooks::{self, AttemptRecord, EndpointRecord, NewAttempt, ENABLED};
use crate::store::Store;
use crate::webhooks::attempt::{attempt, signing_secrets};
use crate::webhooks::url_policy;
use crate::webhooks::{Secret, Sender};
use aggregates::settings::SettingsCommand;
use chrono::Utc;
use projections::feed::{latest_seq, EVENT_TYPES};
use projections::metadata::timestamp;
use serde_json::json;

/// Who disables an endpoint that kept failing: scimd itself.
pub const DELIVERY_ACTOR: &str = "scimd";
pub const MAX_DESCRIPTION_CHARS: usize = 256;
/// The overlap of a rotation unless told otherwise: a day for receivers to take the new secret.
pub const DEFAULT_OVERLAP_HOURS: u32 = 24;
/// The longest overlap: a leaked secret must not sign for long.
pub const MAX_OVERLAP_HOURS: u32 = 30 * 24;
/// Attempts on a page of deliveries, at most.
pub const DELIVERIES_PAGE: i64 = 100;
/// The type of the message `test_webhook` sends.
pub const TEST_EVENT_TYPE: &str = "webhook.test";

/// What an endpoint is created with.
#[derive(Debug, Clone, Default)]
pub struct NewEndpoint {
    pub url: String,
    /// Empty: every type.
    pub types: Vec<String>,
    pub description: String,
}

/// An endpoint just created or rotated, with its secret to show once.
pub struct EndpointWithSecret {
    pub endpoint: EndpointRecord,
    pub secret: String,
}

fn checked_types(types: &[String]) -> Result<Vec<String>, AdminError> {
    let mut checked: Vec<String> = Vec::new();
    for kind in types {
        let kind = kind.trim();
        if !EVENT_TYPES.contains(&kind) {
            return Err(AdminError::UnknownEventType(kind.to_string()));
        }
        if !checked.iter().any(|known| known == kind) {
            checked.push(kind.to_string());
        }
    }
    Ok(checked)
}

fn checked_description(description: &str) -> Result<String, AdminError> {
    let description = description.trim();
    if description.chars().count() > MAX_DESCRIPTION_CHARS
        || description.chars().any(char::is_control)
    {
        return Err(AdminError::InvalidWebhookDescription);
    }
    Ok(description.to_string())
}

/// Creates an endpoint that receives the instance's events from now on (it starts at the
/// feed's latest event). `allow_loopback`: `http://` and loopback hosts are accepted.
pub async fn create_webhook(
    store: &Store,
    instance_name: &str,
    new: &NewEndpoint,
    allow_loopback: bool,
    action: &Action,
) -> Result<EndpointWithSecret, AdminError> {
    let instance = feed_instance(store, instance_name).await?;
    let url = url_policy::check(&new.url, allow_loopback).map_err(AdminError::WebhookUrl)?;
    let types = checked_types(&new.types)?;
    let description = checked_description(&new.description)?;
    let secret = Secret::generate().map_err(AdminError::Randomness)?;
    let endpoint = EndpointRecord {
        id: crate::ids::new_id(),
        instance_id: instance.id.clone(),
        url: url.to_string(),
        description,
        types: types.join(" "),
        state: ENABLED.to_string(),
        disabled_reason: None,
        created_at: now(),
        cursor: latest_seq(&store.db).await?,
        generation: 0,
        failures: 0,
        failing_since: None,
        next_attempt_at: None,
        previous_expires_at: None,
    };
    let command = SettingsCommand::RecordWebhookEndpointAdded {
        endpoint_id: endpoint.id.clone(),
        url: endpoint.url.clone(),
        types,
        description: endpoint.description.clone(),
    };
    record_settings_change(store, &instance.id, command, action).await?;
    webhooks::insert_endpoint(&store.db, &endpoint, secret.as_str()).await?;
    tracing::info!(endpoint = %endpoint.id, url = %endpoint.url, instance = instance_name, "webhook endpoint created");
    Ok(EndpointWithSecret {
        endpoint,
        secret: secret.as_str().to_string(),
    })
}

pub async fn list_webhooks(
    store: &Store,
    instance_name: &str,
) -> Result<Vec<EndpointRecord>, AdminError> {
    let instance = feed_instance(store, instance_name).await?;
    Ok(webhooks::endpoints_of(&store.db, &instance.id).await?)
}

pub async fn webhook(
    store: &Store,
    instance_name: &str,
    id: &str,
) -> Result<EndpointRecord, AdminError> {
    let instance = feed_instance(store, instance_name).await?;
    webhooks::endpoint(&store.db, &instance.id, id)
        .await?
        .ok_or_else(|| AdminError::UnknownWebhook(id.to_string()))
}

pub async fn delete_webhook(
    store: &Store,
    instance_name: &str,
    id: &str,
    action: &Action,
) -> Result<(), AdminError> {
    let endpoint = webhook(store, instance_name, id).await?;
    let command = SettingsCommand::RecordWebhookEndpointDeleted {
        endpoint_id: endpoint.id.clone(),
    };
    record_settings_change(store, &endpoint.instance_id, command, action).await?;
    webhooks::delete(&store.db, &endpoint.id).await?;
    Ok(())
}

/// Stops deliveries to the endpoint, "disabled by" the action's administrator.
pub async fn disable_webhook(
    store: &Store,
    instance_name: &str,
    id: &str,
    action: &Action,
) -> Result<EndpointRecord, AdminError> {
    let endpoint = webhook(store, instance_name, id).await?;
    let reason = format!("disabled by {}", action.actor);
    disable(store, &endpoint, &reason, action).await?;
    webhook(store, instance_name, id).await
}

/// Disables an endpoint delivery has given up on, recorded as done by scimd.
pub async fn disable_webhook_by_scimd(
    store: &Store,
    instance_id: &str,
    id: &str,
    reason: &str,
) -> Result<(), AdminError> {
    let Some(endpoint) = webhooks::endpoint(&store.db, instance_id, id).await? else {
        return Ok(());
    };
    let action = Action::new(DELIVERY_ACTOR, Source::Scimd);
    disable(store, &endpoint, reason, &action).await
}

async fn disable(
    store: &Store,
    endpoint: &EndpointRecord,
    reason: &str,
    action: &Action,
) -> Result<(), AdminError> {
    if !endpoint.is_enabled() {
        return Ok(());
    }
    let command = SettingsCommand::RecordWebhookEndpointDisabled {
        endpoint_id: endpoint.id.clone(),
        reason: reason.to_string(),
    };
    record_settings_change(store, &endpoint.instance_id, command, action).await?;
    webhooks::disable(&store.db, &endpoint.id, reason).await?;
    tracing::info!(endpoint = %endpoint.id, reason, "webhook endpoint disabled");
    Ok(())
}

/// Resumes deliveries with the event they stopped at.
pub async fn enable_webhook(
    store: &Store,
    instance_name: &str,
    id: &str,
    action: &Action,
) -> Result<EndpointRecord, AdminError> {
    let endpoint = webhook(store, instance_name, id).await?;
    if !endpoint.is_enabled() {
        let command = SettingsCommand::RecordWebhookEndpointEnabled {
            endpoint_id: endpoint.id.clone(),
        };
        record_settings_change(store, &endpoint.instance_id, command, action).await?;
        webhooks::enable(&store.db, &endpoint.id).await?;
    }
    webhook(store, instance_name, id).await
}

/// Gives the endpoint a new secret; the old one signs too for `overlap_hours` (default 24).
pub async fn rotate_webhook(
    store: &Store,
    instance_name: &str,
    id: &str,
    overlap_hours: Option<u32>,
    action: &Action,
) -> Result<EndpointWithSecret, AdminError> {
    let overlap = overlap_hours.unwrap_or(DEFAULT_OVERLAP_HOURS);
    if overlap > MAX_OVERLAP_HOURS {
        return Err(AdminError::InvalidOverlap(overlap));
    }
    let endpoint = webhook(store, instance_name, id).await?;
    let secret = Secret::generate().map_err(AdminError::Randomness)?;
    let expires = timestamp(Utc::now() + chrono::Duration::hours(i64::from(overlap)));
    let command = SettingsCommand::RecordWebhookSecretRotated {
        endpoint_id: endpoint.id.clone(),
        previous_expires_at: expires.clone(),
    };
    record_settings_change(store, &endpoint.instance_id, command, action).await?;
    webhooks::rotate(&store.db, &endpoint.id, secret.as_str(), &expires).await?;
    Ok(EndpointWithSecret {
        endpoint: webhook(store, instance_name, id).await?,
        secret: secret.as_str().to_string(),
    })
}

/// Sets delivery back so that it resumes with the event `from` (its id, or its cursor), at
/// once, even if the endpoint was waiting for a retry.
pub async fn replay_webhook(
    store: &Store,
    instance_name: &str,
    id: &str,
    from: &str,
    action: &Action,
) -> Result<EndpointRecord, AdminError> {
    let endpoint = webhook(store, instance_name, id).await?;
    let from = from.trim();
    let seq = match from.parse::<i64>() {
        Ok(cursor) if cursor >= 0 => cursor,
        _ => webhooks::feed_seq_of(&store.db, &endpoint.instance_id, from)
            .await?
            .ok_or_else(|| AdminError::UnknownReplayStart(from.to_string()))?,
    };
    let command = SettingsCommand::RecordWebhookEndpointReplayed {
        endpoint_id: endpoint.id.clone(),
        from: from.to_string(),
    };
    record_settings_change(store, &endpoint.instance_id, command, action).await?;
    // The cursor is the last delivered event: the one before `from`.
    webhooks::replay(&store.db, &endpoint.id, (seq - 1).max(0)).await?;
    webhook(store, instance_name, id).await
}

/// A page of the endpoint's attempts, newest first, before attempt `before`; and where the
/// next page starts.
pub async fn webhook_deliveries(
    store: &Store,
    instance_name: &str,
    id: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<AttemptRecord>, Option<i64>), AdminError> {
    let endpoint = webhook(store, instance_name, id).await?;
    let page = limit.clamp(1, DELIVERIES_PAGE);
    let attempts = webhooks::attempts(&store.db, &endpoint.id, before, page + 1).await?;
    Ok(split_page(attempts, page, |attempt| attempt.id))
}

/// Sends one signed `webhook.test` message to the endpoint now, whatever its state and
/// outside the feed, and records the attempt.
pub async fn test_webhook(
    store: &Store,
    sender: &Sender,
    instance_name: &str,
    id: &str,
) -> Result<AttemptRecord, AdminError> {
    let endpoint = webhook(store, instance_name, id).await?;
    let url = reqwest::Url::parse(&endpoint.url)
        .map_err(|_| AdminError::Store(format!("the stored URL of {id} does not parse")))?;
    let stored = webhooks::secrets(&store.db, &endpoint.id)
        .await?
        .ok_or_else(|| AdminError::UnknownWebhook(id.to_string()))?;
    let secrets = signing_secrets(&stored, &now());
    let secrets: Vec<&Secret> = secrets.iter().collect();
    let message_id = format!("msg_test_{}", crate::ids::new_id());
    let body = json!({
        "id": message_id,
        "type": TEST_EVENT_TYPE,
        "instanceId": endpoint.instance_id,
        "occurredAt": now(),
        "data": {"endpointId": endpoint.id, "url": endpoint.url},
    })
    .to_string();
    let outcome = sender
        .send(&url, &message_id, Utc::now().timestamp(), &body, &secrets)
        .await;
    let attempt: NewAttempt = attempt(&message_id, TEST_EVENT_TYPE, 1, &outcome);
    let attempt_id = webhooks::insert_attempt(&store.db, &endpoint.id, &attempt).await?;
    Ok(AttemptRecord {
        id: attempt_id,
        endpoint_id: endpoint.id,
        event_id: attempt.event_id,
        event_type: attempt.event_type,
        attempt: attempt.attempt,
        at: attempt.at,
        status: attempt.status,
        error: attempt.error,
        latency_ms: attempt.latency_ms,
        response: attempt.response,
        succeeded: attempt.succeeded,
    })
}
