//! The `WWW-Authenticate` challenges of the SCIM and admin APIs (RFC 6750 §3): the scheme and
//! realm, and for a credential that was presented but failed, the error code that tells a
//! client to stop retrying with it.

use axum::http::{header, HeaderValue};
use axum::response::Response;

pub const SCIM_REALM: &str = "scimd";
pub const ADMIN_REALM: &str = "scimd-admin";

/// Why a request was refused, as RFC 6750 §3.1 names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No bearer credential at all: §3.1 says to send no error code then.
    Missing,
    /// A bearer credential that is malformed, unknown, revoked or wrong.
    InvalidToken,
    /// A valid credential for something else (a SCIM key at the admin API); sent with 403.
    InsufficientScope,
}

fn value(realm: &'static str, refusal: Refusal) -> HeaderValue {
    let error = match refusal {
        Refusal::Missing => None,
        Refusal::InvalidToken => Some("invalid_token"),
        Refusal::InsufficientScope => Some("insufficient_scope"),
    };
    let text = match error {
        None => format!("Bearer realm=\"{realm}\""),
        Some(error) => format!("Bearer realm=\"{realm}\", error=\"{error}\""),
    };
    // Built only from the constants above, so always a valid header value.
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("Bearer"))
}

/// Sets the response's challenge, replacing any other.
pub fn challenge(mut response: Response, realm: &'static str, refusal: Refusal) -> Response {
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, value(realm, refusal));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_has_its_rfc_6750_challenge() {
        assert_eq!(
            value(SCIM_REALM, Refusal::Missing),
            "Bearer realm=\"scimd\""
        );
        assert_eq!(
            value(SCIM_REALM, Refusal::InvalidToken),
            "Bearer realm=\"scimd\", error=\"invalid_token\""
        );
        assert_eq!(
            value(ADMIN_REALM, Refusal::InsufficientScope),
            "Bearer realm=\"scimd-admin\", error=\"insufficient_scope\""
        );
    }
}
