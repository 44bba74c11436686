//! A projector batch costs the same number of statements whatever the number of events in it:
//! the users' projections read what a batch needs once, fold its events, and write each table
//! once (on PostgreSQL, where each statement is a round trip). Applying the events again in
//! big batches leaves the tables row for row as the server's own batches left them.

use crate::common::projector_batches::{events, rebuild, rows, BatchCost};
use crate::common::{StoreKind, TestApp};
use crate::on_both_store_kinds;
use futures::stream::{self, StreamExt};
use projections::runner::Projection;
use projections::scim_users::ScimUsers;
use projections::user_emails::UserEmails;
use serde_json::{json, Value};
use std::sync::Arc;

/// The projector's batch size: a rebuild's first batch is this many events.
const BATCH: i64 = 500;
const REQUESTS_AT_ONCE: usize = 8;

fn user_projections() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(ScimUsers::default()),
        Arc::new(UserEmails::default()),
    ]
}

fn new_user(n: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("user{n}@example.com"),
        "externalId": format!("ext-{n}"),
        "displayName": format!("User {n}"),
        "emails": [{"value": format!("User{n}@Example.com"), "type": "work"}],
    })
}

async fn create_users(app: &TestApp, count: usize) -> Vec<String> {
    stream::iter(0..count)
        .map(|n| async move {
            let reply = app.post("/Users", new_user(n)).await;
            assert_eq!(reply.status, 201, "{:?}", reply.body);
            reply.id()
        })
        .buffered(REQUESTS_AT_ONCE)
        .collect()
        .await
}

async fn patch_users(app: &TestApp, ids: &[String]) {
    stream::iter(ids.iter().enumerate())
        .for_each_concurrent(REQUESTS_AT_ONCE, |(n, id)| async move {
            let operations = json!([
                {"op": "replace", "path": "displayName", "value": format!("Renamed {n}")},
                {"op": "replace", "path": "emails",
                 "value": [{"value": format!("new{n}@example.org")}]},
            ]);
            let reply = app.patch(&format!("/Users/{id}"), operations).await;
            assert_eq!(reply.status, 200, "{:?}", reply.body);
        })
        .await;
}

/// The users' tables, every column of every row.
async fn user_tables(app: &TestApp) -> Vec<Vec<String>> {
    let db = &app.store.db;
    vec![
        rows(
            db,
            "scim_users",
            &[
                "id",
                "instance_id",
                "user_name",
                "user_name_key",
                "external_id",
                "display_name",
                "display_name_key",
                "active",
                "attributes",
                "version",
                "created_position",
                "created_at",
                "last_modified",
            ],
            "id",
        )
        .await,
        rows(
            db,
            "scim_user_totals",
            &["instance_id", "total"],
            "instance_id",
        )
        .await,
        rows(
            db,
            "scim_user_emails",
            &["user_id", "instance_id", "email_key"],
            "user_id, email_key",
        )
        .await,
    ]
}

/// The users' projections rebuilt over what `app` wrote, checked to leave the tables as they
/// were: the cost of each batch.
async fn rebuilt(app: &TestApp) -> Vec<BatchCost> {
    let before = user_tables(app).await;
    let batches = rebuild(app, user_projections()).await;
    assert_eq!(
        user_tables(app).await,
        before,
        "the rebuild changed the tables"
    );
    batches
}

/// A create, and a PATCH of displayName, are each two events: the user's change, and the
/// application fields its mapping fills changing.
const EVENTS_PER_CHANGE: i64 = 2;

/// A batch of `count` creates (after the events that set the instance up).
async fn creates(kind: StoreKind, count: usize) -> BatchCost {
    let app = TestApp::spawn(kind).await;
    let setup = events(&app.store.db).await;
    create_users(&app, count).await;
    let written = setup + EVENTS_PER_CHANGE * count as i64;
    assert_eq!(events(&app.store.db).await, written);
    let batches = rebuilt(&app).await;
    assert_eq!(
        batches
            .iter()
            .map(|batch| batch.events as i64)
            .collect::<Vec<_>>(),
        [written]
    );
    batches[0]
}

/// A batch of `count` PATCHes of users created in the batch before it.
async fn patches(kind: StoreKind, count: usize) -> BatchCost {
    let app = TestApp::spawn(kind).await;
    let setup = events(&app.store.db).await;
    // Creates that fill the first batch exactly, so that the PATCHes make the second.
    assert_eq!(
        (BATCH - setup) % EVENTS_PER_CHANGE,
        0,
        "{setup} setup events"
    );
    let created = usize::try_from((BATCH - setup) / EVENTS_PER_CHANGE).unwrap_or(0);
    let ids = create_users(&app, created).await;
    assert_eq!(events(&app.store.db).await, BATCH);
    patch_users(&app, &ids[..count]).await;
    let batches = rebuilt(&app).await;
    assert_eq!(
        batches
            .iter()
            .map(|batch| batch.events as i64)
            .collect::<Vec<_>>(),
        [BATCH, EVENTS_PER_CHANGE * count as i64]
    );
    batches[1]
}

async fn a_batch_of_user_creates_costs_the_same_however_many(kind: StoreKind) {
    let (few, many) = (creates(kind, 10).await, creates(kind, 240).await);
    eprintln!("user creates: {few:?} and {many:?}");
    if kind == StoreKind::Postgres {
        assert_eq!(few.statements, many.statements);
    }
}

async fn a_batch_of_user_patches_costs_the_same_however_many(kind: StoreKind) {
    let (few, many) = (patches(kind, 10).await, patches(kind, 240).await);
    eprintln!("user PATCHes: {few:?} and {many:?}");
    if kind == StoreKind::Postgres {
        assert_eq!(few.statements, many.statements);
    }
}

on_both_store_kinds!(
    a_batch_of_user_creates_costs_the_same_however_many,
    a_batch_of_user_patches_costs_the_same_however_many
);
