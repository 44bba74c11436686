//! Picking up existing accounts: importing them unmanaged, and adopting them when an IdP
//! provisions the same userName.

use crate::common::{encode, user, TestApp};
use crate::on_both_stores;
use projections::db::Sql;
use scimd::admin::import::{import_users, ImportReport};
use scimd::admin::{self, DEFAULT_INSTANCE};
use serde_json::json;

on_both_stores!(
    existing_accounts_are_imported_unmanaged_and_only_once,
    a_file_with_bad_lines_imports_nothing_and_says_which,
    an_idp_adopts_an_imported_account_instead_of_duplicating_it,
    groups_are_imported_with_their_members_and_adopted_by_name,
    accounts_may_state_the_applications_own_fields,
);

async fn import(app: &TestApp, lines: &str) -> ImportReport {
    import_users(&app.store, DEFAULT_INSTANCE, lines, |_| {})
        .await
        .expect("the import runs")
}

async fn total_users(app: &TestApp) -> i64 {
    app.get("/Users?count=0").await.body["totalResults"]
        .as_i64()
        .unwrap_or(-1)
}

const ACCOUNTS: &str = r#"{"userName": "old.timer@corp.example", "name": {"givenName": "Old"}, "title": "Clerk"}

{"userName": "second@corp.example", "active": false}
"#;

async fn existing_accounts_are_imported_unmanaged_and_only_once(app: TestApp) {
    let first = import(&app, ACCOUNTS).await;
    assert_eq!((first.imported, first.skipped), (2, 0));
    assert!(first.rejected.is_empty());
    let entry = admin::directory_entry(&app.store, DEFAULT_INSTANCE, "old.timer@corp.example")
        .await
        .expect("the account is in the directory");
    assert!(!entry.managed);
    assert_eq!(
        entry.fields().get("First Name").map(String::as_str),
        Some("Old")
    );
    let suspended = admin::directory_entry(&app.store, DEFAULT_INSTANCE, "second@corp.example")
        .await
        .expect("the account is in the directory");
    assert_eq!(suspended.state, "suspended");
    // Okta's lookup-then-link finds them.
    let filter = encode(r#"userName eq "OLD.TIMER@corp.example""#);
    let found = app.get(&format!("/Users?filter={filter}")).await;
    assert_eq!(found.body["totalResults"], 1);

    let again = import(&app, ACCOUNTS).await;
    assert_eq!((again.imported, again.skipped), (0, 2));
    assert_eq!(total_users(&app).await, 2);
}

async fn a_file_with_bad_lines_imports_nothing_and_says_which(app: TestApp) {
    let other = app.key_for("other", "okta").await;
    let taken = app
        .send(
            reqwest::Method::POST,
            "/Users",
            Some(&other),
            Some(&user("taken@corp.example")),
        )
        .await;
    assert_eq!(taken.status, 201);
    let lines = [
        r#"{"userName": "fine@corp.example"}"#,
        r#"{"userName": "#,
        r#"{"title": "no name"}"#,
        r#"{"userName": "boss@corp.example", "roles": [{"value": "Administrator"}]}"#,
        r#"{"userName": "FINE@corp.example"}"#,
        r#"{"userName": "taken@corp.example"}"#,
        r#"[1, 2]"#,
        r#"{"displayName": "Ghosts", "members": ["nobody@corp.example"]}"#,
    ]
    .join("\n");
    let report = import(&app, &lines).await;
    assert_eq!(report.imported, 0);
    let lines: Vec<usize> = report.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, [2, 3, 4, 5, 6, 7, 8]);
    let reasons: Vec<&str> = report.rejected.iter().map(|r| r.reason.as_str()).collect();
    assert!(reasons[0].contains("JSON"), "{reasons:?}");
    assert!(reasons[1].contains("userName"), "{reasons:?}");
    assert!(reasons[2].contains("Administrator"), "{reasons:?}");
    assert!(reasons[3].contains("twice"), "{reasons:?}");
    assert!(reasons[4].contains("in use"), "{reasons:?}");
    assert!(reasons[6].contains("nobody@corp.example"), "{reasons:?}");
    assert_eq!(total_users(&app).await, 0, "nothing half-imported");
}

