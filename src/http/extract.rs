//! Extractors: the JSON body of a SCIM request, the caller's context, the base URL resources
//! are located under, and the version preconditions of a request.

use super::connections::Peer;
use super::json::parse_strict;
use super::origin::origin;
use super::router::AppState;
use crate::admin::{Principal, SettingsSequence};
use crate::correlation;
use crate::provisioning::RequestContext;
use crate::scim::error::ScimError;
use crate::scim::query::parse_query;
use crate::scim::render::{opaque_tag, version_of_etag};
use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use serde_json::Value;
use std::collections::HashMap;

/// A request body that is JSON of a SCIM media type. Okta sends `application/json`, which
/// RFC 7644 §3.1 allows clients to use; anything else is refused, and so is a member named
/// twice in one object.
pub struct ScimBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for ScimBody {
    type Rejection = ScimError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(content_type) = request.headers().get(header::CONTENT_TYPE) {
            let media_type = content_type
                .to_str()
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            if media_type != "application/scim+json" && media_type != "application/json" {
                return Err(ScimError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    None,
                    format!("send application/scim+json, not {media_type}"),
                ));
            }
        }
        // `bounds` has already read the body within its size limit and timeout.
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                ScimError::invalid_syntax(format!(
                    "the request body could not be read: {rejection}"
                ))
            })?;
        let value = parse_strict(&bytes).map_err(|error| {
            ScimError::invalid_syntax(format!("the request body is not valid JSON: {error}"))
        })?;
        Ok(Self(value))
    }
}

/// The query parameters, each name and value UTF-8 once decoded; anything else is refused as
/// a SCIM error (`scim::query`).
pub struct Params(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or_default()).map(Self)
    }
}

/// The id in a resource's URL. An id that is not UTF-8 once percent-decoded names no
/// resource scimd could have made: 404, as a SCIM error rather than axum's plain text.
pub struct ResourceId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ResourceId {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| Self(id))
            .map_err(|_| ScimError::not_found("resource not found"))
    }
}

/// The authenticated caller and this request's correlation id and user agent.
pub struct Context(pub RequestContext);

impl<S: Send + Sync> FromRequestParts<S> for Context {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let principal = parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ScimError::unauthorized("authentication required"))?;
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        Ok(Self(RequestContext {
            principal,
            correlation_id: correlation::current().unwrap_or_default(),
            user_agent,
            request: format!("{} {}", parts.method, parts.uri.path()),
            settings_sequence: parts.extensions.get::<SettingsSequence>().cloned(),
        }))
    }
}

/// Where this server's SCIM endpoints are: as configured, or as the client reached them when
/// its headers say so validly (`origin`).
pub struct BaseUrl(pub String);

impl<S> FromRequestParts<S> for BaseUrl
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        if let Some(public_url) = &state.public_url {
            return Ok(Self(format!(
                "{}/scim/v2",
                public_url.trim_end_matches('/')
            )));
        }
        let peer = parts.extensions.get::<Peer>().copied();
        Ok(Self(format!(
            "{}/scim/v2",
            origin(&parts.headers, &parts.uri, peer)
        )))
    }
}

/// The version `If-Match` pins, if any (`*` pins none). A tag that is not one of ours can never
/// match, which is a 412 right away.
pub fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ScimError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    if text == "*" {
        return Ok(None);
    }
    version_of_etag(text).map(Some).ok_or_else(|| {
        ScimError::new(
            StatusCode::PRECONDITION_FAILED,
            None,
            "If-Match does not name a version of this resource",
        )
    })
}

/// Whether `If-None-Match` names `etag` (or `*`): the client's copy is current.
pub fn none_match_hits(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|text| {
            text.split(',').any(|tag| {
                let tag = tag.trim();
                tag == "*" || opaque_tag(tag).is_some_and(|tag| Some(tag) == opaque_tag(etag))
            })
        })
}
