//! The one error a SCIM client ever sees (RFC 7644 §3.12), and every conversion into it.
//!
//! Each layer has its own error enum; this file alone decides which status and `scimType` each
//! of their variants means. Server-side failures say little to the client and everything to
//! the log; every error names the request's correlation id so that support can find it.

use crate::correlation;
use crate::provisioning::ProvisioningError;
use crate::scim::filter::FilterError;
use crate::scim::patch::PathError;
use aggregates::values::ValueError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// RFC 7644 §3.12, Table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    /// RFC 9865: a `cursor` this server did not issue for this query.
    InvalidCursor,
    Sensitive,
}

impl ScimType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidFilter => "invalidFilter",
            Self::TooMany => "tooMany",
            Self::Uniqueness => "uniqueness",
            Self::Mutability => "mutability",
            Self::InvalidSyntax => "invalidSyntax",
            Self::InvalidPath => "invalidPath",
            Self::NoTarget => "noTarget",
            Self::InvalidValue => "invalidValue",
            Self::InvalidVers => "invalidVers",
            Self::InvalidCursor => "invalidCursor",
            Self::Sensitive => "sensitive",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<ScimType>,
    pub detail: String,
}

impl ScimError {
    pub fn new(status: StatusCode, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidValue, detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidSyntax, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, None, detail)
    }

    /// A failure of scimd itself: the cause goes to the log, never to the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "internal error; the cause is in the server log",
        )
    }

    /// A failure that will likely pass: the store or the read model is momentarily behind.
    pub fn unavailable(cause: &dyn std::fmt::Display) -> Self {
        tracing::warn!(%cause, "request could not be served now");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            "temporarily unavailable; retry the request",
        )
    }
}

impl ScimError {
    /// The error document (RFC 7644 §3.12), as a response body or a Bulk operation's `response`.
    pub fn document(&self) -> Value {
        let detail = match correlation::current() {
            Some(id) => format!("{} (correlation id {id})", self.detail),
            None => self.detail.clone(),
        };
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = json!(scim_type.as_str());
        }
        body
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let body = self.document();
        let mut response = (self.status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(SCIM_CONTENT_TYPE),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scimd\""),
            );
        }
        response
    }
}

impl From<FilterError> for ScimError {
    fn from(error: FilterError) -> Self {
        Self::bad_request(ScimType::InvalidFilter, error.to_string())
    }
}

impl From<PathError> for ScimError {
    fn from(error: PathError) -> Self {
        Self::bad_request(ScimType::InvalidPath, error.to_string())
    }
}

impl From<ValueError> for ScimError {
    fn from(error: ValueError) -> Self {
        Self::invalid_value(error.to_string())
    }
}

impl From<ProvisioningError> for ScimError {
    fn from(error: ProvisioningError) -> Self {
        match error {
            ProvisioningError::NotFound => Self::not_found("resource not found"),
            // Never say which instance holds the name: it may be another tenant's.
            ProvisioningError::UserNameTaken => Self::new(
                StatusCode::CONFLICT,
                Some(ScimType::Uniqueness),
                "userName is already in use",
            ),
            ProvisioningError::GroupNameTaken => Self::new(
                StatusCode::CONFLICT,
                Some(ScimType::Uniqueness),
                "a group with this displayName already exists",
            ),
            ProvisioningError::PreconditionFailed => Self::new(
                StatusCode::PRECONDITION_FAILED,
                None,
                "the resource has changed since the version given in If-Match",
            ),
            ProvisioningError::UnknownMembers(ids) => Self::invalid_value(format!(
                "members must be users or groups of this instance; unknown: {}",
                ids.join(", ")
            )),
            ProvisioningError::SelfMembership => {
                Self::invalid_value("a group cannot be a member of itself")
            }
            ProvisioningError::RolesNotAllowed { refused, allowed } => {
                let (plural, verb) = if refused.len() == 1 {
                    ("", "is")
                } else {
                    ("s", "are")
                };
                Self::invalid_value(format!(
                    "role{plural} {} {verb} not allowed in this application; allowed roles: {}",
                    refused.join(", "),
                    allowed.join(", ")
                ))
            }
            ProvisioningError::ConcurrentModification => Self::new(
                StatusCode::CONFLICT,
                None,
                "the resource is being modified concurrently; retry the request",
            ),
            ProvisioningError::Lagging(cause) => Self::unavailable(&cause),
            ProvisioningError::Store(cause) => Self::internal(&cause),
        }
    }
}
