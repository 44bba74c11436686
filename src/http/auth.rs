//! Bearer-key authentication of SCIM requests. The key alone determines the instance. The
//! response carries the key's holder (also of a refused but existing key) for the
//! provisioning log.

use super::challenge::{challenge, Refusal, SCIM_REALM};
use super::router::AppState;
use crate::admin::{self, Authentication};
use crate::scim::error::ScimError;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

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
    let Some(token) = bearer(request.headers()) else {
        let refused = ScimError::unauthorized("send an API key as Authorization: Bearer <key>");
        return challenge(refused.into_response(), SCIM_REALM, Refusal::Missing);
    };
    let authentication = match admin::authenticate(state.provisioning.store(), &token).await {
        Ok(authentication) => authentication,
        Err(error) => return ScimError::unavailable(&error).into_response(),
    };
    let holder = authentication.holder();
    let mut response = match authentication {
        Authentication::Admitted(principal) => {
            let span = tracing::Span::current();
            span.record("instance", principal.instance_name.as_str());
            span.record("key_id", principal.key_id.as_str());
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Authentication::Refused { .. } => {
            let refused = ScimError::unauthorized("the API key is not valid or has been revoked");
            challenge(refused.into_response(), SCIM_REALM, Refusal::InvalidToken)
        }
    };
    if let Some(holder) = holder {
        response.extensions_mut().insert(holder);
    }
    response
}

/// `/scim/v2` paths that name no endpoint: 404 whoever asks, but logged for the key's instance
/// (an IdP configured with a wrong path is a common provisioning failure).
pub async fn no_such_endpoint(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut response = ScimError::not_found("no such endpoint").into_response();
    let Some(token) = bearer(&headers) else {
        return response;
    };
    let authentication = admin::authenticate(state.provisioning.store(), &token).await;
    if let Some(holder) = authentication.ok().and_then(|found| found.holder()) {
        response.extensions_mut().insert(holder);
    }
    response
}
