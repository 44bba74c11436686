//! Bearer-key authentication of SCIM requests. The key alone determines the instance. The
//! response carries the key's holder (also of a refused but existing key) for the
//! provisioning log.

use super::router::AppState;
use crate::admin::{self, Authentication, KeyHolder};
use crate::scim::error::ScimError;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn require_key(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_string())
        });
    let Some(token) = token else {
        return ScimError::unauthorized("send an API key as Authorization: Bearer <key>")
            .into_response();
    };
    match admin::authenticate(state.provisioning.store(), &token).await {
        Ok(Authentication::Admitted(principal)) => {
            let span = tracing::Span::current();
            span.record("instance", principal.instance_name.as_str());
            span.record("key_id", principal.key_id.as_str());
            let holder = KeyHolder {
                instance_id: principal.instance_id.clone(),
                key_id: principal.key_id.clone(),
            };
            request.extensions_mut().insert(principal);
            let mut response = next.run(request).await;
            response.extensions_mut().insert(holder);
            response
        }
        Ok(Authentication::Refused { holder }) => {
            let mut response =
                ScimError::unauthorized("the API key is not valid or has been revoked")
                    .into_response();
            if let Some(holder) = holder {
                response.extensions_mut().insert(holder);
            }
            response
        }
        Err(error) => ScimError::unavailable(&error).into_response(),
    }
}
