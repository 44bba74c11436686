//! What a log entry says about one request: whom it concerned (userNames, externalIds and ids
//! from its path, body, filter or Location), whether it failed and why (the SCIM error, or for
//! Bulk the failed operations), and for a failure its body without credentials. Pure: the
//! capture middleware hands it what it saw.

mod outcome;
mod subjects;

use super::redact::{redact, redact_query, scrub};
use crate::admin::KeyHolder;
use crate::store::provisioning_log::{LogEntry, SubjectKind};
use outcome::{bulk_failures, error_of};
use serde_json::Value;
use subjects::Subjects;

/// Largest request body kept in an entry; a larger one is described, not stored.
pub const STORED_BODY_LIMIT: usize = 64 * 1024;

/// The request body as the capture saw it.
#[derive(Debug, Clone, Copy)]
pub enum RequestBody<'a> {
    Read(&'a [u8]),
    /// Not read whole: longer than the capture reads (the endpoint refuses it with 413), or
    /// the client stopped sending.
    Unread {
        read: usize,
    },
}

/// One request and its response, as far as the log needs them.
#[derive(Debug, Clone)]
pub struct Exchange<'a> {
    pub caller: &'a KeyHolder,
    pub at: String,
    pub method: &'a str,
    /// The path and query the client sent.
    pub target: &'a str,
    /// The path below `/scim/v2`, e.g. `/Users/2819c223`.
    pub route: &'a str,
    /// The `filter` query parameter, decoded.
    pub filter: Option<&'a str>,
    pub status: u16,
    pub latency_us: i64,
    pub correlation_id: &'a str,
    pub user_agent: Option<&'a str>,
    pub location: Option<&'a str>,
    pub request_body: RequestBody<'a>,
    /// Read for failures and for Bulk, whose failures hide in a 200.
    pub response_body: Option<&'a [u8]>,
}

/// Whether the capture must read the response body to describe the request.
pub fn needs_response_body(route: &str, status: u16) -> bool {
    status >= 400 || route.trim_end_matches('/').eq_ignore_ascii_case("/Bulk")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    User,
    Group,
    Bulk,
}

impl Kind {
    /// The endpoint of a canonical path (`scim::endpoints`): the route a request took, or a Bulk
    /// operation's path once respelled.
    fn of(endpoint: &str) -> Option<Self> {
        match endpoint {
            "Users" => Some(Self::User),
            "Groups" => Some(Self::Group),
            "Bulk" => Some(Self::Bulk),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
            Self::Bulk => "Bulk",
        }
    }
}

/// The endpoint of a path (`Users`, `Groups`, `Bulk`) and the id it addresses, if any.
fn endpoint(path: &str) -> (Option<Kind>, Option<&str>) {
    let mut segments = path.trim_matches('/').split('/');
    let kind = segments.next().and_then(Kind::of);
    let id = segments
        .next()
        .filter(|id| !id.is_empty() && *id != ".search");
    (kind, id.filter(|_| kind.is_some()))
}

pub fn describe(exchange: &Exchange<'_>) -> LogEntry {
    let (kind, id) = endpoint(exchange.route);
    let request: Option<Value> = match exchange.request_body {
        RequestBody::Read(bytes) if !bytes.is_empty() => serde_json::from_slice(bytes).ok(),
        _ => None,
    };
    let response: Option<Value> = exchange
        .response_body
        .and_then(|bytes| serde_json::from_slice(bytes).ok());

    let mut subjects = Subjects::default();
    if let Some(id) = id {
        subjects.push(SubjectKind::ResourceId, id);
    }
    if exchange.status == 201 {
        if let Some(created) = exchange.location.and_then(last_segment) {
            subjects.push(SubjectKind::ResourceId, created);
        }
    }
    if let Some(filter) = exchange.filter {
        subjects.add_filter(filter);
    }
    if let Some(body) = &request {
        match kind {
            Some(Kind::Bulk) => subjects.add_bulk(body, response.as_ref()),
            Some(kind) => subjects.add_resource(kind, exchange.method, body),
            None => {}
        }
        if let Some(filter) = body.get("filter").and_then(Value::as_str) {
            subjects.add_filter(filter);
        }
    }

    let outcome = if exchange.status >= 400 {
        Some(error_of(
            response.as_ref(),
            exchange.response_body,
            exchange.correlation_id,
        ))
    } else if kind == Some(Kind::Bulk) {
        bulk_failures(request.as_ref(), response.as_ref(), exchange.correlation_id)
    } else {
        None
    };
    let failed = outcome.is_some();
    let (scim_type, detail) = outcome.unwrap_or_default();
    // Only a failure keeps its body; its detail must not quote a credential either.
    let (request, removed) = match request.filter(|_| failed) {
        Some(mut request) => {
            let removed = redact(&mut request);
            (Some(request), removed)
        }
        None => (None, Vec::new()),
    };
    let detail = detail.map(|detail| scrub(&detail, &removed));
    let first = |wanted: SubjectKind| {
        subjects
            .0
            .iter()
            .find(|(kind, _)| *kind == wanted)
            .map(|(_, value)| value.clone())
    };
    LogEntry {
        sequence: 0,
        instance_id: exchange.caller.instance_id.clone(),
        at: exchange.at.clone(),
        method: exchange.method.to_string(),
        path: redact_query(exchange.target),
        status: i64::from(exchange.status),
        latency_us: exchange.latency_us,
        correlation_id: exchange.correlation_id.to_string(),
        key_id: Some(exchange.caller.key_id.clone()),
        user_agent: exchange.user_agent.map(str::to_string),
        resource_type: kind.map(|kind| kind.name().to_string()),
        resource_id: first(SubjectKind::ResourceId),
        user_name: first(SubjectKind::UserName),
        external_id: first(SubjectKind::ExternalId),
        failed,
        scim_type,
        detail,
        body: failed
            .then(|| stored_body(exchange.request_body, request))
            .flatten(),
        subjects: subjects.0,
    }
}

