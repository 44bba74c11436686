//! A successful SCIM response: `application/scim+json`, with `ETag` and `Location` where the
//! resource has them (RFC 7644 §3.1, §3.14).

use crate::scim::error::SCIM_CONTENT_TYPE;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

pub struct ScimResponse {
    status: StatusCode,
    body: Option<Value>,
    etag: Option<String>,
    location: Option<String>,
}

impl ScimResponse {
    pub fn ok(body: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body: Some(body),
            etag: None,
            location: None,
        }
    }

    /// A single resource: its ETag is its `meta.version`.
    pub fn resource(status: StatusCode, body: Value) -> Self {
        let etag = body["meta"]["version"].as_str().map(str::to_string);
        let location = (status == StatusCode::CREATED)
            .then(|| body["meta"]["location"].as_str().map(str::to_string))
            .flatten();
        Self {
            status,
            body: Some(body),
            etag,
            location,
        }
    }

    pub fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: None,
            etag: None,
            location: None,
        }
    }

    /// A change that answers with no body: the resource's new version is still told.
    pub fn no_content_tagged(etag: String) -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: None,
            etag: Some(etag),
            location: None,
        }
    }

    pub fn not_modified(etag: String) -> Self {
        Self {
            status: StatusCode::NOT_MODIFIED,
            body: None,
            etag: Some(etag),
            location: None,
        }
    }
}

/// What a Bulk operation reports of the response its endpoint would have sent (RFC 7644 §3.7.3).
impl ScimResponse {
    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn body(&self) -> Option<&Value> {
        self.body.as_ref()
    }

    pub fn etag(&self) -> Option<&str> {
        self.etag.as_deref()
    }
}

impl IntoResponse for ScimResponse {
    fn into_response(self) -> Response {
        let mut response = match self.body {
            Some(body) => {
                let mut response = (self.status, body.to_string()).into_response();
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(SCIM_CONTENT_TYPE),
                );
                response
            }
            None => self.status.into_response(),
        };
        let headers = response.headers_mut();
        if let Some(value) = self.etag.and_then(|etag| HeaderValue::from_str(&etag).ok()) {
            headers.insert(header::ETAG, value);
        }
        if let Some(value) = self
            .location
            .and_then(|location| HeaderValue::from_str(&location).ok())
        {
            headers.insert(header::LOCATION, value);
        }
        response
    }
}
