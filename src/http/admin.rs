//! The admin HTTP API under `/admin/v1`: the instance, key, administrator, settings, directory,
//! history and audit operations of the CLI, over HTTP, behind an admin credential (a named
//! administrator's, the bootstrap token, or the console's session: see `admin_auth`; never a
//! SCIM key: a live one gets 403). Without a configured bootstrap token the API does not exist
//! (404). Errors are
//! `{"error": "..."}` with a fitting status.

use super::bounds;
use super::extract::BaseUrl;
use super::router::AppState;
use super::{
    admin_admins, admin_auth, admin_directory, admin_events, admin_finding, admin_tenancy,
    admin_verify, admin_webhooks,
};
use crate::admin::views;
use crate::admin::{self, Action, AdminError};
use crate::scim::schema::ResourceType;
use aggregates::settings::{SettingsCommand, SettingsError};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Extension;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

pub(super) type Reply = Result<Json<Value>, AdminFailure>;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .merge(admin_tenancy::routes())
        .merge(admin_finding::routes())
        .merge(admin_verify::routes())
        .merge(admin_directory::routes())
        .merge(admin_webhooks::routes())
        .route("/instances/{instance}/roles", get(roles))
        .route("/instances/{instance}/roles/allowed", put(allow_roles))
        .route("/instances/{instance}/roles/default", put(default_roles))
        .route("/instances/{instance}/fields", post(add_field))
        .route("/instances/{instance}/mappings", get(mappings))
        .route(
            "/instances/{instance}/mappings/{field}",
            put(set_mapping).delete(delete_mapping),
        )
        .route("/instances/{instance}/mappings/reset", post(reset_mappings))
        .route("/instances/{instance}/mappings/apply", post(apply_mappings))
        .route(
            "/instances/{instance}/directory/{user_name}",
            get(directory_entry),
        )
        .route("/instances/{instance}/history", get(history))
        .route("/instances/{instance}/audit", get(audit))
        .route("/instances/{instance}/users/{id}", get(user_at))
        .route("/instances/{instance}/groups/{id}", get(group_at))
        .route(
            "/instances/{instance}/provisioning-log",
            get(provisioning_log),
        )
        .merge(admin_admins::routes())
        // Inside the credential check: no body is read for a client without one.
        .route_layer(middleware::from_fn_with_state(
            state.limits,
            bounds::bound_admin,
        ))
        // Long polls and event streams outlast the request timeout; they read no body.
        .merge(admin_events::routes())
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            admin_auth::require_admin,
        ))
        // Signing in needs no credential but the one it checks; its body is bounded too.
        .merge(
            admin_auth::session_routes().route_layer(middleware::from_fn_with_state(
                state.limits,
                bounds::bound_admin,
            )),
        )
}

/// An admin request that failed, as `{"error": ...}`.
pub struct AdminFailure(StatusCode, String);

impl AdminFailure {
    pub fn new(status: StatusCode, detail: String) -> Self {
        Self(status, detail)
    }
}

