//! A user created without `active` is active, and says so: in every response, in the read
//! model's filters, in the event and in the history, also for users stored before scimd
//! recorded it. A replacement that leaves `active` out keeps the user's state.

use crate::common::{encode, user, TestApp};
use crate::on_both_stores;
use projections::db::{Dialect, Sql};
use scimd::admin::{self, HistoryFilter, DEFAULT_INSTANCE};
use serde_json::{json, Value};

on_both_stores!(
    a_user_created_without_active_is_shown_and_recorded_active,
    users_bulk_created_imported_or_adopted_without_active_are_active,
    a_replacement_without_active_keeps_the_users_state,
    users_stored_before_active_was_recorded_read_as_active,
);

/// The history entries about the user with id `id`, in order.
async fn history_of(app: &TestApp, id: &str) -> Vec<Value> {
    let filter = HistoryFilter {
        entity_id: Some(id.to_string()),
        ..HistoryFilter::default()
    };
    let (page, _) = admin::history(&app.store, DEFAULT_INSTANCE, &filter, None, 1000)
        .await
        .expect("the history reads");
    page.iter().map(admin::views::history_entry).collect()
}

/// The changes of `active` the history records for the user, as (old, new).
async fn active_changes(app: &TestApp, id: &str) -> Vec<(Value, Value)> {
    history_of(app, id)
        .await
        .iter()
        .filter(|entry| entry["action"] == "UserUpdated")
        .flat_map(|entry| entry["details"]["changes"].as_array().cloned())
        .flatten()
        .filter(|change| change["attribute"] == "active")
        .map(|change| (change["old"].clone(), change["new"].clone()))
        .collect()
}

/// The `active` the user's creation (or import) records in the history.
async fn active_at_creation(app: &TestApp, id: &str) -> Value {
    history_of(app, id).await[0]["details"]["attributes"]["active"].clone()
}

/// The ids of the users `filter` finds.
async fn found(app: &TestApp, filter: &str) -> Vec<String> {
    app.get(&format!("/Users?filter={}", encode(filter)))
        .await
        .resources()
        .iter()
        .filter_map(|resource| resource["id"].as_str().map(str::to_string))
        .collect()
}

async fn a_user_created_without_active_is_shown_and_recorded_active(app: TestApp) {
    let created = app.post("/Users", user("ann")).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["active"], true, "{:?}", created.body);
    let id = created.id();
    let path = format!("/Users/{id}");
    assert_eq!(app.get(&path).await.body["active"], true);
    let listed = app.get("/Users").await.resources();
    assert_eq!(listed[0]["active"], true, "{listed:?}");
    assert_eq!(found(&app, "active eq true").await, [id.as_str()]);
    assert!(found(&app, "active eq false").await.is_empty());
    assert_eq!(active_at_creation(&app, &id).await, true);

    let off = app
        .patch(
            &path,
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(off.status, 200, "{:?}", off.body);
    assert_eq!(off.body["active"], false);
    assert_eq!(
        active_changes(&app, &id).await,
        [(json!(true), json!(false))]
    );
    assert_eq!(found(&app, "active eq false").await, [id.as_str()]);
}

async fn users_bulk_created_imported_or_adopted_without_active_are_active(app: TestApp) {
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "POST", "bulkId": "b1", "path": "/Users", "data": user("bo")}],
    });
    let answered = app.post("/Bulk", bulk).await;
    assert_eq!(answered.status, 200, "{:?}", answered.body);
    let location = answered.body["Operations"][0]["location"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let bo = app.get(&location).await;
    assert_eq!(bo.body["active"], true, "{:?}", bo.body);
    assert_eq!(active_at_creation(&app, &bo.id()).await, true);

    // One account kept without `active`, one suspended in the application before provisioning.
    let lines = "{\"userName\": \"kept@corp\"}\n{\"userName\": \"gone@corp\", \"active\": false}\n";
    crate::import::import(&app, lines).await;
    let filter = encode("userName eq \"kept@corp\"");
    let kept = app
        .get(&format!("/Users?filter={filter}"))
        .await
        .resources()[0]
        .clone();
    assert_eq!(kept["active"], true, "{kept:?}");
    let kept_id = kept["id"].as_str().unwrap_or_default();
    assert_eq!(active_at_creation(&app, kept_id).await, true);

    // The IdP provisions the suspended account without saying `active`: it creates the user,
    // so the user is active.
    let adopted = app.post("/Users", user("gone@corp")).await;
    assert_eq!(adopted.status, 201, "{:?}", adopted.body);
    assert_eq!(adopted.body["active"], true, "{:?}", adopted.body);
    assert_eq!(
        active_changes(&app, &adopted.id()).await,
        [(json!(false), json!(true))]
    );
}

