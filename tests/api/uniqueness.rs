//! Names that must be unique: a userName across every instance of the deployment, a group's
//! displayName within its instance; and races for either.

use crate::common::stuck::stick_read_model;
use crate::common::{user, StoreKind, TestApp};
use crate::{on_both_store_kinds, on_both_stores};
use futures::future::join_all;
use projections::db::Sql;
use projections::metadata::timestamp;
use reqwest::Method;
use scimd::startup::ServerSettings;
use serde_json::{json, Value};

on_both_stores!(
    a_user_name_of_another_instance_is_a_conflict_that_names_no_instance,
    user_names_clash_without_regard_to_case,
    concurrent_creates_of_one_user_name_give_exactly_one_user,
    renaming_onto_a_taken_user_name_is_refused_and_renames_free_the_old_name,
    group_names_are_unique_per_instance,
    concurrent_creates_of_one_group_name_give_exactly_one_group,
    a_claim_left_by_an_interrupted_create_is_taken_over_once_old,
);
on_both_store_kinds!(
    the_sweep_frees_only_names_the_event_log_shows_unused,
    a_claim_left_by_a_dead_process_is_taken_over_within_the_grace,
);

async fn a_user_name_of_another_instance_is_a_conflict_that_names_no_instance(app: TestApp) {
    let other = app.key_for("acme-secret-tenant", "okta").await;
    let first = app
        .send(
            Method::POST,
            "/Users",
            Some(&other),
            Some(&user("pat@corp.example")),
        )
        .await;
    assert_eq!(first.status, 201);
    let clash = app.post("/Users", user("pat@corp.example")).await;
    assert_eq!(clash.status, 409);
    assert_eq!(clash.body["scimType"], "uniqueness");
    let detail = clash.body["detail"].as_str().unwrap_or_default();
    assert!(!detail.contains("acme"), "{detail}");
    assert!(!detail.contains(&first.id()), "{detail}");
}

async fn user_names_clash_without_regard_to_case(app: TestApp) {
    app.create_user("Quinn@Corp.Example").await;
    let clash = app.post("/Users", user("quinn@corp.EXAMPLE")).await;
    assert_eq!(clash.status, 409);
}

async fn concurrent_creates_of_one_user_name_give_exactly_one_user(app: TestApp) {
    let attempts = (0..20).map(|n| {
        let body = user(if n % 2 == 0 {
            "race@corp.example"
        } else {
            "RACE@corp.example"
        });
        let app = &app;
        async move { app.post("/Users", body).await.status }
    });
    let mut statuses = join_all(attempts).await;
    statuses.sort();
    assert_eq!(
        statuses.iter().filter(|status| **status == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|status| *status == 201 || *status == 409),
        "{statuses:?}"
    );
    let listed = app.get("/Users").await;
    assert_eq!(listed.body["totalResults"], 1);
}

async fn renaming_onto_a_taken_user_name_is_refused_and_renames_free_the_old_name(app: TestApp) {
    let rita = app.create_user("rita").await;
    app.create_user("sam").await;
    let clash = app.put(&format!("/Users/{rita}"), user("SAM")).await;
    assert_eq!(clash.status, 409);
    assert_eq!(clash.body["scimType"], "uniqueness");
    assert_eq!(
        app.get(&format!("/Users/{rita}")).await.body["userName"],
        "rita"
    );
    let renamed = app
        .patch(
            &format!("/Users/{rita}"),
            json!([{"op": "replace", "path": "userName", "value": "rita.new"}]),
        )
        .await;
    assert_eq!(renamed.status, 200);
    assert_eq!(renamed.body["userName"], "rita.new");
    assert_eq!(app.post("/Users", user("rita")).await.status, 201);
    assert_eq!(app.post("/Users", user("Rita.New")).await.status, 409);
}

async fn group_names_are_unique_per_instance(app: TestApp) {
    app.create_group("Admins", &[]).await;
    let clash = app.post("/Groups", json!({"displayName": "ADMINS"})).await;
    assert_eq!(clash.status, 409);
    assert_eq!(clash.body["scimType"], "uniqueness");
    let other = app.key_for("other", "entra").await;
    let elsewhere = app
        .send(
            Method::POST,
            "/Groups",
            Some(&other),
            Some(&json!({"displayName": "Admins"})),
        )
        .await;
    assert_eq!(elsewhere.status, 201);
}

