//! Picking up existing accounts: importing them unmanaged, and adopting them when an IdP
//! provisions the same userName.

use crate::common::refusals::refuse_inserts;
use crate::common::{encode, member_ids, user, TestApp};
use crate::on_both_stores;
use aggregates::settings::SettingsCommand;
use projections::db::{Dialect, Sql};
use projections::metadata::timestamp;
use scimd::admin::import::{import_users, ImportError, ImportReport};
use scimd::admin::{self, DEFAULT_INSTANCE};
use scimd::store::{Claim, NameKind, UniqueName};
use serde_json::json;

on_both_stores!(
    existing_accounts_are_imported_unmanaged_and_only_once,
    a_file_with_bad_lines_imports_nothing_and_says_which,
    an_idp_adopts_an_imported_account_instead_of_duplicating_it,
    groups_are_imported_with_their_members_and_adopted_by_name,
    accounts_may_state_the_applications_own_fields,
    an_adopted_account_keeps_the_fields_the_mapping_does_not_fill,
    a_member_whose_name_is_held_without_a_user_is_refused_not_dropped,
    a_write_failing_partway_leaves_nothing_imported,
);

/// Imports `lines` into the default instance, as the test operator.
pub async fn import(app: &TestApp, lines: &str) -> ImportReport {
    import_users(
        &app.store,
        DEFAULT_INSTANCE,
        lines,
        &crate::common::operator(),
        |_| {},
    )
    .await
    .expect("the import runs")
}

async fn total_users(app: &TestApp) -> i64 {
    total(app, "Users").await
}

/// How many of `resources` ("Users" or "Groups") the instance has.
async fn total(app: &TestApp, resources: &str) -> i64 {
    app.get(&format!("/{resources}?count=0")).await.body["totalResults"]
        .as_i64()
        .unwrap_or(-1)
}

