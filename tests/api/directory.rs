//! The application's user directory: the fields the instance's mapping fills, the user's state,
//! and the mapped events that record exactly what changed.

use crate::common::server::Server;
use crate::common::TestApp;
use crate::on_both_stores;
use aggregates::settings::SettingsCommand;
use projections::db::Sql;
use scimd::admin::import::import_users;
use scimd::admin::{self, DEFAULT_INSTANCE};
use serde_json::{json, Value};

on_both_stores!(
    a_provisioned_user_fills_the_application_directory,
    an_update_records_exactly_the_mapped_fields_that_changed,
    a_changed_mapping_takes_effect_when_re_applied,
    a_manager_outside_the_sync_group_waits_and_is_linked_when_provisioned,
    a_report_and_its_manager_created_at_once_are_linked,
    a_report_left_waiting_for_a_manager_that_exists_is_linked_at_start_up,
);

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

async fn entry(app: &TestApp, user_name: &str) -> Value {
    let entry = admin::directory_entry(&app.store, DEFAULT_INSTANCE, user_name)
        .await
        .expect("the user is in the directory");
    json!({"state": entry.state, "managed": entry.managed, "fields": entry.fields()})
}

async fn manager_of(app: &TestApp, user_name: &str) -> Value {
    let entry = admin::directory_entry(&app.store, DEFAULT_INSTANCE, user_name)
        .await
        .expect("the user is in the directory");
    scimd::admin::views::directory_entry(&entry)["manager"].clone()
}

/// The types of the events of `id`, oldest first.
async fn event_types(app: &TestApp, id: &str) -> Vec<String> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Row {
        event_type: String,
    }
    let sql = Sql::new("SELECT event_type FROM events WHERE aggregate_id = $1 ORDER BY sequence")
        .bind(id);
    let rows: Vec<Row> = app.store.db.fetch_all(&sql).await.expect("the log reads");
    rows.into_iter().map(|row| row.event_type).collect()
}

/// The `changes` of every UserMapped event of `id`, oldest first.
async fn mapped_events(app: &TestApp, id: &str) -> Vec<Value> {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Payload {
        payload: String,
    }
    let sql = match app.store.db.dialect() {
        projections::db::Dialect::Sqlite => {
            "SELECT payload FROM events WHERE aggregate_id = $1 AND event_type = 'UserMapped'
              ORDER BY sequence"
        }
        projections::db::Dialect::Postgres => {
            "SELECT payload::text AS payload FROM events
              WHERE aggregate_id = $1 AND event_type = 'UserMapped' ORDER BY sequence"
        }
    };
    let rows: Vec<Payload> = app
        .store
        .db
        .fetch_all(&Sql::new(sql).bind(id))
        .await
        .expect("the event log reads");
    rows.iter()
        .map(|row| {
            let payload: Value = serde_json::from_str(&row.payload).unwrap_or_default();
            payload["UserMapped"]["changes"].clone()
        })
        .collect()
}

