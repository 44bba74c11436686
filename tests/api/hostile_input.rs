//! Bad and hostile input, endpoint by endpoint: wrong media types, broken or ambiguous JSON,
//! values of the wrong type, foreign schemas, numbers no type holds, bytes that are not UTF-8
//! and deep nesting. Each gets a clear 4xx as one SCIM error document, never a 500, and
//! changes nothing.

use crate::common::audit_trail::event_log;
use crate::common::wire::exchange;
use crate::common::TestApp;
use crate::on_both_stores;
use serde_json::{json, Value};

on_both_stores!(
    hostile_bodies_are_refused_with_a_scim_error_and_change_nothing,
    hostile_paths_queries_and_headers_are_refused_and_change_nothing,
);

const JSON: &str = "application/scim+json";

/// One request of the matrix and the answer it must get.
struct Case {
    method: &'static str,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    scim_type: Option<&'static str>,
}

fn case(
    method: &'static str,
    path: &str,
    body: impl Into<Vec<u8>>,
    status: u16,
    scim_type: &'static str,
) -> Case {
    Case {
        method,
        path: path.to_string(),
        content_type: Some(JSON),
        body: body.into(),
        status,
        scim_type: (!scim_type.is_empty()).then_some(scim_type),
    }
}

/// What the store holds, as a client and an auditor see it.
async fn state(app: &TestApp, ids: &[&str]) -> (usize, Vec<Value>) {
    let mut resources = Vec::new();
    for path in ["/Users", "/Groups"] {
        resources.push(app.get(path).await.body["totalResults"].clone());
    }
    for id in ids {
        let mut resource = app.get(id).await.body;
        resource["meta"]["location"] = Value::Null;
        resources.push(resource);
    }
    (event_log(&app.database_url).await.len(), resources)
}

async fn check(app: &TestApp, case: &Case) {
    let url = format!("{}{}", app.base, case.path);
    let method = reqwest::Method::from_bytes(case.method.as_bytes()).expect("a method");
    let mut request = app.client.request(method, url).bearer_auth(&app.token);
    if let Some(content_type) = case.content_type {
        request = request.header("content-type", content_type);
    }
    let response = request
        .body(case.body.clone())
        .send()
        .await
        .expect("scimd answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    let what = format!(
        "{} {} {:?}",
        case.method,
        case.path,
        String::from_utf8_lossy(&case.body)
            .chars()
            .take(120)
            .collect::<String>()
    );
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("{what}: a JSON body, got {status} {text:?}"));
    assert_eq!(status, case.status, "{what}: {body}");
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
        "{what}"
    );
    assert_eq!(body["status"], status.to_string(), "{what}");
    assert_eq!(body["scimType"].as_str(), case.scim_type, "{what}: {body}");
}