async fn concurrent_creates_of_one_group_name_give_exactly_one_group(app: TestApp) {
    let attempts = (0..12).map(|_| {
        let app = &app;
        async move {
            app.post("/Groups", json!({"displayName": "Racers"}))
                .await
                .status
        }
    });
    let statuses = join_all(attempts).await;
    assert_eq!(
        statuses.iter().filter(|status| **status == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(app.get("/Groups").await.body["totalResults"], 1);
}

/// A create cut off between reserving its name and storing its first event (a crash, a killed
/// request) leaves a claim whose owner never existed. Once older than any request can take, the
/// IdP's retry takes it over; a younger one may be a create still running, and a claim whose
/// owner exists is never taken, however old.
async fn a_claim_left_by_an_interrupted_create_is_taken_over_once_old(app: TestApp) {
    let holder = app.create_user("holder@corp.example").await;
    let group = app.create_group("Holders", &[]).await;
    let long_ago = "2020-01-01T00:00:00.000000Z";
    let just_now = timestamp(chrono::Utc::now());
    let orphan = |table: &str, key: &str, owner: &str, claimed_at: &str| {
        let (key_column, owner_column) = match table {
            "user_name_claims" => ("user_name_key", "user_id"),
            _ => ("display_name_key", "group_id"),
        };
        Sql::new(format!(
            "INSERT INTO {table} ({key_column}, instance_id, {owner_column}, claimed_at)
             SELECT $1, instance_id, $2, $3 FROM {table} LIMIT 1"
        ))
        .bind(key.to_string())
        .bind(owner.to_string())
        .bind(claimed_at.to_string())
    };
    let db = &app.store.db;
    let statements = [
        orphan(
            "user_name_claims",
            "lost@corp.example",
            "never-created-1",
            long_ago,
        ),
        orphan(
            "user_name_claims",
            "running@corp.example",
            "never-created-2",
            &just_now,
        ),
        orphan(
            "group_name_claims",
            "lost group",
            "never-created-3",
            long_ago,
        ),
        Sql::new("UPDATE user_name_claims SET claimed_at = $1 WHERE user_id = $2")
            .bind(long_ago.to_string())
            .bind(holder.clone()),
        Sql::new("UPDATE group_name_claims SET claimed_at = $1 WHERE group_id = $2")
            .bind(long_ago.to_string())
            .bind(group.clone()),
    ];
    for statement in &statements {
        assert_eq!(
            db.execute(statement)
                .await
                .expect("the claims table is writable"),
            1
        );
    }

    let retried = app.post("/Users", user("Lost@corp.example")).await;
    assert_eq!(retried.status, 201, "{:?}", retried.body);
    let retried = app
        .post("/Groups", json!({"displayName": "Lost Group"}))
        .await;
    assert_eq!(retried.status, 201, "{:?}", retried.body);
    for (path, body) in [
        ("/Users", user("running@corp.example")),
        ("/Users", user("holder@corp.example")),
        ("/Groups", json!({"displayName": "Holders"})),
    ] {
        let refused = app.post(path, body.clone()).await;
        assert_eq!(refused.status, 409, "{body}: {:?}", refused.body);
    }
}

/// The periodic sweep of name claims, run as if every claim were old. A claim for the old name
/// of a rename whose release was lost is freed. But a read model that lags (a stuck projector)
/// or is empty (a rebuild, or a replica rebuilding for a new projection version) shows live
/// users and groups without their names: their claims must stay, or a second create of the
/// name would succeed.
async fn the_sweep_frees_only_names_the_event_log_shows_unused(kind: StoreKind) {
    let wait = std::time::Duration::from_millis(300);
    let app = TestApp::spawn_waiting(kind, ServerSettings::default(), wait).await;
    let every_claim = "9999-12-31T00:00:00.000000Z";
    let renamed = app.create_user("before@corp.example").await;
    let patch = json!([{"op": "replace", "path": "userName", "value": "after@corp.example"}]);
    let reply = app.patch(&format!("/Users/{renamed}"), patch).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let lost_release = Sql::new(
        "INSERT INTO user_name_claims (user_name_key, instance_id, user_id, claimed_at)
         SELECT 'before@corp.example', instance_id, user_id, claimed_at
           FROM user_name_claims WHERE user_id = $1",
    )
    .bind(renamed.clone());
    let db = &app.store.db;
    db.execute(&lost_release).await.expect("a claim is added");
    let removed = app.store.claims.reconcile(every_claim).await;
    assert_eq!(removed.expect("the sweep runs"), 1);
    app.create_user("before@corp.example").await;
    app.create_group("Holders", &[]).await;

    stick_read_model(&app).await;
    let committed = app.post("/Users", user("committed@corp.example")).await;
    assert_eq!(committed.status, 201, "{:?}", committed.body);
    app.store
        .projector
        .reset()
        .await
        .expect("the read model is emptied for a rebuild");
    let removed = app.store.claims.reconcile(every_claim).await;
    assert_eq!(removed.expect("the sweep runs"), 0);
    for (path, body) in [
        ("/Users", user("committed@corp.example")),
        ("/Users", user("after@corp.example")),
        ("/Users", user("before@corp.example")),
        ("/Groups", json!({"displayName": "Holders"})),
    ] {
        let refused = app.post(path, body.clone()).await;
        assert_eq!(refused.status, 409, "{body}: {:?}", refused.body);
    }
}

/// A process that dies mid-create (SIGKILL, OOM) leaves a claim whose owner has no event and
/// that nobody renews any more. Live requests renew their claims every quarter of the grace,
/// so the grace can be short: the IdP's retry half a minute later succeeds, where it was
/// refused for two minutes. A claim renewed moments ago may be a create still running.
async fn a_claim_left_by_a_dead_process_is_taken_over_within_the_grace(kind: StoreKind) {
    let app = TestApp::spawn(kind).await;
    let holder = app.create_user("holder@corp.example").await;
    let now = chrono::Utc::now();
    let minute_ago = timestamp(now - chrono::Duration::seconds(60));
    let moments_ago = timestamp(now - chrono::Duration::seconds(2));
    for (key, owner, renewed_at) in [
        ("killed@corp.example", "never-created-1", &minute_ago),
        ("running@corp.example", "never-created-2", &moments_ago),
    ] {
        let orphan = Sql::new(
            "INSERT INTO user_name_claims (user_name_key, instance_id, user_id, claimed_at)
             SELECT $1, instance_id, $2, $3 FROM user_name_claims WHERE user_id = $4",
        )
        .bind(key)
        .bind(owner)
        .bind(renewed_at.as_str())
        .bind(holder.as_str());
        let added = app.store.db.execute(&orphan).await;
        assert_eq!(added.expect("the claims table is writable"), 1);
    }
    let retried = app.post("/Users", user("killed@corp.example")).await;
    assert_eq!(retried.status, 201, "{:?}", retried.body);
    let refused = app.post("/Users", user("running@corp.example")).await;
    assert_eq!(refused.status, 409, "{:?}", refused.body);
}

/// A create cut off by the request timeout (as by a client hanging up) while its command
/// waits for the database: it goes on as a task of its own, holding its name however long
/// the wait, so a second create of the name is refused rather than taking the claim over (and
/// both committing); once the database lets it, the first create finishes, so the name is
/// held by a user that exists, not by a reservation that nothing will ever use. PostgreSQL
/// only: it is where a command can be held up after its reservation; SQLite's one writer
/// would hold the reservation up too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_cut_off_mid_flight_finishes_and_keeps_its_name_meanwhile() {
    let mut settings = ServerSettings::default();
    settings.limits.request_timeout = std::time::Duration::from_secs(1);
    settings.claim_grace = std::time::Duration::from_secs(2);
    let app = TestApp::spawn_with(StoreKind::Postgres, settings).await;
    let mut held = app.store.db.begin_write().await.expect("a transaction");
    held.execute(&Sql::new("LOCK TABLE events IN EXCLUSIVE MODE"))
        .await
        .expect("the events are locked");
    let cut_off = app.post("/Users", user("cut@corp.example")).await;
    assert_eq!(cut_off.status, 503, "{:?}", cut_off.body);
    // Well past the grace: only renewals keep the claim.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let second = app.post("/Users", user("cut@corp.example")).await;
    assert_eq!(second.status, 409, "{:?}", second.body);
    held.commit().await.expect("the events are unlocked");

    let filter = crate::common::encode("userName eq \"cut@corp.example\"");
    let mut found = Value::Null;
    for _ in 0..300 {
        found = app.get(&format!("/Users?filter={filter}")).await.body;
        if found["totalResults"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(found["totalResults"], 1, "{found:?}");
}
