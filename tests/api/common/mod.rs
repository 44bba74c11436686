//! The shared harness: start scimd on a random port over a fresh store, and talk to it as a
//! SCIM client does. Every test runs on both stores through `on_both_stores!`.

pub mod admin_api;
pub mod audit_trail;
pub mod cli;
pub mod pg_wire;
pub mod postgres;
pub mod projector_batches;
pub mod receiver;
pub mod refusals;
pub mod server;
pub mod stuck;
pub mod tls;
pub mod wire;
pub mod write_load;

use reqwest::Method;
use scimd::admin;
use scimd::startup::{self, ServerSettings};
use scimd::store::{Store, StoreSettings};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Sqlite,
    Postgres,
}

/// Generates, for each named `async fn(TestApp)`, one test per store.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::TestApp::spawn($crate::common::StoreKind::Sqlite).await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::common::TestApp::spawn($crate::common::StoreKind::Postgres).await).await
            }
        }
    )+};
}

/// Generates, for each named `async fn(StoreKind)`, one test per store: for tests that start
/// the binary, or need no server at all.
#[macro_export]
macro_rules! on_both_store_kinds {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { super::$name($crate::common::StoreKind::Sqlite).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { super::$name($crate::common::StoreKind::Postgres).await }
        }
    )+};
}

/// As `on_both_stores!`, with the server started with the settings `$settings()` returns.
#[macro_export]
macro_rules! on_both_stores_with {
    ($settings:ident; $($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let kind = $crate::common::StoreKind::Sqlite;
                let app = $crate::common::TestApp::spawn_with(kind, super::$settings()).await;
                super::$name(app).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let kind = $crate::common::StoreKind::Postgres;
                let app = $crate::common::TestApp::spawn_with(kind, super::$settings()).await;
                super::$name(app).await
            }
        }
    )+};
}

/// A fresh, empty database of the given kind; the directory keeps a SQLite file alive.
pub async fn fresh_database(kind: StoreKind) -> (String, Option<TempDir>) {
    match kind {
        StoreKind::Sqlite => {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let url = format!("sqlite://{}", dir.path().join("scimd.db").display());
            (url, Some(dir))
        }
        StoreKind::Postgres => (
            postgres::PostgresServer::shared().create_database().await,
            None,
        ),
    }
}

pub struct TestApp {
    pub base: String,
    /// The store the server runs on, for the CLI to share.
    pub database_url: String,
    pub address: SocketAddr,
    /// A key of instance `default`.
    pub token: String,
    pub store: Arc<Store>,
    pub client: reqwest::Client,
    _shutdown: oneshot::Sender<()>,
    _dir: Option<TempDir>,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a readable body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("a JSON body, got {text:?}"))
        };
        Self {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    pub fn id(&self) -> String {
        self.body["id"].as_str().unwrap_or_default().to_string()
    }

    /// The `Resources` of a ListResponse.
    pub fn resources(&self) -> Vec<Value> {
        self.body["Resources"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl TestApp {
    pub async fn spawn(kind: StoreKind) -> Self {
        Self::spawn_with(kind, ServerSettings::default()).await
    }

    /// A server with other settings than the defaults (limits, public URL).
    pub async fn spawn_with(kind: StoreKind, settings: ServerSettings) -> Self {
        Self::spawn_waiting(kind, settings, StoreSettings::DEFAULT_PROJECTION_WAIT).await
    }

    /// As `spawn_with`, with requests waiting at most `projection_wait` for the read model.
    pub async fn spawn_waiting(
        kind: StoreKind,
        settings: ServerSettings,
        projection_wait: Duration,
    ) -> Self {
        let (database_url, dir) = fresh_database(kind).await;
        let mut store_settings = StoreSettings::new(&database_url, 8);
        store_settings.projection_wait = projection_wait;
        let store = Arc::new(Store::open(&store_settings).await.expect("the store opens"));
        let token = admin::ensure_default_instance(&store)
            .await
            .expect("the default instance is created")
            .expect("a fresh store has no instance yet")
            .token;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let address = listener.local_addr().expect("a bound address");
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server_store = Arc::clone(&store);
        tokio::spawn(async move {
            let stop = async move {
                let _ = stopped.await;
            };
            if let Err(error) = startup::serve(server_store, settings, listener, stop).await {
                eprintln!("test server failed: {error}");
            }
        });
        let app = Self {
            base: format!("http://{address}/scim/v2"),
            database_url,
            address,
            token,
            store,

            client: reqwest::Client::new(),
            _shutdown: shutdown,
            _dir: dir,
        };
        app.wait_until_healthy().await;
        app
    }

    async fn wait_until_healthy(&self) {
        let url = format!("http://{}/healthz", self.address);
        for _ in 0..200 {
            if let Ok(response) = self.client.get(&url).send().await {
                if response.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("scimd did not become healthy at {url}");
    }

    /// A key of instance `instance` (created if needed) acting for `integration_user`.
    pub async fn key_for(&self, instance: &str, integration_user: &str) -> String {
        match admin::create_instance(&self.store, instance, &operator()).await {
            Ok(_) | Err(admin::AdminError::InstanceExists(_)) => {}
            Err(error) => panic!("cannot create instance {instance}: {error}"),
        }
        admin::create_key(&self.store, instance, integration_user, &operator())
            .await
            .expect("a key is created")
            .token
    }

    /// Sends a request with `token` (if any) and an `application/scim+json` body (if any).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let mut request = self.client.request(method, url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        Reply::read(request.send().await.expect("scimd answers")).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, Some(&self.token), None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(&self.token), Some(&body))
            .await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PUT, path, Some(&self.token), Some(&body))
            .await
    }

    pub async fn patch(&self, path: &str, operations: Value) -> Reply {
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": operations,
        });
        self.send(Method::PATCH, path, Some(&self.token), Some(&body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, Some(&self.token), None)
            .await
    }

    /// Changes the default instance's settings as an operator would from the CLI.
    pub async fn change_settings(&self, command: aggregates::settings::SettingsCommand) {
        let asked = format!("{command:?}");
        if let Err(error) =
            admin::change_settings(&self.store, admin::DEFAULT_INSTANCE, command, &operator()).await
        {
            panic!("the settings change {asked}: {error}");
        }
    }

    /// Creates a user with just a userName and returns its id.
    pub async fn create_user(&self, user_name: &str) -> String {
        let reply = self.post("/Users", user(user_name)).await;
        assert_eq!(reply.status, 201, "creating {user_name}: {:?}", reply.body);
        reply.id()
    }

    /// Creates a group with the given member ids and returns its id.
    pub async fn create_group(&self, display_name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members
            .iter()
            .map(|id| serde_json::json!({"value": id}))
            .collect();
        let reply = self
            .post(
                "/Groups",
                serde_json::json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": display_name,
                    "members": members,
                }),
            )
            .await;
        assert_eq!(
            reply.status, 201,
            "creating group {display_name}: {:?}",
            reply.body
        );
        reply.id()
    }
}

/// A minimal User resource.
pub fn user(user_name: &str) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
    })
}

/// `value` percent-encoded for a query string.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The member ids of a rendered group.
pub fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|members| {
            members
                .iter()
                .filter_map(|member| member["value"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// The administrator the tests' own setup acts as, through the library as the CLI does.
pub fn operator() -> admin::Action {
    admin::Action::new("test operator", admin::Source::Cli)
}
