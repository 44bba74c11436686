//! Who is calling the admin API, and the console's sign-in.
//!
//! Two ways in, both ending in an `Action` (who, from where, one correlation id) that the
//! handlers record every change under:
//! - `Authorization: Bearer` with a named administrator's credential or the bootstrap token:
//!   scripts and other clients, recorded with source `admin-api`.
//! - The console's session cookie, set by `POST /admin/v1/session`: recorded with source
//!   `console`. Only the console signs in this way, so the cookie is what tells a console
//!   change from a script's. The cookie is HttpOnly (no page script can read it), SameSite=
//!   Strict, Secure when served over HTTPS, and holds a random token the store keeps only as a
//!   digest (see `admin::sessions`).
//!
//! Cross-site request forgery: a browser sends a SameSite=Strict cookie only with requests
//! started from scimd's own pages, and every state-changing request that rides on the cookie
//! (and the sign-in and sign-out themselves) must also carry the `X-Scimd-Console` header,
//! which no other site's page can add to a request to scimd without a CORS preflight that scimd
//! never grants. A request without the header is refused with 403 before anything changes.

use super::admin::AdminFailure;
use super::auth::bearer;
use super::challenge::{challenge, Refusal, ADMIN_REALM};
use super::connections::Peer;
use super::failed_auth::{client_of, too_many};
use super::origin::origin;
use super::router::AppState;
use crate::admin::sessions::{self, SESSION_LIFETIME};
use crate::admin::{self, Action, Administrator, Authentication, Source};
use crate::metrics::Credential;
use axum::extract::{Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

pub const SESSION_COOKIE: &str = "scimd_admin_session";
/// The header the console sends with every request (see the module's note on forgery).
pub const CONSOLE_HEADER: &str = "x-scimd-console";
/// A sign-in's body is read before any credential is accepted (it is the credential): a
/// credential and its JSON fit in far less.
const SIGN_IN_BODY_BYTES: usize = 4 * 1024;

/// `/session`: sign in (POST), who is signed in (GET), sign out (DELETE).
pub fn session_routes() -> Router<AppState> {
    Router::new().route("/session", get(signed_in).post(sign_in).delete(sign_out))
}

fn failure(status: StatusCode, detail: &str) -> Response {
    AdminFailure::new(status, detail.to_string()).into_response()
}

/// Middleware of every admin API route but `/session`: admits a bearer credential or a console
/// session, and hands the handlers the `Action` they record changes under.
pub async fn require_admin(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(bootstrap) = state.admin_token.clone() else {
        return failure(StatusCode::NOT_FOUND, "the admin API is not enabled");
    };
    let client = client_of(request.extensions());
    let limited = |wait| {
        too_many(wait, |seconds| {
            let detail = format!(
                "too many failed authentications from this address; the admin token is \
                 accepted now, anything else in {seconds} s"
            );
            failure(StatusCode::TOO_MANY_REQUESTS, &detail)
        })
    };
    let fail = || state.failed_auth.fail(client, Credential::AdminToken);
    let store = state.provisioning.store();
    let administrator = if let Some(presented) = bearer(request.headers()) {
        match admin::authenticate_admin(store, &bootstrap, &presented).await {
            Ok(Some(administrator)) => (administrator, Source::AdminApi),
            Ok(None) => return refuse_bearer(&state, &presented, fail, limited).await,
            Err(error) => return unavailable(&error),
        }
    } else if let Some(token) = session_cookie(request.headers()) {
        match sessions::session(store, &token, &bootstrap).await {
            Ok(Some(administrator)) => (administrator, Source::Console),
            Ok(None) => {
                if let Err(wait) = fail() {
                    return limited(wait);
                }
                let detail = "the console's sign-in has expired or ended; sign in again";
                let refused = failure(StatusCode::UNAUTHORIZED, detail);
                return challenge(refused, ADMIN_REALM, Refusal::InvalidToken);
            }
            Err(error) => return unavailable(&error),
        }
    } else {
        if let Err(wait) = fail() {
            return limited(wait);
        }
        let refused = failure(
            StatusCode::UNAUTHORIZED,
            "send an admin token (your administrator's, or the bootstrap token) as \
             Authorization: Bearer <token>",
        );
        return challenge(refused, ADMIN_REALM, Refusal::Missing);
    };
    let (administrator, source) = administrator;
    let safe = matches!(*request.method(), Method::GET | Method::HEAD);
    if source == Source::Console && !safe && !request.headers().contains_key(CONSOLE_HEADER) {
        return forged();
    }
    request
        .extensions_mut()
        .insert(Action::new(administrator.actor(), source));
    next.run(request).await
}

/// A bearer token that is no admin credential: a SCIM key gets 403, anything else 401.
async fn refuse_bearer(
    state: &AppState,
    presented: &str,
    fail: impl Fn() -> Result<(), std::time::Duration>,
    limited: impl Fn(std::time::Duration) -> Response,
) -> Response {
    let authentication = admin::authenticate(state.provisioning.store(), presented).await;
    let (status, detail, refusal) = match authentication {
        Ok(Authentication::Admitted(principal)) => {
            tracing::warn!(key_id = %principal.key_id, "a SCIM API key was presented to the admin API");
            (
                StatusCode::FORBIDDEN,
                "a SCIM API key cannot use the admin API; send an admin token",
                Refusal::InsufficientScope,
            )
        }
        Ok(Authentication::Refused { .. }) => (
            StatusCode::UNAUTHORIZED,
            "the admin token is not valid (or was revoked); send it as Authorization: Bearer \
             <token>",
            Refusal::InvalidToken,
        ),
        Err(error) => {
            tracing::warn!(%error, "cannot tell whether a token is a SCIM key");
            return failure(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily unavailable; retry the request",
            );
        }
    };
    if let Err(wait) = fail() {
        return limited(wait);
    }
    challenge(failure(status, detail), ADMIN_REALM, refusal)
}

fn unavailable(error: &dyn std::fmt::Display) -> Response {
    tracing::warn!(%error, "cannot check an admin credential");
    failure(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily unavailable; retry the request",
    )
}

fn forged() -> Response {
    failure(
        StatusCode::FORBIDDEN,
        "a console request must carry the X-Scimd-Console header",
    )
}

/// The session token of the console's cookie, if the request carries one.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|cookie| cookie.trim().split_once('='))
        .find(|(name, value)| *name == SESSION_COOKIE && !value.is_empty())
        .map(|(_, value)| value.to_string())
}