async fn a_provisioned_user_fills_the_application_directory(app: TestApp) {
    let created = app
        .post(
            "/Users",
            json!({
                "userName": "ann@corp.example",
                "displayName": "Ann Lee",
                "name": {"givenName": "Ann", "familyName": "Lee"},
                "title": "Engineer",
                "emails": [
                    {"value": "ann@home.example", "type": "home", "primary": true},
                    {"value": "ann@corp.example", "type": "work"}
                ],
                "phoneNumbers": [
                    {"value": "+1 555 0100", "type": "work"},
                    {"value": "+1 555 0199", "type": "mobile"}
                ],
                ENTERPRISE: {"manager": {"value": "boss-1"}}
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(
        entry(&app, "ANN@corp.example").await,
        json!({
            "state": "active",
            "managed": true,
            "fields": {
                "User Name": "ann@corp.example",
                "Display Name": "Ann Lee",
                "Email": "ann@corp.example",
                "First Name": "Ann",
                "Last Name": "Lee",
                "Office Phone": "+1 555 0100",
                "Mobile Phone": "+1 555 0199",
                "Direct Manager": "boss-1",
                "Scim Sync Job Title": "Engineer"
            }
        })
    );
    let path = format!("/Users/{}", created.id());
    let off = app
        .patch(
            &path,
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(off.status, 200);
    assert_eq!(entry(&app, "ann@corp.example").await["state"], "suspended");
    let on = app
        .patch(
            &path,
            json!([{"op": "replace", "path": "active", "value": true}]),
        )
        .await;
    assert_eq!(on.status, 200);
    assert_eq!(entry(&app, "ann@corp.example").await["state"], "active");
    assert_eq!(app.delete(&path).await.status, 204);
    assert_eq!(entry(&app, "ann@corp.example").await["state"], "deleted");
}

async fn an_update_records_exactly_the_mapped_fields_that_changed(app: TestApp) {
    let id = app
        .post(
            "/Users",
            json!({"userName": "bob", "title": "Engineer", "nickName": "Bobby"}),
        )
        .await
        .id();
    let path = format!("/Users/{id}");
    let changed = app
        .patch(
            &path,
            json!([
                {"op": "replace", "path": "title", "value": "Lead"},
                {"op": "replace", "path": "nickName", "value": "Rob"}
            ]),
        )
        .await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    // nickName is not mapped: only the job title changed in the application.
    assert_eq!(
        mapped_events(&app, &id).await,
        [
            json!([
                {"field": "Scim Sync Job Title", "old": null, "new": "Engineer"},
                {"field": "User Name", "old": null, "new": "bob"}
            ]),
            json!([{"field": "Scim Sync Job Title", "old": "Engineer", "new": "Lead"}]),
        ]
    );
    let unmapped = app
        .patch(
            &path,
            json!([{"op": "replace", "path": "nickName", "value": "B"}]),
        )
        .await;
    assert_eq!(unmapped.status, 200);
    assert_eq!(mapped_events(&app, &id).await.len(), 2);
}

async fn a_changed_mapping_takes_effect_when_re_applied(app: TestApp) {
    let id = app
        .post(
            "/Users",
            json!({
                "userName": "cat",
                "title": "Engineer",
                "addresses": [{"type": "work", "country": "NZ"}]
            }),
        )
        .await
        .id();
    app.change_settings(SettingsCommand::AddField {
        name: "Country".into(),
    })
    .await;
    admin::set_mapping(
        &app.store,
        DEFAULT_INSTANCE,
        "Country",
        r#"addresses[type eq "work"].country"#,
        &crate::common::operator(),
    )
    .await
    .expect("the mapping is set");
    app.change_settings(SettingsCommand::DeleteMapping {
        field: "Scim Sync Job Title".into(),
    })
    .await;
    // Nothing changes for existing users until the mapping is applied.
    assert_eq!(
        entry(&app, "cat").await["fields"]["Scim Sync Job Title"],
        "Engineer"
    );
    app.create_user("dan").await;
    let report = admin::apply_mappings(
        &app.store,
        DEFAULT_INSTANCE,
        &crate::common::operator(),
        |_| {},
    )
    .await
    .expect("the mapping applies");
    assert_eq!((report.users, report.changed), (2, 1));
    assert_eq!(
        entry(&app, "cat").await["fields"],
        json!({"User Name": "cat", "Country": "NZ"})
    );
    assert_eq!(
        mapped_events(&app, &id).await.last(),
        Some(&json!([
            {"field": "Country", "old": null, "new": "NZ"},
            {"field": "Scim Sync Job Title", "old": "Engineer", "new": null}
        ]))
    );
    let again = admin::apply_mappings(
        &app.store,
        DEFAULT_INSTANCE,
        &crate::common::operator(),
        |_| {},
    )
    .await
    .expect("the mapping applies again");
    assert_eq!((again.users, again.changed), (2, 0));
}

/// Whichever of a report and its manager commits first, the report ends up linked, and the
/// link shows as soon as both requests are answered.
async fn a_report_and_its_manager_created_at_once_are_linked(app: TestApp) {
    let pairs = (0..20).map(|n| {
        let app = &app;
        async move {
            let boss = format!("chief-{n}");
            let report = json!({
                "userName": format!("aide-{n}"),
                ENTERPRISE: {"manager": {"value": boss}},
            });
            let (report, manager) = tokio::join!(
                app.post("/Users", report),
                app.post("/Users", json!({"userName": boss}))
            );
            assert_eq!(report.status, 201, "{:?}", report.body);
            assert_eq!(manager.status, 201, "{:?}", manager.body);
            manager.id()
        }
    });
    let managers = futures::future::join_all(pairs).await;
    for (n, manager) in managers.iter().enumerate() {
        let linked = manager_of(&app, &format!("aide-{n}")).await;
        assert_eq!(linked["id"], manager.as_str(), "aide-{n}: {linked}");
    }
}

async fn a_manager_outside_the_sync_group_waits_and_is_linked_when_provisioned(app: TestApp) {
    let with_manager = |user_name: &str, manager: &str| json!({"userName": user_name, ENTERPRISE: {"manager": {"value": manager}}});
    let ann = app.post("/Users", with_manager("ann", "Boss@Corp")).await;
    assert_eq!(ann.status, 201, "{:?}", ann.body);
    // No user was made for the manager: the reference waits.
    let listed = app.get("/Users").await;
    assert_eq!(listed.body["totalResults"], 1);
    assert_eq!(
        manager_of(&app, "ann").await,
        json!({"reference": "Boss@Corp", "id": null})
    );

    let boss = app.create_user("boss@corp").await;
    assert_eq!(
        manager_of(&app, "ann").await,
        json!({"reference": "Boss@Corp", "id": boss})
    );
    assert_eq!(
        event_types(&app, &ann.id()).await,
        [
            "UserCreated",
            "UserMapped",
            "ManagerPending",
            "ManagerLinked"
        ]
    );

    // A manager already provisioned is linked at once, by externalId here.
    let carl = app
        .post("/Users", json!({"userName": "carl", "externalId": "ext-c"}))
        .await
        .id();
    app.post("/Users", with_manager("dee", "ext-c")).await;
    assert_eq!(
        manager_of(&app, "dee").await,
        json!({"reference": "ext-c", "id": carl})
    );

    // Removing the manager clears the link.
    let removed = app
        .patch(
            &format!("/Users/{}", ann.id()),
            json!([{"op": "remove", "path": format!("{ENTERPRISE}:manager")}]),
        )
        .await;
    assert_eq!(removed.status, 200, "{:?}", removed.body);
    assert_eq!(manager_of(&app, "ann").await, Value::Null);
    assert_eq!(
        event_types(&app, &ann.id())
            .await
            .last()
            .map(String::as_str),
        Some("ManagerUnlinked")
    );
}

/// A manager that came in without linking the reports waiting for it (here an imported
/// account; likewise a process that died between the manager's commit and the links): the
/// next start of scimd links them.
async fn a_report_left_waiting_for_a_manager_that_exists_is_linked_at_start_up(app: TestApp) {
    let ann = app
        .post(
            "/Users",
            json!({"userName": "ann", ENTERPRISE: {"manager": {"value": "Boss@Corp"}}}),
        )
        .await;
    assert_eq!(ann.status, 201, "{:?}", ann.body);
    import_users(
        &app.store,
        DEFAULT_INSTANCE,
        r#"{"userName": "boss@corp"}"#,
        &crate::common::operator(),
        |_| {},
    )
    .await
    .expect("the manager is imported");
    let boss = admin::directory_entry(&app.store, DEFAULT_INSTANCE, "boss@corp")
        .await
        .expect("the manager is in the directory")
        .id;
    assert_eq!(
        manager_of(&app, "ann").await,
        json!({"reference": "Boss@Corp", "id": null}),
        "the report still waits, though its manager exists"
    );

    let mut server = Server::start(&app.database_url).await;
    // Answered only once the server has finished starting, the sweep among it.
    let root = server.base.trim_end_matches("/scim/v2");
    let health = reqwest::get(format!("{root}/healthz"))
        .await
        .expect("the server answers");
    assert!(health.status().is_success(), "{health:?}");
    admin::catch_up(&app.store)
        .await
        .expect("the read model catches up");
    assert_eq!(
        manager_of(&app, "ann").await,
        json!({"reference": "Boss@Corp", "id": boss})
    );
    assert_eq!(
        event_types(&app, &ann.id())
            .await
            .last()
            .map(String::as_str),
        Some("ManagerLinked")
    );
    let exit = server.signal("TERM").await;
    assert!(exit.success(), "{exit:?}");
}