/// The id of the user named `user_name`, found as an IdP would look it up.
async fn user_id(app: &TestApp, user_name: &str) -> String {
    let filter = encode(&format!("userName eq \"{user_name}\""));
    app.get(&format!("/Users?filter={filter}"))
        .await
        .resources()[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string()
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

    #[derive(sqlx::FromRow, serde::Deserialize)]
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
    let mut members = member_ids(&finance);
    members.sort();
    let mut expected = vec![existing.clone(), user_id(&app, "lee@corp.example").await];
    expected.sort();
    assert_eq!(
        members, expected,
        "the imported and the existing user: {finance:?}"
    );
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
    assert_eq!(member_ids(&adopted.body), vec![existing]);
    assert_eq!(adopted.body["externalId"], "entra-9");
    let groups = app.get("/Groups?count=0").await;
    assert_eq!(groups.body["totalResults"], 2);
    let again = app.post("/Groups", json!({"displayName": "FINANCE"})).await;
    assert_eq!(again.status, 409, "adopted once, then the name is taken");
}

/// Gives the application's User entity the custom text field "Cost Centre".
async fn add_cost_centre(app: &TestApp) {
    let add = SettingsCommand::AddField {
        name: "Cost Centre".into(),
    };
    app.change_settings(add).await;
}

async fn accounts_may_state_the_applications_own_fields(app: TestApp) {
    add_cost_centre(&app).await;
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

async fn an_adopted_account_keeps_the_fields_the_mapping_does_not_fill(app: TestApp) {
    add_cost_centre(&app).await;
    let lines = r#"{"userName": "mo@corp.example", "title": "Clerk", "fields": {"Cost Centre": "42", "Office Phone": "555"}}"#;
    assert_eq!(import(&app, lines).await.imported, 1);
    let adopted = app
        .post(
            "/Users",
            json!({"userName": "mo@corp.example", "name": {"givenName": "Mo"}}),
        )
        .await;
    assert_eq!(adopted.status, 201, "{:?}", adopted.body);
    let fields = || async {
        admin::directory_entry(&app.store, DEFAULT_INSTANCE, "mo@corp.example")
            .await
            .expect("the account is in the directory")
            .fields()
    };
    let after_adoption = fields().await;
    assert_eq!(
        after_adoption.get("Cost Centre").map(String::as_str),
        Some("42"),
        "no mapping row fills it: the IdP has no say in it: {after_adoption:?}"
    );
    // The mapping fills these, now from the IdP, which has neither.
    assert_eq!(after_adoption.get("Office Phone"), None);
    assert_eq!(after_adoption.get("Scim Sync Job Title"), None);
    assert_eq!(
        after_adoption.get("First Name").map(String::as_str),
        Some("Mo")
    );

    let patched = app
        .patch(
            &format!("/Users/{}", adopted.id()),
            json!([{"op": "add", "path": "title", "value": "Lead"}]),
        )
        .await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    let after_update = fields().await;
    assert_eq!(
        after_update.get("Cost Centre").map(String::as_str),
        Some("42")
    );
    assert_eq!(
        after_update.get("Scim Sync Job Title").map(String::as_str),
        Some("Lead")
    );
}

/// A userName reserved in the instance by a create still running (or one whose process died
/// moments ago) has no user yet: neither the account nor a group listing it can be imported,
/// and the import says so instead of importing the group without that member.
async fn a_member_whose_name_is_held_without_a_user_is_refused_not_dropped(app: TestApp) {
    let instance = admin::instance(&app.store, DEFAULT_INSTANCE)
        .await
        .expect("the default instance");
    let held = UniqueName::new(NameKind::UserName, &instance.id, "held@corp.example");
    let now = timestamp(chrono::Utc::now());
    let claimed = app
        .store
        .claims
        .claim(&held, "a-create-in-flight", &now, "");
    assert_eq!(claimed.await.expect("the claim is stored"), Claim::Claimed);
    let lines = r#"{"userName": "lee@corp.example"}
{"userName": "held@corp.example"}
{"name": "Team", "members": ["lee@corp.example", "HELD@corp.example"]}"#;
    let report = import(&app, lines).await;
    assert_eq!(report.imported, 0, "{report:?}");
    let refused: Vec<usize> = report.rejected.iter().map(|r| r.line).collect();
    assert_eq!(refused, [2, 3], "{report:?}");
    assert!(
        report.rejected[0].reason.contains("in progress"),
        "{report:?}"
    );
    assert!(
        report.rejected[1].reason.contains("held@corp.example"),
        "{report:?}"
    );
    assert_eq!(total(&app, "Users").await, 0);
    assert_eq!(total(&app, "Groups").await, 0);
    // The create in flight keeps its name; the names the import reserved are free again.
    let still = app
        .store
        .claims
        .claim(&held, "a-create-in-flight", &now, "");
    assert_eq!(still.await.expect("the claim reads"), Claim::AlreadyHeld);
    let lee = app.post("/Users", user("lee@corp.example")).await;
    assert_eq!(lee.status, 201, "{:?}", lee.body);
    let team = app.post("/Groups", json!({"displayName": "Team"})).await;
    assert_eq!(team.status, 201, "{:?}", team.body);
}

/// Makes the store refuse any event that mentions `marker`, as a full disk or a lost
/// connection would refuse a write.
async fn refuse_events_mentioning(app: &TestApp, marker: &str) {
    let payload = match app.store.db.dialect() {
        Dialect::Sqlite => "NEW.payload",
        Dialect::Postgres => "NEW.payload::text",
    };
    let condition = format!("{payload} LIKE '%{marker}%'");
    refuse_inserts(app, "refuse_marked", "events", Some(&condition)).await;
}

async fn a_write_failing_partway_leaves_nothing_imported(app: TestApp) {
    refuse_events_mentioning(&app, "Doomed Crew").await;
    let lines = r#"{"userName": "ann@corp.example"}
{"userName": "bob@corp.example"}
{"userName": "cy@corp.example"}
{"name": "Crew", "members": ["ann@corp.example", "bob@corp.example"]}
{"name": "Doomed Crew", "members": ["cy@corp.example"]}"#;
    let failed = import_users(
        &app.store,
        DEFAULT_INSTANCE,
        lines,
        &crate::common::operator(),
        |_| {},
    )
    .await;
    match failed {
        Err(ImportError::Failed { line, left, .. }) => {
            assert_eq!(line, 5);
            assert!(left.is_empty(), "{left:?}");
        }
        other => panic!("the import should fail at line 5: {other:?}"),
    }
    assert_eq!(total(&app, "Users").await, 0, "nothing half-imported");
    assert_eq!(total(&app, "Groups").await, 0);
    for name in ["ann@corp.example", "cy@corp.example"] {
        let created = app.post("/Users", user(name)).await;
        assert_eq!(
            created.status, 201,
            "{name} is free again: {:?}",
            created.body
        );
    }
    let crew = app.post("/Groups", json!({"displayName": "Crew"})).await;
    assert_eq!(crew.status, 201, "{:?}", crew.body);
}
