//! Bearer-key authentication of SCIM requests. The key alone determines the instance. The
//! response carries the key's holder (also of a refused but existing key) for the
//! provisioning log, unless the client address has failed too often (`failed_auth`): then the
//! refusal is a 429 that is not logged. A read-only request with a key this process holds
//! is let in at once and confirmed by its own reads (`key_confirmation`); any other request's
//! key check also reads the last sequence of its instance's settings, in the same statement.

use super::challenge::{challenge, Refusal, SCIM_REALM};
use super::failed_auth::{client_of, scim_too_many};
use super::router::AppState;
use crate::admin::{self, Authentication, KeyHolder, Principal};
use crate::metrics::Credential;
use crate::scim::error::ScimError;
use crate::store::key_confirmation;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::IpAddr;

/// The bearer token of a request, if it has one.
pub(super) fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

pub async fn require_key(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let client = client_of(request.extensions());
    let Some(token) = bearer(request.headers()) else {
        if let Err(wait) = state.failed_auth.fail(client, Credential::ScimKey) {
            return scim_too_many(wait);
        }
        let refused = ScimError::unauthorized("send an API key as Authorization: Bearer <key>");
        return challenge(refused.into_response(), SCIM_REALM, Refusal::Missing);
    };
    let store = state.provisioning.store();
    let reads_only = matches!(*request.method(), Method::GET | Method::HEAD);
    if let Some((principal, generation)) = reads_only
        .then(|| admin::admit_held(store, &token))
        .flatten()
    {
        let holder = holder_of(&principal);
        admit(&mut request, principal);
        let (response, seen) = key_confirmation::observing(next.run(request)).await;
        if seen != Some(generation) {
            // Not confirmed by the request's own reads: checked as any request's key is.
            let authentication = match admin::authenticate(store, &token).await {
                Ok(authentication) => authentication,
                Err(error) => return ScimError::unavailable(&error).into_response(),
            };
            if let Authentication::Refused { holder } = authentication {
                return refuse(&state, client, holder);
            }
        }
        return with_holder(response, Some(holder));
    }
    let authenticated = admin::authenticate_with_settings(store, &token).await;
    let (authentication, settings) = match authenticated {
        Ok(authenticated) => authenticated,
        Err(error) => return ScimError::unavailable(&error).into_response(),
    };
    match authentication {
        Authentication::Admitted(principal) => {
            let holder = holder_of(&principal);
            admit(&mut request, principal);
            if let Some(settings) = settings {
                request.extensions_mut().insert(settings);
            }
            with_holder(next.run(request).await, Some(holder))
        }
        Authentication::Refused { holder } => refuse(&state, client, holder),
    }
}

fn holder_of(principal: &Principal) -> KeyHolder {
    KeyHolder {
        instance_id: principal.instance_id.clone(),
        key_id: principal.key_id.clone(),
    }
}

fn admit(request: &mut Request, principal: Principal) {
    let span = tracing::Span::current();
    span.record("instance", principal.instance_name.as_str());
    span.record("key_id", principal.key_id.as_str());
    request.extensions_mut().insert(principal);
}

/// The answer to a refused key, logged for `holder`'s instance; unless its client has failed
/// too often: then a 429 that is not logged.
fn refuse(state: &AppState, client: Option<IpAddr>, holder: Option<KeyHolder>) -> Response {
    if let Err(wait) = state.failed_auth.fail(client, Credential::ScimKey) {
        return scim_too_many(wait);
    }
    let refused = ScimError::unauthorized("the API key is not valid or has been revoked");
    let response = challenge(refused.into_response(), SCIM_REALM, Refusal::InvalidToken);
    with_holder(response, holder)
}

/// `response`, logged for `holder`'s instance when the token names a key.
fn with_holder(mut response: Response, holder: Option<KeyHolder>) -> Response {
    if let Some(holder) = holder {
        response.extensions_mut().insert(holder);
    }
    response
}

/// `/scim/v2` paths that name no endpoint: 404 whoever asks, but logged for the key's instance
/// (an IdP configured with a wrong path is a common provisioning failure). A refused key counts
/// as a failed authentication, since it too is logged.
pub async fn no_such_endpoint(State(state): State<AppState>, request: Request) -> Response {
    let mut response = ScimError::not_found("no such endpoint").into_response();
    let Some(token) = bearer(request.headers()) else {
        return response;
    };
    let authentication = admin::authenticate(state.provisioning.store(), &token).await;
    let Ok(authentication) = authentication else {
        return response;
    };
    if matches!(authentication, Authentication::Refused { .. }) {
        let client = client_of(request.extensions());
        if let Err(wait) = state.failed_auth.fail(client, Credential::ScimKey) {
            return scim_too_many(wait);
        }
    }
    if let Some(holder) = authentication.holder() {
        response.extensions_mut().insert(holder);
    }
    response
}