fn last_segment(location: &str) -> Option<&str> {
    location
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|segment| !segment.is_empty())
}

/// A member of a JSON object, its name in any case (SCIM attribute names are
/// case-insensitive, RFC 7643 §2.1).
fn field<'v>(object: &'v Value, name: &str) -> Option<&'v Value> {
    object.get(name).or_else(|| {
        object.as_object().and_then(|members| {
            members
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value)
        })
    })
}

/// The body a failure is stored with: its redacted JSON text, or a JSON string saying why not.
fn stored_body(body: RequestBody<'_>, redacted: Option<Value>) -> Option<String> {
    let note = |text: String| Value::String(text).to_string();
    match (body, redacted) {
        (RequestBody::Read([]), _) => None,
        (RequestBody::Unread { read }, _) => Some(note(format!(
            "body withheld: not read whole (stopped after {read} bytes)"
        ))),
        (RequestBody::Read(bytes), _) if bytes.len() > STORED_BODY_LIMIT => Some(note(format!(
            "body withheld: {} bytes, more than the {STORED_BODY_LIMIT} kept",
            bytes.len()
        ))),
        (RequestBody::Read(bytes), None) => Some(note(format!(
            "body withheld: not valid JSON ({} bytes)",
            bytes.len()
        ))),
        (RequestBody::Read(_), Some(redacted)) => Some(redacted.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn holder() -> KeyHolder {
        KeyHolder {
            instance_id: "i1".into(),
            key_id: "k1".into(),
        }
    }

    fn exchange<'a>(
        caller: &'a KeyHolder,
        method: &'a str,
        route: &'a str,
        status: u16,
        body: &'a [u8],
        response: Option<&'a [u8]>,
    ) -> Exchange<'a> {
        Exchange {
            caller,
            at: "2026-01-31T12:00:00.000000Z".into(),
            method,
            target: route,
            route,
            filter: None,
            status,
            latency_us: 1500,
            correlation_id: "c1",
            user_agent: Some("Okta SCIM Client 1.0.0"),
            location: None,
            request_body: RequestBody::Read(body),
            response_body: response,
        }
    }

    #[test]
    fn a_uniqueness_conflict_keeps_its_reason_and_a_redacted_body() {
        let caller = holder();
        let body = br#"{"userName":"Ann","externalId":"00u1","password":"hunter2"}"#;
        let error = br#"{"status":"409","scimType":"uniqueness","detail":"userName is already in use (correlation id c1)"}"#;
        let entry = describe(&exchange(&caller, "POST", "/Users", 409, body, Some(error)));
        assert!(entry.failed);
        assert_eq!(entry.scim_type.as_deref(), Some("uniqueness"));
        assert_eq!(entry.detail.as_deref(), Some("userName is already in use"));
        assert_eq!(entry.user_name.as_deref(), Some("Ann"));
        assert_eq!(entry.external_id.as_deref(), Some("00u1"));
        assert_eq!(entry.resource_type.as_deref(), Some("User"));
        let stored = entry.body.unwrap_or_default();
        assert!(!stored.contains("hunter2"), "{stored}");
        assert!(stored.contains("[redacted]"), "{stored}");
    }

    #[test]
    fn a_detail_quoting_a_credential_is_scrubbed() {
        let caller = holder();
        let body = br#"{"userName":"ann","password":12345678}"#;
        let error = br#"{"status":"400","scimType":"invalidValue","detail":"password 12345678 is not a string"}"#;
        let entry = describe(&exchange(&caller, "POST", "/Users", 400, body, Some(error)));
        assert_eq!(
            entry.detail.as_deref(),
            Some("password [redacted] is not a string")
        );
    }

    #[test]
    fn a_success_stores_no_body_and_takes_the_new_id_from_location() {
        let caller = holder();
        let mut created = exchange(
            &caller,
            "POST",
            "/Users",
            201,
            br#"{"userName":"ann"}"#,
            None,
        );
        created.location = Some("http://h/scim/v2/Users/u-1");
        let entry = describe(&created);
        assert!(!entry.failed);
        assert_eq!(entry.body, None);
        assert_eq!(entry.resource_id.as_deref(), Some("u-1"));
        assert_eq!(entry.user_name.as_deref(), Some("ann"));
    }

    #[test]
    fn a_lookup_by_filter_and_a_patch_by_id_name_their_subjects() {
        let caller = holder();
        let mut lookup = exchange(&caller, "GET", "/Users", 200, b"", None);
        lookup.filter = Some(r#"userName eq "ann" or externalId eq "00u1""#);
        let entry = describe(&lookup);
        assert_eq!(
            entry.subjects,
            [
                (SubjectKind::UserName, "ann".to_string()),
                (SubjectKind::ExternalId, "00u1".to_string())
            ]
        );
        let patch = br#"{"Operations":[{"op":"Replace","value":{"userName":"bob"}}]}"#;
        let entry = describe(&exchange(&caller, "PATCH", "/Users/u-1", 200, patch, None));
        assert_eq!(entry.resource_id.as_deref(), Some("u-1"));
        assert_eq!(entry.user_name.as_deref(), Some("bob"));
    }

    #[test]
    fn bulk_operations_name_their_subjects_whatever_the_endpoints_case() {
        let caller = holder();
        let request = json!({"Operations": [
            {"method": "POST", "path": "/users", "bulkId": "a", "data": {"userName": "ann"}},
            {"method": "DELETE", "path": "/GROUPS/g-9/"},
        ]})
        .to_string();
        let entry = describe(&exchange(
            &caller,
            "POST",
            "/Bulk",
            200,
            request.as_bytes(),
            None,
        ));
        assert!(entry
            .subjects
            .contains(&(SubjectKind::UserName, "ann".to_string())));
        assert!(entry
            .subjects
            .contains(&(SubjectKind::ResourceId, "g-9".to_string())));
    }

    #[test]
    fn a_bulk_with_failed_operations_is_a_failure_with_a_summary() {
        let caller = holder();
        let request = json!({"Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "ann"}},
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "bob", "password": "p"}},
            {"method": "DELETE", "path": "/Users/u-9"},
        ]})
        .to_string();
        let response = json!({"Operations": [
            {"method": "POST", "bulkId": "a", "status": "201", "location": "http://h/scim/v2/Users/u-1"},
            {"method": "POST", "bulkId": "b", "status": "409", "response": {"scimType": "uniqueness", "detail": "userName is already in use (correlation id c1)"}},
            {"method": "DELETE", "status": "204", "location": "http://h/scim/v2/Users/u-9"},
        ]})
        .to_string();
        let entry = describe(&exchange(
            &caller,
            "POST",
            "/Bulk",
            200,
            request.as_bytes(),
            Some(response.as_bytes()),
        ));
        assert!(entry.failed);
        assert_eq!(entry.scim_type.as_deref(), Some("uniqueness"));
        assert_eq!(
            entry.detail.as_deref(),
            Some("1 of 3 operations failed; first: POST /Users 409 uniqueness: userName is already in use")
        );
        let names: Vec<&str> = entry
            .subjects
            .iter()
            .filter(|(kind, _)| *kind == SubjectKind::UserName)
            .map(|(_, name)| name.as_str())
            .collect();
        assert_eq!(names, ["ann", "bob"]);
        assert!(entry
            .subjects
            .contains(&(SubjectKind::ResourceId, "u-1".to_string())));
        assert!(!entry.body.unwrap_or_default().contains("\"p\""));
    }

    #[test]
    fn bodies_that_cannot_be_stored_are_described() {
        let caller = holder();
        let entry = describe(&exchange(
            &caller,
            "POST",
            "/Users",
            400,
            b"userName=ann",
            None,
        ));
        assert_eq!(
            entry.body.as_deref(),
            Some("\"body withheld: not valid JSON (12 bytes)\"")
        );
        let mut huge = exchange(&caller, "POST", "/Users", 413, b"", None);
        huge.request_body = RequestBody::Unread { read: 2048 };
        assert_eq!(
            describe(&huge).body.as_deref(),
            Some("\"body withheld: not read whole (stopped after 2048 bytes)\"")
        );
    }
}