async fn hostile_bodies_are_refused_with_a_scim_error_and_change_nothing(app: TestApp) {
    let ann = app.create_user("ann@example.com").await;
    let team = app.create_group("Team", &[&ann]).await;
    let (user, group) = (format!("/Users/{ann}"), format!("/Groups/{team}"));
    let before = state(&app, &[&user, &group]).await;

    let deep = format!(
        r#"{{"userName": "deep", "name": {}{}}}"#,
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let deep_objects = format!(
        r#"{{"userName": "deep", "name": {}1{}}}"#,
        r#"{"a":"#.repeat(5000),
        "}".repeat(5000)
    );
    let patch = |operations: &str| {
        format!(
            r#"{{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": {operations}}}"#
        )
    };
    let mut cases = vec![
        // Media types.
        Case {
            content_type: Some("text/plain"),
            ..case("POST", "/Users", r#"{"userName": "bob"}"#, 415, "")
        },
        Case {
            content_type: Some("application/xml"),
            ..case("PUT", &user, "<userName>bob</userName>", 415, "")
        },
        Case {
            content_type: Some("multipart/form-data; boundary=x"),
            ..case("PATCH", &group, "--x--", 415, "")
        },
        // Not JSON, or not one JSON object.
        case("POST", "/Users", "", 400, "invalidSyntax"),
        case(
            "POST",
            "/Users",
            r#"{"userName": "bob""#,
            400,
            "invalidSyntax",
        ),
        case("POST", "/Users", "userName=bob", 400, "invalidSyntax"),
        case(
            "POST",
            "/Users",
            r#"{"userName": "bob"} {}"#,
            400,
            "invalidSyntax",
        ),
        case(
            "POST",
            "/Users",
            r#"["userName", "bob"]"#,
            400,
            "invalidSyntax",
        ),
        case("POST", "/Groups", "null", 400, "invalidSyntax"),
        case("PUT", &user, r#""ann@example.com""#, 400, "invalidSyntax"),
        case("POST", "/Bulk", "{", 400, "invalidSyntax"),
        case("POST", "/Users/.search", "[", 400, "invalidSyntax"),
        // Ambiguous: one member twice, in any case, at any depth.
        case(
            "POST",
            "/Users",
            r#"{"userName": "a", "userName": "b"}"#,
            400,
            "invalidSyntax",
        ),
        case(
            "POST",
            "/Users",
            r#"{"userName": "a", "USERNAME": "b"}"#,
            400,
            "invalidSyntax",
        ),
        case(
            "PUT",
            &user,
            r#"{"userName": "ann@example.com", "name": {"givenName": "A", "givenName": "B"}}"#,
            400,
            "invalidSyntax",
        ),
        case(
            "PATCH",
            &user,
            patch(r#"[{"op": "replace", "path": "title", "value": "x", "value": "y"}]"#),
            400,
            "invalidSyntax",
        ),
        // Values of the wrong type.
        case("POST", "/Users", r#"{"userName": 5}"#, 400, "invalidValue"),
        case(
            "POST",
            "/Users",
            r#"{"userName": ["bob"]}"#,
            400,
            "invalidValue",
        ),
        case(
            "POST",
            "/Users",
            r#"{"userName": "bob", "active": "maybe"}"#,
            400,
            "invalidValue",
        ),
        case(
            "POST",
            "/Users",
            r#"{"userName": "bob", "name": ["x"]}"#,
            400,
            "invalidValue",
        ),
        case(
            "POST",
            "/Users",
            r#"{"userName": "bob", "name": {"givenName": {"a": 1}}}"#,
            400,
            "invalidValue",
        ),
        case(
            "POST",
            "/Users",
            r#"{"userName": "bob", "emails": [{"value": "b@example.com", "primary": "often"}]}"#,
            400,
            "invalidValue",
        ),
        case(
            "PUT",
            &group,
            r#"{"displayName": {"x": 1}}"#,
            400,
            "invalidValue",
        ),
        case(
            "PUT",
            &group,
            r#"{"displayName": "Team", "members": [{"value": 7}]}"#,
            400,
            "invalidValue",
        ),
        case("PATCH", &user, patch(r#""replace""#), 400, "invalidSyntax"),
        case(
            "PATCH",
            &user,
            patch(r#"[{"op": "explode", "path": "title", "value": "x"}]"#),
            400,
            "invalidSyntax",
        ),
        case(
            "PATCH",
            &user,
            patch(r#"[{"op": "replace", "path": "active", "value": [1, 2]}]"#),
            400,
            "invalidValue",
        ),
        // Schemas that are not the resource's own.
        case(
            "POST",
            "/Users",
            r#"{"schemas": ["urn:example:not:a:schema"], "userName": "bob"}"#,
            400,
            "invalidValue",
        ),
        case(
            "POST",
            "/Users",
            r#"{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "userName": "bob", "displayName": "Bob"}"#,
            400,
            "invalidValue",
        ),
        case(
            "POST",
            "/Users",
            r#"{"schemas": "urn:ietf:params:scim:schemas:core:2.0:User", "userName": "bob"}"#,
            400,
            "invalidValue",
        ),
        case(
            "PUT",
            &group,
            r#"{"schemas": [42], "displayName": "Team"}"#,
            400,
            "invalidValue",
        ),
        // Numbers no type holds: beyond f64, beyond u64.
        case(
            "POST",
            "/Users",
            r#"{"userName": "bob", "active": 1e400}"#,
            400,
            "invalidSyntax",
        ),
        case(
            "POST",
            "/Users",
            r#"{"userName": -1e400}"#,
            400,
            "invalidSyntax",
        ),
        case(
            "POST",
            "/Users",
            r#"{"userName": 18446744073709551616}"#,
            400,
            "invalidValue",
        ),
        case(
            "POST",
            "/Users",
            r#"{"userName": "bob", "active": 18446744073709551616}"#,
            400,
            "invalidValue",
        ),
        // Bytes that are not UTF-8, in a string and outside one.
        case(
            "POST",
            "/Users",
            &b"{\"userName\": \"b\xffb\"}"[..],
            400,
            "invalidSyntax",
        ),
        case(
            "POST",
            "/Users",
            &b"{\"userName\xc3\x28\": \"bob\"}"[..],
            400,
            "invalidSyntax",
        ),
        case(
            "POST",
            "/Users",
            &b"\xef\xbb\xbf{\"userName\": \"bob\"}"[..],
            400,
            "invalidSyntax",
        ),
        case("PATCH", &group, &b"\xfe\xff\x00{"[..], 400, "invalidSyntax"),
        // Nesting deeper than any resource has.
        case("POST", "/Users", deep.clone(), 400, "invalidSyntax"),
        case("PUT", &user, deep_objects.clone(), 400, "invalidSyntax"),
        case("POST", "/Bulk", deep, 400, "invalidSyntax"),
        case("POST", "/.search", deep_objects, 400, "invalidSyntax"),
    ];
    // Lone surrogates are not text either.
    cases.push(case(
        "POST",
        "/Users",
        r#"{"userName": "\ud800"}"#,
        400,
        "invalidSyntax",
    ));
    for case in &cases {
        check(&app, case).await;
    }
    assert_eq!(state(&app, &[&user, &group]).await, before);
}

async fn hostile_paths_queries_and_headers_are_refused_and_change_nothing(app: TestApp) {
    let ann = app.create_user("ann@example.com").await;
    let user = format!("/Users/{ann}");
    let before = state(&app, &[&user]).await;
    let token = app.token.clone();
    let cases = [
        // Percent-encoded bytes that are not UTF-8, in the path and in the query.
        ("GET", "/Users/%FF%FE".to_string(), 404, None),
        ("DELETE", "/Users/%C3%28".to_string(), 404, None),
        ("GET", "/Groups/%ED%A0%80".to_string(), 404, None),
        // Not read lossily as U+FFFD, which would find nothing and answer 200.
        (
            "GET",
            "/Users?filter=userName%20eq%20%22%FF%FE%22".to_string(),
            400,
            Some("invalidFilter"),
        ),
        (
            "GET",
            "/Groups?filter=displayName+eq+%22Team%ED%A0%80%22".to_string(),
            400,
            Some("invalidFilter"),
        ),
        (
            "GET",
            "/Users?excludedAttributes=emails%C3".to_string(),
            400,
            Some("invalidValue"),
        ),
        (
            "GET",
            "/Users?sortBy=userName%FE".to_string(),
            400,
            Some("invalidValue"),
        ),
        (
            "GET",
            "/Users?cursor=%FF".to_string(),
            400,
            Some("invalidCursor"),
        ),
        (
            "POST",
            "/Users?attributes=userName%80".to_string(),
            400,
            Some("invalidValue"),
        ),
        (
            "GET",
            "/Users?filter=%FF".to_string(),
            400,
            Some("invalidFilter"),
        ),
        (
            "GET",
            "/Users?count=%FF".to_string(),
            400,
            Some("invalidValue"),
        ),
        (
            "GET",
            "/Users?startIndex=99999999999999999999".to_string(),
            400,
            Some("invalidValue"),
        ),
        (
            "GET",
            "/Users?count=-99999999999999999999".to_string(),
            400,
            Some("invalidValue"),
        ),
        (
            "GET",
            "/Users?filter=userName%20eq%201e400".to_string(),
            400,
            Some("invalidFilter"),
        ),
        (
            "GET",
            format!("{user}?attributes=%FF"),
            400,
            Some("invalidValue"),
        ),
        (
            "GET",
            "/Users?sortBy=%00".to_string(),
            400,
            Some("invalidValue"),
        ),
    ];
    for (method, path, status, scim_type) in cases {
        let request = format!(
            "{method} /scim/v2{path} HTTP/1.1\r\nHost: scimd\r\nAuthorization: Bearer {token}\r\n\
             Connection: close\r\n\r\n"
        );
        let (got, text) = exchange(app.address, request.as_bytes()).await;
        assert_eq!(got, status, "{method} {path}: {text}");
        if status >= 400 {
            let body: Value =
                serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap_or_default())
                    .unwrap_or_else(|_| panic!("{method} {path}: a JSON body in {text:?}"));
            assert_eq!(body["status"], status.to_string(), "{method} {path}");
            assert_eq!(
                body["scimType"].as_str(),
                scim_type,
                "{method} {path}: {body}"
            );
        }
    }
    // Raw bytes that are not UTF-8 in the request line or a header. The request line is
    // refused by HTTP itself, before scimd sees a request: a bare 400, still never a 5xx.
    let (status, text) = exchange(
        app.address,
        b"GET /scim/v2/Users/\xff\xfe HTTP/1.1\r\nHost: scimd\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 400, "{text}");
    let mut request = b"DELETE /scim/v2".to_vec();
    request.extend_from_slice(user.as_bytes());
    request.extend_from_slice(b" HTTP/1.1\r\nHost: scimd\r\nAuthorization: Bearer \xff\xfe");
    request.extend_from_slice(token.as_bytes());
    request.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    let (status, text) = exchange(app.address, &request).await;
    assert_eq!(status, 401, "{text}");
    assert!(text.contains(r#""status":"401""#), "{text}");
    assert_eq!(state(&app, &[&user]).await, before);
}
