//! The admin HTTP API as an administrator calls it: with the admin token, JSON in and out.

use super::TestApp;
use reqwest::Method;
use scimd::admin::token::AdminToken;
use scimd::startup::ServerSettings;
use serde_json::Value;

pub const ADMIN_TOKEN: &str = "admin-token-for-tests-0123456789abcdef";

pub fn with_admin_api() -> ServerSettings {
    ServerSettings {
        admin_token: AdminToken::new(ADMIN_TOKEN).ok(),
        ..ServerSettings::default()
    }
}

/// A call to the admin API with `token`, and its JSON answer.
pub async fn admin(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("http://{}/admin/v1{path}", app.address);
    let mut request = app.client.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("scimd answers");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

pub async fn call(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    admin(app, method, path, Some(ADMIN_TOKEN), body).await
}
