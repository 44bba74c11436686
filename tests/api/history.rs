//! The change history: every event of an instance, in order, with who, how and what changed.

use crate::common::cli::run_cli;
use crate::common::TestApp;
use crate::on_both_stores;
use aggregates::settings::SettingsCommand;
use scimd::admin::{self, HistoryFilter, DEFAULT_INSTANCE};
use serde_json::{json, Value};

on_both_stores!(
    every_change_is_in_the_history_in_order_with_who_and_what,
    exports_and_tables_show_request_text_inert,
);

async fn entries(app: &TestApp, filter: &HistoryFilter) -> Vec<Value> {
    let (page, next) = admin::history(&app.store, DEFAULT_INSTANCE, filter, None, 1000)
        .await
        .expect("the history reads");
    assert_eq!(next, None);
    page.iter().map(admin::views::history_entry).collect()
}

async fn every_change_is_in_the_history_in_order_with_who_and_what(app: TestApp) {
    let ann = app
        .post("/Users", json!({"userName": "ann", "title": "Clerk"}))
        .await
        .id();
    let patched = app
        .patch(
            &format!("/Users/{ann}"),
            json!([
                {"op": "replace", "path": "title", "value": "Lead"},
                {"op": "replace", "path": "active", "value": false}
            ]),
        )
        .await;
    assert_eq!(patched.status, 200);
    let sales = app.create_group("Sales", &[&ann]).await;
    app.patch(
        &format!("/Groups/{sales}"),
        json!([{"op": "replace", "path": "displayName", "value": "Sales EU"}]),
    )
    .await;
    let allow = SettingsCommand::AllowRoles {
        roles: vec!["User".into(), "Viewer".into()],
    };
    app.change_settings(allow).await;
    assert_eq!(app.delete(&format!("/Users/{ann}")).await.status, 204);

    let everything = entries(&app, &HistoryFilter::default()).await;
    // The instance's creation and its key come first, made by scimd on its first start.
    let (access, all) = everything.split_at(2);
    let made: Vec<(&Value, &Value)> = access.iter().map(|e| (&e["action"], &e["actor"])).collect();
    let operator = json!(admin::FIRST_START_ACTOR);
    assert_eq!(
        made,
        [
            (&json!("InstanceCreated"), &operator),
            (&json!("KeyIssued"), &operator)
        ]
    );
    let positions: Vec<i64> = all.iter().filter_map(|e| e["position"].as_i64()).collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "{positions:?}"
    );
    let actions: Vec<&str> = all.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(
        actions,
        [
            "UserCreated",
            "UserMapped",
            "UserUpdated",
            "UserSuspended",
            "UserMapped",
            "GroupCreated",
            "GroupMemberAdded",
            "GroupRenamed",
            "AllowedRolesSet",
            // A deleted user then leaves its groups.
            "UserDeleted",
            "GroupMemberRemoved",
        ],
        "{all:#?}"
    );
    let updated = &all[2];
    assert_eq!(updated["entityName"], "ann");
    assert_eq!(updated["source"], "scim");
    assert!(updated["correlationId"]
        .as_str()
        .is_some_and(|id| !id.is_empty()));
    assert!(updated["keyId"].as_str().is_some());
    let changes = updated["details"]["changes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        changes.contains(&json!({"attribute": "title", "old": "Clerk", "new": "Lead"})),
        "{changes:?}"
    );
    // Events that do not carry a name still say whom they are about.
    assert_eq!(all[6]["entityName"], "Sales");
    assert_eq!(all[7]["details"]["new_display_name"], "Sales EU");
    assert_eq!(all[8]["entityType"], "InstanceSettings");
    assert_eq!(all[8]["source"], "cli");
    assert_eq!(all[8]["details"]["roles"], json!(["User", "Viewer"]));

    let about_ann = HistoryFilter {
        name: Some("ANN".into()),
        ..HistoryFilter::default()
    };
    // Her own six, and her joining and leaving Sales.
    assert_eq!(entries(&app, &about_ann).await.len(), 8);
    let suspensions = HistoryFilter {
        action: Some("UserSuspended".into()),
        ..HistoryFilter::default()
    };
    let suspended = entries(&app, &suspensions).await;
    assert_eq!(suspended.len(), 1);
    assert!(suspended[0]["details"]["reason"]
        .as_str()
        .is_some_and(|reason| reason.ends_with("active set to false")));
    let future = HistoryFilter {
        since: Some("2999-01-01T00:00:00Z".into()),
        ..HistoryFilter::default()
    };
    assert!(entries(&app, &future).await.is_empty());

    // Pages of two, read on from each page's end, give the same entries in the same order.
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let (page, next) = admin::history(
            &app.store,
            DEFAULT_INSTANCE,
            &HistoryFilter::default(),
            after,
            2,
        )
        .await
        .expect("a page reads");
        assert!(page.len() <= 2);
        paged.extend(page.iter().map(admin::views::history_entry));
        match next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(paged, everything);
}

/// A cell a spreadsheet evaluates as a formula (CSV injection), or a character a terminal acts
/// on: what an IdP, or anyone with a key, puts in a userName, a User-Agent or a value.
async fn exports_and_tables_show_request_text_inert(app: TestApp) {
    let create = app
        .client
        .post(format!("{}/Users", app.base))
        .bearer_auth(&app.token)
        .header("user-agent", "@SUM(1+1)*cmd")
        .header("content-type", "application/scim+json")
        .body(
            json!({
                "userName": "=1+2@corp.example",
                "title": "-3+4",
                "nickName": "\u{9b}2J\u{85}forged\u{2028}",
                "externalId": "+5",
            })
            .to_string(),
        );
    let created = create.send().await.expect("scimd answers");
    assert_eq!(created.status(), 201);
    let history = |format: &'static str| {
        let url = app.database_url.clone();
        async move {
            let args = [
                "history",
                "--instance",
                DEFAULT_INSTANCE,
                "--format",
                format,
            ];
            let (ok, out, err) = run_cli(&url, &args).await;
            assert!(ok, "{err}");
            out
        }
    };
    let entries = entries(&app, &HistoryFilter::default()).await;

    let csv = history("csv").await;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().filter_map(Result::ok).collect();
    assert_eq!(rows.len(), entries.len(), "{csv}");
    // After the instance's creation and its key.
    let created = &rows[2];
    assert_eq!(created.get(5), Some("'@SUM(1+1)*cmd"), "{csv}");
    assert_eq!(created.get(9), Some("'=1+2@corp.example"), "{csv}");
    for cell in rows.iter().flatten() {
        assert!(
            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "{cell:?} in {csv}"
        );
    }
    assert!(csv.contains(",'=1+2@corp.example,UserCreated,"), "{csv}");

    let table = history("table").await;
    assert_eq!(table.lines().count(), entries.len() + 1, "{table}");
    assert!(!table.chars().any(acted_on), "{table:?}");
    assert!(table.contains("\\u{9b}2J\\u{85}forged\\u{2028}"), "{table}");
}

/// A character a terminal acts on, other than the newline that ends each row.
fn acted_on(c: char) -> bool {
    c != '\n' && (c.is_control() || c == '\u{2028}')
}