async fn a_replacement_without_active_keeps_the_users_state(app: TestApp) {
    let mut suspended = user("sue");
    suspended["active"] = json!(false);
    let sue = app.post("/Users", suspended).await.id();
    let mut replacement = user("sue");
    replacement["title"] = json!("Former");
    let put = app.put(&format!("/Users/{sue}"), replacement).await;
    assert_eq!(put.status, 200, "{:?}", put.body);
    assert_eq!(put.body["active"], false, "{:?}", put.body);
    assert_eq!(put.body["title"], "Former");
    let actions: Vec<Value> = history_of(&app, &sue)
        .await
        .iter()
        .map(|entry| entry["action"].clone())
        .collect();
    assert!(!actions.contains(&json!("UserReactivated")), "{actions:?}");

    let al = app.create_user("al").await;
    let put = app.put(&format!("/Users/{al}"), user("al")).await;
    assert_eq!(put.status, 200, "{:?}", put.body);
    assert_eq!(put.body["active"], true, "{:?}", put.body);
    assert!(active_changes(&app, &al).await.is_empty());

    // Removing it by PATCH unassigns it (RFC 7644 §3.5.2.2), which leaves the user active: a
    // suspended user is reactivated, and the history records the removal as it was asked.
    let removed = app
        .patch(
            &format!("/Users/{sue}"),
            json!([{"op": "remove", "path": "active"}]),
        )
        .await;
    assert_eq!(removed.status, 200, "{:?}", removed.body);
    assert!(removed.body.get("active").is_none(), "{:?}", removed.body);
    assert_eq!(
        active_changes(&app, &sue).await,
        [(json!(false), Value::Null)]
    );
    let actions: Vec<Value> = history_of(&app, &sue)
        .await
        .iter()
        .map(|entry| entry["action"].clone())
        .collect();
    assert_eq!(
        actions.last(),
        Some(&json!("UserReactivated")),
        "{actions:?}"
    );
    // A later deactivation is from active, as the user was.
    let off = app
        .patch(
            &format!("/Users/{sue}"),
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(off.body["active"], false, "{:?}", off.body);
    assert_eq!(
        active_changes(&app, &sue).await,
        [(json!(false), Value::Null), (json!(true), json!(false))]
    );
}

/// Appends event `sequence` of user `id` as an older scimd stored it, with the metadata of the
/// creation of `donor` (an instance, an actor), behind the projector's back.
async fn store_as_before(app: &TestApp, donor: &str, id: &str, sequence: i64, payload: Value) {
    let event_type = payload
        .as_object()
        .and_then(|tagged| tagged.keys().next().cloned())
        .unwrap_or_default();
    let payload_value = match app.store.db.dialect() {
        Dialect::Sqlite => "$4",
        Dialect::Postgres => "$4::jsonb",
    };
    let insert = Sql::new(format!(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                             payload, metadata)
         SELECT aggregate_type, $1, $2, $3, event_version, {payload_value}, metadata
           FROM events WHERE aggregate_id = $5 AND sequence = 1"
    ))
    .bind(id)
    .bind(sequence)
    .bind(event_type.as_str())
    .bind(payload.to_string())
    .bind(donor);
    app.store
        .db
        .execute(&insert)
        .await
        .expect("the log is writable");
}

/// A creation as scimd stored it before it recorded `active`.
fn created_without_active(user_name: &str) -> Value {
    let instance = DEFAULT_INSTANCE;
    json!({"UserCreated": {
        "instance_id": instance, "user_name": user_name, "external_id": null,
        "attributes": {"displayName": user_name}, "invitation_sent": false,
    }})
}

async fn users_stored_before_active_was_recorded_read_as_active(app: TestApp) {
    let donor = app.create_user("donor").await;
    let instance = admin::list_instances(&app.store)
        .await
        .expect("the instances read")
        .into_iter()
        .find(|instance| instance.name == DEFAULT_INSTANCE)
        .expect("the default instance")
        .id;
    let old_creation = |user_name: &str| {
        let mut created = created_without_active(user_name);
        created["UserCreated"]["instance_id"] = json!(instance);
        created
    };
    // One user as it was created, one suspended since, as the old shape recorded it.
    let (quiet, suspended) = (
        "11111111-1111-4111-8111-111111111111",
        "22222222-2222-4222-8222-222222222222",
    );
    store_as_before(&app, &donor, quiet, 1, old_creation("quiet")).await;
    store_as_before(&app, &donor, suspended, 1, old_creation("gone")).await;
    let off =
        json!({"UserUpdated": {"changes": [{"attribute": "active", "old": null, "new": false}]}});
    store_as_before(&app, &donor, suspended, 2, off).await;
    let suspension = json!({"UserSuspended": {"reason": "PATCH /Users/x: active set to false"}});
    store_as_before(&app, &donor, suspended, 3, suspension).await;
    admin::catch_up(&app.store)
        .await
        .expect("the projections apply them");

    let quiet_user = app.get(&format!("/Users/{quiet}")).await;
    assert_eq!(quiet_user.status, 200, "{:?}", quiet_user.body);
    assert_eq!(quiet_user.body["active"], true, "{:?}", quiet_user.body);
    assert_eq!(
        app.get(&format!("/Users/{suspended}")).await.body["active"],
        false
    );
    let mut active = found(&app, "active eq true").await;
    active.sort();
    let mut expected = vec![donor.clone(), quiet.to_string()];
    expected.sort();
    assert_eq!(active, expected);
    assert_eq!(active_at_creation(&app, quiet).await, true);
    assert_eq!(
        active_changes(&app, suspended).await,
        [(json!(true), json!(false))]
    );

    // The aggregate decides on what it reads: a deactivation is from true.
    let off = app
        .patch(
            &format!("/Users/{quiet}"),
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(off.status, 200, "{:?}", off.body);
    assert_eq!(
        active_changes(&app, quiet).await,
        [(json!(true), json!(false))]
    );

    // The stored events are untouched (the chain holds) and the read models are what the
    // events make them.
    let chains = admin::verify_chains(&app.store, Some(DEFAULT_INSTANCE))
        .await
        .expect("the chain is checked");
    assert!(
        chains[0].check.discrepancy.is_none(),
        "{:?}",
        chains[0].check
    );
    let report = admin::verify(&app.store, |_| {})
        .await
        .expect("verification runs");
    assert!(report.identical(), "{report:#?}");
}