async fn an_idp_adopts_an_imported_account_instead_of_duplicating_it(app: TestApp) {
    import(&app, ACCOUNTS).await;
    let filter = encode(r#"userName eq "old.timer@corp.example""#);
    let imported_id = app
        .get(&format!("/Users?filter={filter}"))
        .await
        .resources()[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let adopted = app
        .post(
            "/Users",
            json!({
                "userName": "Old.Timer@corp.example",
                "name": {"givenName": "Olivia", "familyName": "Timer"},
                "externalId": "okta-77"
            }),
        )
        .await;
    assert_eq!(adopted.status, 201, "{:?}", adopted.body);
    assert_eq!(adopted.id(), imported_id);
    assert_eq!(adopted.body["userName"], "Old.Timer@corp.example");
    assert_eq!(adopted.body["externalId"], "okta-77");
    assert!(
        adopted.body.get("title").is_none(),
        "the IdP's profile replaces the import"
    );
    assert_eq!(total_users(&app).await, 2);
    let entry = admin::directory_entry(&app.store, DEFAULT_INSTANCE, "old.timer@corp.example")
        .await
        .expect("the account is in the directory");
    assert!(entry.managed);
    assert_eq!(
        entry.fields().get("First Name").map(String::as_str),
        Some("Olivia")
    );

    #[derive(sqlx::FromRow)]
    struct Row {
        event_type: String,
    }
    let rows: Vec<Row> = app
        .store
        .db
        .fetch_all(
            &Sql::new("SELECT event_type FROM events WHERE aggregate_id = $1 ORDER BY sequence")
                .bind(imported_id.as_str()),
        )
        .await
        .expect("the log reads");
    let types: Vec<&str> = rows.iter().map(|row| row.event_type.as_str()).collect();
    assert_eq!(
        types[..3],
        ["UserImported", "UserMapped", "UserAdopted"],
        "{types:?}"
    );
    // Once managed, the name is taken like any other.
    let again = app.post("/Users", user("old.timer@corp.example")).await;
    assert_eq!(again.status, 409);
}

async fn groups_are_imported_with_their_members_and_adopted_by_name(app: TestApp) {
    let existing = app.create_user("kim@corp.example").await;
    let lines = r#"{"userName": "lee@corp.example"}
{"name": "Finance", "members": ["LEE@corp.example", "kim@corp.example"]}
{"displayName": "Empty"}"#;
    let report = import(&app, lines).await;
    assert_eq!((report.imported, report.skipped), (3, 0), "{report:?}");
    let filter = encode(r#"displayName eq "finance""#);
    let finance = app
        .get(&format!("/Groups?filter={filter}"))
        .await
        .resources()[0]
        .clone();
    let imported_id = finance["id"].as_str().unwrap_or_default().to_string();
    let mut members = crate::common::member_ids(&finance);
    members.retain(|id| id != &existing);
    assert_eq!(members.len(), 1, "{finance:?}");
    let again = import(&app, lines).await;
    assert_eq!((again.imported, again.skipped), (0, 3));

    // The IdP pushes a group of the same name: adopted, with the IdP's members.
    let adopted = app
        .post(
            "/Groups",
            json!({"displayName": "Finance", "externalId": "entra-9", "members": [{"value": existing}]}),
        )
        .await;
    assert_eq!(adopted.status, 201, "{:?}", adopted.body);
    assert_eq!(adopted.id(), imported_id);
    assert_eq!(crate::common::member_ids(&adopted.body), vec![existing]);
    assert_eq!(adopted.body["externalId"], "entra-9");
    let groups = app.get("/Groups?count=0").await;
    assert_eq!(groups.body["totalResults"], 2);
    let again = app.post("/Groups", json!({"displayName": "FINANCE"})).await;
    assert_eq!(again.status, 409, "adopted once, then the name is taken");
}

async fn accounts_may_state_the_applications_own_fields(app: TestApp) {
    let add = aggregates::settings::SettingsCommand::AddField {
        name: "Cost Centre".into(),
    };
    admin::change_settings(&app.store, DEFAULT_INSTANCE, add)
        .await
        .expect("a custom field is added");
    let lines = r#"{"userName": "mo@corp.example", "title": "Clerk", "fields": {"cost centre": "42", "Office Phone": "555"}}"#;
    let report = import(&app, lines).await;
    assert_eq!(report.imported, 1, "{report:?}");
    let entry = admin::directory_entry(&app.store, DEFAULT_INSTANCE, "mo@corp.example")
        .await
        .expect("the account is in the directory");
    let fields = entry.fields();
    assert_eq!(fields.get("Cost Centre").map(String::as_str), Some("42"));
    assert_eq!(fields.get("Office Phone").map(String::as_str), Some("555"));
    assert_eq!(
        fields.get("Scim Sync Job Title").map(String::as_str),
        Some("Clerk")
    );

    let unknown = import(
        &app,
        r#"{"userName": "no@corp.example", "fields": {"Salary": "1"}}"#,
    )
    .await;
    assert_eq!(unknown.rejected.len(), 1);
    assert!(unknown.rejected[0].reason.contains("Salary"), "{unknown:?}");
}
