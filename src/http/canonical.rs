//! Routes a SCIM request by the canonical spelling of its endpoint (`scim::endpoints`), so
//! that `/users/` reaches `/Users` without a second set of routes.
//!
//! It must run before routing, so it wraps the SCIM router as a service rather than being one
//! of its layers (those run once a route matched). The client's own spelling stays in
//! `OriginalUri`, which the outer router sets first: the provisioning log and the request's
//! span show the path as it was sent.

use crate::scim::endpoints::canonical_path;
use axum::extract::Request;
use axum::http::uri::{PathAndQuery, Uri};

/// `request` with its path in canonical form.
pub fn canonical_request(mut request: Request) -> Request {
    let uri = request.uri();
    let path = canonical_path(uri.path());
    if path == uri.path() {
        return request;
    }
    let target = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.into_owned(),
    };
    // A path made of a valid one's characters is valid; if not, routing decides as before.
    let mut parts = uri.clone().into_parts();
    let Ok(target) = PathAndQuery::try_from(target) else {
        return request;
    };
    parts.path_and_query = Some(target);
    if let Ok(uri) = Uri::from_parts(parts) {
        *request.uri_mut() = uri;
    }
    request
}
