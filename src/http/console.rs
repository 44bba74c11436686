//! The admin web console under `/admin`: static pages embedded in the binary (no CDN, nothing
//! fetched from elsewhere) that sign in with the admin token and call the admin API under
//! `/admin/v1` for everything they show or change. It holds no logic of its own on the server:
//! whatever the console can do, the admin API can do.
//!
//! Without an admin token the admin API does not exist, and the console says so in plain HTML
//! instead of showing a sign-in that cannot succeed.

use super::router::AppState;
use axum::extract::{Path, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use projections::hex::to_hex;
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "console/"]
struct Assets;

/// Scripts, styles and requests only from scimd itself; no inline script, no framing (the
/// console holds a token worth stealing by clickjacking or injected markup).
const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'";

const DISABLED_PAGE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
    <title>scimd admin console: off</title></head><body><main><h1>The admin console is off</h1>\
    <p>It signs in with the admin token, and this server was started without one. Start scimd \
    with <code>SCIMD_ADMIN_TOKEN</code> (or <code>--admin-token</code>) set to a secret of at \
    least 32 characters, then reload this page.</p></main></body></html>";

pub fn routes() -> Router<AppState> {
    Router::new()
        // Relative asset URLs need the trailing slash, whatever prefix a proxy adds.
        .route("/admin", get(|| async { Redirect::permanent("admin/") }))
        .route("/admin/", get(index))
        .route("/admin/assets/{*path}", get(asset))
}

async fn index(State(state): State<AppState>, headers: HeaderMap) -> Response {
    serve(&state, &headers, "index.html")
}

async fn asset(
    State(state): State<AppState>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve(&state, &headers, &format!("assets/{path}"))
}

fn serve(state: &AppState, request: &HeaderMap, path: &str) -> Response {
    if state.admin_token.is_none() {
        let html = [(CONTENT_TYPE, "text/html; charset=utf-8")];
        return secured((StatusCode::NOT_FOUND, html, DISABLED_PAGE).into_response());
    }
    let Some(file) = Assets::get(path) else {
        let missing = (StatusCode::NOT_FOUND, "no such console file");
        return secured(missing.into_response());
    };
    let etag = entity_tag(&file.metadata.sha256_hash());
    let unchanged = request
        .get(IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag));
    // Revalidated on every load, so that an upgraded scimd never runs yesterday's script.
    let cached = [
        (CACHE_CONTROL, "no-cache".to_string()),
        (ETAG, etag.clone()),
    ];
    if unchanged {
        return secured((StatusCode::NOT_MODIFIED, cached).into_response());
    }
    let content_type = [(CONTENT_TYPE, content_type_of(path))];
    secured((cached, content_type, file.data).into_response())
}

fn entity_tag(hash: &[u8; 32]) -> String {
    format!("\"{}\"", to_hex(&hash[..16]))
}

fn content_type_of(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, extension)| extension) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

fn secured(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let fixed = [
        (
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
        ),
        (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
    ];
    for (name, value) in fixed {
        headers.insert(name, value);
    }
    response
}