/// `Set-Cookie` for `value` lasting `max_age` seconds. No `Path`: it defaults to the admin
/// API's own directory, whatever prefix a proxy adds, so the cookie goes nowhere else.
fn cookie(value: &str, max_age: u64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    let text =
        format!("{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&text).ok()
}

/// Whether the browser reached scimd over HTTPS (as the public URL, scimd's own TLS, or a proxy
/// says).
fn over_https(state: &AppState, request: &Request) -> bool {
    if let Some(public_url) = &state.public_url {
        return public_url.starts_with("https://");
    }
    let peer = request.extensions().get::<Peer>().copied();
    origin(request.headers(), request.uri(), peer).starts_with("https://")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    token: String,
}

async fn sign_in(State(state): State<AppState>, request: Request) -> Response {
    let Some(bootstrap) = state.admin_token.clone() else {
        return failure(StatusCode::NOT_FOUND, "the admin API is not enabled");
    };
    if !request.headers().contains_key(CONSOLE_HEADER) {
        return forged();
    }
    let secure = over_https(&state, &request);
    let client = client_of(request.extensions());
    let body = axum::body::to_bytes(request.into_body(), SIGN_IN_BODY_BYTES).await;
    let Some(SignIn { token }) = body
        .ok()
        .and_then(|body| serde_json::from_slice::<SignIn>(&body).ok())
    else {
        return failure(
            StatusCode::BAD_REQUEST,
            "send {\"token\": \"<admin credential>\"}",
        );
    };
    let store = state.provisioning.store();
    let administrator = match admin::authenticate_admin(store, &bootstrap, &token).await {
        Ok(Some(administrator)) => administrator,
        Ok(None) => {
            if let Err(wait) = state.failed_auth.fail(client, Credential::AdminToken) {
                return too_many(wait, |seconds| {
                    let detail = format!("too many failed sign-ins; try again in {seconds} s");
                    failure(StatusCode::TOO_MANY_REQUESTS, &detail)
                });
            }
            return failure(
                StatusCode::UNAUTHORIZED,
                "that is neither an administrator's credential nor the bootstrap admin token",
            );
        }
        Err(error) => return unavailable(&error),
    };
    let session = match sessions::start_session(store, &administrator, &bootstrap).await {
        Ok(session) => session,
        Err(error) => return AdminFailure::from(error).into_response(),
    };
    let Some(set_cookie) = cookie(&session, SESSION_LIFETIME.as_secs(), secure) else {
        return failure(StatusCode::INTERNAL_SERVER_ERROR, "cannot set the session");
    };
    let mut response = Json(who(&administrator)).into_response();
    response.headers_mut().insert(SET_COOKIE, set_cookie);
    response
}

/// Who the session cookie signs in; `{"signedIn": false}` (not a 401) when nobody, since the
/// console asks this on every load and a signed-out browser is no failure.
async fn signed_in(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(bootstrap) = state.admin_token.clone() else {
        return failure(StatusCode::NOT_FOUND, "the admin API is not enabled");
    };
    let nobody = || Json(json!({"signedIn": false})).into_response();
    let Some(token) = session_cookie(&headers) else {
        return nobody();
    };
    match sessions::session(state.provisioning.store(), &token, &bootstrap).await {
        Ok(Some(administrator)) => Json(who(&administrator)).into_response(),
        Ok(None) => nobody(),
        Err(error) => unavailable(&error),
    }
}

async fn sign_out(State(state): State<AppState>, request: Request) -> Response {
    if state.admin_token.is_none() {
        return failure(StatusCode::NOT_FOUND, "the admin API is not enabled");
    }
    if !request.headers().contains_key(CONSOLE_HEADER) {
        return forged();
    }
    let secure = over_https(&state, &request);
    if let Some(token) = session_cookie(request.headers()) {
        if let Err(error) = sessions::end_session(state.provisioning.store(), &token).await {
            return AdminFailure::from(error).into_response();
        }
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some(expired) = cookie("", 0, secure) {
        response.headers_mut().insert(SET_COOKIE, expired);
    }
    response
}

fn who(administrator: &Administrator) -> serde_json::Value {
    json!({
        "signedIn": true,
        "name": administrator.actor(),
        "bootstrap": *administrator == Administrator::Bootstrap,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_is_read_from_any_cookie_header() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; theme=dark"));
        headers.append(
            COOKIE,
            HeaderValue::from_static("x=2; scimd_admin_session=abc"),
        );
        assert_eq!(session_cookie(&headers).as_deref(), Some("abc"));
        let mut empty = HeaderMap::new();
        empty.append(COOKIE, HeaderValue::from_static("scimd_admin_session="));
        assert_eq!(session_cookie(&empty), None);
    }

    #[test]
    fn the_cookie_is_out_of_scripts_reach_and_stays_on_its_site() {
        let plain = cookie("t", 60, false).map(|v| v.to_str().unwrap_or_default().to_string());
        let plain = plain.unwrap_or_default();
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict"));
        assert!(!plain.contains("Secure") && !plain.contains("Path"));
        let secure = cookie("t", 60, true).map(|v| v.to_str().unwrap_or_default().to_string());
        assert!(secure.is_some_and(|text| text.ends_with("; Secure")));
    }
}