impl From<AdminError> for AdminFailure {
    fn from(error: AdminError) -> Self {
        let status = match &error {
            AdminError::UnknownInstance(_)
            | AdminError::UnknownUser(_)
            | AdminError::UnknownGroup(_)
            | AdminError::UnknownId(_)
            | AdminError::NotYetCreated { .. }
            | AdminError::DeletedBy { .. }
            | AdminError::UnknownKey(_)
            | AdminError::UnknownAdmin(_)
            | AdminError::UnknownWebhook(_)
            | AdminError::Settings(SettingsError::UnknownWebhook(_)) => StatusCode::NOT_FOUND,
            AdminError::Store(_)
            | AdminError::Db(_)
            | AdminError::Randomness(_)
            | AdminError::Unreadable(..) => {
                tracing::error!(%error, "admin request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            AdminError::InstanceExists(_)
            | AdminError::AlreadyRevoked(_)
            | AdminError::AdminExists(_)
            | AdminError::AdminAlreadyRevoked(_) => StatusCode::CONFLICT,
            _ => StatusCode::BAD_REQUEST,
        };
        Self(status, error.to_string())
    }
}

impl IntoResponse for AdminFailure {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesBody {
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    any: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldBody {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingBody {
    attribute: String,
}

async fn roles(State(state): State<AppState>, Path(instance): Path<String>) -> Reply {
    let settings = admin::settings(state.provisioning.store(), &instance).await?;
    Ok(Json(views::roles(&settings)))
}

async fn allow_roles(
    State(state): State<AppState>,
    Extension(action): Extension<Action>,
    Path(instance): Path<String>,
    Json(body): Json<RolesBody>,
) -> Reply {
    let command = if body.any {
        SettingsCommand::AllowAnyRole
    } else {
        SettingsCommand::AllowRoles { roles: body.roles }
    };
    let settings =
        admin::change_settings(state.provisioning.store(), &instance, command, &action).await?;
    Ok(Json(views::roles(&settings)))
}

async fn default_roles(
    State(state): State<AppState>,
    Extension(action): Extension<Action>,
    Path(instance): Path<String>,
    Json(body): Json<RolesBody>,
) -> Reply {
    let command = SettingsCommand::SetDefaultRoles { roles: body.roles };
    let settings =
        admin::change_settings(state.provisioning.store(), &instance, command, &action).await?;
    Ok(Json(views::roles(&settings)))
}

async fn add_field(
    State(state): State<AppState>,
    Extension(action): Extension<Action>,
    Path(instance): Path<String>,
    Json(body): Json<FieldBody>,
) -> Reply {
    let command = SettingsCommand::AddField { name: body.name };
    let settings =
        admin::change_settings(state.provisioning.store(), &instance, command, &action).await?;
    Ok(Json(views::mappings(&settings)))
}

async fn mappings(State(state): State<AppState>, Path(instance): Path<String>) -> Reply {
    let settings = admin::settings(state.provisioning.store(), &instance).await?;
    Ok(Json(views::mappings(&settings)))
}

async fn set_mapping(
    State(state): State<AppState>,
    Extension(action): Extension<Action>,
    Path((instance, field)): Path<(String, String)>,
    Json(body): Json<MappingBody>,
) -> Reply {
    let store = state.provisioning.store();
    let settings = admin::set_mapping(store, &instance, &field, &body.attribute, &action).await?;
    Ok(Json(views::mappings(&settings)))
}

async fn delete_mapping(
    State(state): State<AppState>,
    Extension(action): Extension<Action>,
    Path((instance, field)): Path<(String, String)>,
) -> Reply {
    let command = SettingsCommand::DeleteMapping { field };
    let settings =
        admin::change_settings(state.provisioning.store(), &instance, command, &action).await?;
    Ok(Json(views::mappings(&settings)))
}

async fn reset_mappings(
    State(state): State<AppState>,
    Extension(action): Extension<Action>,
    Path(instance): Path<String>,
) -> Reply {
    let command = SettingsCommand::ResetMappings;
    let settings =
        admin::change_settings(state.provisioning.store(), &instance, command, &action).await?;
    Ok(Json(views::mappings(&settings)))
}

async fn apply_mappings(
    State(state): State<AppState>,
    Extension(action): Extension<Action>,
    Path(instance): Path<String>,
) -> Reply {
    let store = state.provisioning.store();
    let report = admin::apply_mappings(store, &instance, &action, |so_far| {
        tracing::info!(
            users = so_far.users,
            changed = so_far.changed,
            "applying the mapping"
        );
    })
    .await?;
    Ok(Json(
        json!({"users": report.users, "changed": report.changed}),
    ))
}

async fn directory_entry(
    State(state): State<AppState>,
    Path((instance, user_name)): Path<(String, String)>,
) -> Reply {
    let entry = admin::directory_entry(state.provisioning.store(), &instance, &user_name).await?;
    Ok(Json(views::directory_entry(&entry)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryParams {
    user: Option<String>,
    id: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    since: Option<String>,
    until: Option<String>,
    /// Entries per page (at most 1000).
    count: Option<i64>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
    #[serde(default)]
    order: ReadingOrder,
}

/// Which end of a listing its first page starts at.
#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum ReadingOrder {
    #[default]
    Oldest,
    Newest,
}

/// A page of the change history, in order (`order=newest`: latest first); `nextCursor` reads
/// on in the same direction.
async fn history(
    State(state): State<AppState>,
    Path(instance): Path<String>,
    Query(params): Query<HistoryParams>,
) -> Reply {
    let after = cursor(params.cursor.as_deref(), "history", |cursor| {
        let (transaction_id, position) = cursor.split_once('.')?;
        Some((transaction_id.parse().ok()?, position.parse().ok()?))
    })?;
    let filter = admin::HistoryFilter {
        entity_id: params.id,
        name: params.user,
        actor: params.actor,
        action: params.action,
        since: params.since,
        until: params.until,
        newest_first: params.order == ReadingOrder::Newest,
    };
    let count = params.count.unwrap_or(admin::HISTORY_PAGE);
    let store = state.provisioning.store();
    let (entries, next) = admin::history(store, &instance, &filter, after, count).await?;
    let next = next.map(|(transaction_id, position)| format!("{transaction_id}.{position}"));
    page_of(&entries, views::history_entry, next)
}

/// The `cursor` parameter of a listing, read by `parse`; a 400 when it is not one.
pub(super) fn cursor<C>(
    cursor: Option<&str>,
    listing: &str,
    parse: impl Fn(&str) -> Option<C>,
) -> Result<Option<C>, AdminFailure> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    parse(cursor).map(Some).ok_or_else(|| {
        AdminFailure(
            StatusCode::BAD_REQUEST,
            format!("{cursor:?} is not a {listing} cursor"),
        )
    })
}

/// A page of a listing: its entries and the `nextCursor` to read on from.
pub(super) fn page_of<T>(entries: &[T], view: impl Fn(&T) -> Value, next: Option<String>) -> Reply {
    let entries: Vec<Value> = entries.iter().map(view).collect();
    Ok(Json(json!({"entries": entries, "nextCursor": next})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AuditParams {
    /// A head hash recorded elsewhere, and how many events the chain held then: both or none.
    expect_head: Option<String>,
    at_count: Option<i64>,
}

/// The instance's hash-chain audit, as `scimd audit verify --instance` reports it, with
/// `expectedHead` when asked to compare with a recorded head. A broken chain or a missing head
/// is a finding, not a failed request: 200 either way, `intact` and `expectedHead.matches` tell.
async fn audit(
    State(state): State<AppState>,
    Path(instance): Path<String>,
    Query(params): Query<AuditParams>,
) -> Reply {
    let store = state.provisioning.store();
    let (hash, count) = match (params.expect_head, params.at_count) {
        (None, None) => {
            let found = admin::verify_chain(store, &instance).await?;
            return Ok(Json(views::instance_chain(&found)));
        }
        (Some(hash), Some(count)) => (hash, count),
        _ => {
            return Err(AdminFailure(
                StatusCode::BAD_REQUEST,
                "expectHead and atCount go together: the head and how many events it covered"
                    .into(),
            ))
        }
    };
    let expected = admin::ExpectedHead::parse(&hash, count)?;
    let (found, head) = admin::verify_head(store, &instance, &expected).await?;
    Ok(Json(views::instance_chain_with_head(
        &found, &expected, &head,
    )))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AtParams {
    /// RFC 3339; now without it.
    at: Option<String>,
}

/// A user as GET /Users/{id} served it at `at`, derived from the event log.
async fn user_at(
    state: State<AppState>,
    base: BaseUrl,
    path: Path<(String, String)>,
    params: Query<AtParams>,
) -> Reply {
    resource_at(ResourceType::User, state, base, path, params).await
}

/// A group as GET /Groups/{id} served it at `at`, derived from the event log.
async fn group_at(
    state: State<AppState>,
    base: BaseUrl,
    path: Path<(String, String)>,
    params: Query<AtParams>,
) -> Reply {
    resource_at(ResourceType::Group, state, base, path, params).await
}

async fn resource_at(
    kind: ResourceType,
    State(state): State<AppState>,
    BaseUrl(base): BaseUrl,
    Path((instance, id)): Path<(String, String)>,
    Query(params): Query<AtParams>,
) -> Reply {
    let store = state.provisioning.store();
    let at = params.at.as_deref();
    let resource = admin::resource_at(store, &instance, kind, &id, at, &base).await?;
    Ok(Json(resource))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ProvisioningLogParams {
    /// `true`: only failed requests (Bulk requests with a failed operation included).
    #[serde(default)]
    failed: bool,
    user: Option<String>,
    external_id: Option<String>,
    correlation_id: Option<String>,
    /// A key id: the requests sent with that key.
    key: Option<String>,
    since: Option<String>,
    until: Option<String>,
    /// Entries per page (at most 1000).
    count: Option<i64>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
    #[serde(default)]
    order: ReadingOrder,
}

/// A page of the provisioning log, in order (`order=newest`: latest first); `nextCursor` reads
/// on in the same direction. Entries this process has
/// queued are written first, so that a client sees the requests it has just made.
async fn provisioning_log(
    State(state): State<AppState>,
    Path(instance): Path<String>,
    Query(params): Query<ProvisioningLogParams>,
) -> Reply {
    let after = cursor(params.cursor.as_deref(), "provisioning log", |cursor| {
        cursor.parse::<i64>().ok()
    })?;
    if let Err(error) = state.provisioning_log.flush().await {
        tracing::warn!(%error, "reading the provisioning log without the latest entries");
    }
    let filter = admin::LogFilter {
        failed_only: params.failed,
        user_name: params.user,
        external_id: params.external_id,
        correlation_id: params.correlation_id,
        key_id: params.key,
        since: params.since,
        until: params.until,
        newest_first: params.order == ReadingOrder::Newest,
    };
    let count = params.count.unwrap_or(admin::PROVISIONING_LOG_PAGE);
    let store = state.provisioning.store();
    let (entries, next) = admin::provisioning_log(store, &instance, &filter, after, count).await?;
    let next = next.map(|sequence| sequence.to_string());
    page_of(&entries, views::provisioning_log_entry, next)
}
