//! Tamper evidence: each instance's events are hash-chained, and `audit verify` finds the first
//! event that was altered, removed, inserted or moved by writing to the database directly.

use crate::common::admin_api::{call, with_admin_api};
use crate::common::cli::{database_with_instance, open_store, run_cli};
use crate::common::{user, StoreKind, TestApp};
use crate::{on_both_store_kinds, on_both_stores, on_both_stores_with};
use projections::chain::audit::{ChainCheck, Tampering};
use projections::db::{Dialect, Sql};
use reqwest::Method;
use scimd::admin::{self, DEFAULT_INSTANCE};
use serde_json::{json, Value};

on_both_stores!(
    an_untouched_log_is_intact_and_its_head_moves_with_each_event,
    an_edited_payload_is_reported_as_altered_at_its_place,
    a_deleted_event_is_reported_as_removed,
    events_that_swapped_sequences_are_reported_as_reordered,
    events_that_swapped_places_are_reported_as_reordered,
    an_event_slipped_in_behind_the_seal_is_reported_as_inserted,
    a_rebuild_or_restart_does_not_seal_a_tampered_event_again,
    each_instance_has_its_own_chain,
    a_store_without_a_chain_is_sealed_from_its_first_event,
);

on_both_stores_with!(with_admin_api;
    a_recorded_head_is_checked_over_http_and_a_cut_off_log_is_found,
);

on_both_store_kinds!(
    the_cli_reports_the_chain_and_fails_when_it_is_broken,
    the_cli_checks_a_recorded_head_in_one_command,
);

async fn verify(app: &TestApp, instance: &str) -> ChainCheck {
    let mut found = admin::verify_chains(&app.store, Some(instance))
        .await
        .expect("the chain can be verified");
    assert_eq!(found.len(), 1);
    found.remove(0).check
}

/// Runs the edits in one transaction (so that the running projector never sees half of them),
/// then verifies the default instance's chain.
async fn tamper(app: &TestApp, edits: &[Sql]) -> ChainCheck {
    app.store
        .db
        .execute_all(edits.to_vec())
        .await
        .expect("the database accepts the edits");
    verify(app, DEFAULT_INSTANCE).await
}

async fn execute(app: &TestApp, sql: Sql) {
    let changed = app.store.db.execute(&sql).await.expect("the edit runs");
    assert!(changed > 0, "{sql:?} changed nothing");
}

/// Where the event stands in the global order, counting from 1: its place in the chain when
/// every event is the default instance's.
async fn place(app: &TestApp, aggregate_id: &str, sequence: i64) -> i64 {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Count {
        total: i64,
    }
    let text = match app.store.db.dialect() {
        Dialect::Sqlite => {
            "SELECT count(*) AS total FROM events WHERE position <=
               (SELECT position FROM events WHERE aggregate_id = $1 AND sequence = $2)"
        }
        Dialect::Postgres => {
            "SELECT count(*) AS total FROM events WHERE (transaction_id, position) <=
               (SELECT transaction_id, position FROM events
                 WHERE aggregate_id = $1 AND sequence = $2)"
        }
    };
    let count: Count = app
        .store
        .db
        .fetch_one(&Sql::new(text).bind(aggregate_id).bind(sequence))
        .await
        .expect("the events can be counted");
    count.total
}

/// Moves a user to another mail domain in the payload of one of its events, as someone with
/// write access to the database could; the event still reads, so a rebuild would take it.
pub fn edit_payload(dialect: Dialect, aggregate_id: &str, sequence: i64) -> Sql {
    let text = match dialect {
        Dialect::Sqlite => {
            "UPDATE events SET payload = replace(payload, 'corp.example', 'evil.example')
              WHERE aggregate_id = $1 AND sequence = $2 AND payload LIKE '%corp.example%'"
        }
        Dialect::Postgres => {
            "UPDATE events
                SET payload = replace(payload::text, 'corp.example', 'evil.example')::jsonb
              WHERE aggregate_id = $1 AND sequence = $2 AND payload::text LIKE '%corp.example%'"
        }
    };
    Sql::new(text).bind(aggregate_id).bind(sequence)
}

fn assert_found(check: &ChainCheck, kind: Tampering, chain_position: i64, aggregate_id: &str) {
    let found = check
        .discrepancy
        .as_ref()
        .unwrap_or_else(|| panic!("expected {kind:?}, the chain is intact: {check:?}"));
    assert_eq!(found.kind, kind, "{check:?}");
    assert_eq!(found.chain_position, chain_position, "{check:?}");
    let event = found.event.as_ref().expect("the event is named");
    assert_eq!(event.aggregate_id, aggregate_id, "{check:?}");
    assert_eq!(check.verified, chain_position - 1, "{check:?}");
}

/// The chain is intact and holds every event of the store (all the default instance's).
async fn assert_covers_every_event(app: &TestApp, check: &ChainCheck) {
    assert!(check.intact(), "{check:?}");
    let events = admin::event_count(&app.store)
        .await
        .expect("events are counted");
    assert_eq!(check.verified, events, "{check:?}");
}

/// Three users; alice also suspended, so that she has two events.
async fn three_users(app: &TestApp) -> (String, String, String) {
    let alice = app.create_user("alice@corp.example").await;
    let bob = app.create_user("bob@corp.example").await;
    let carol = app.create_user("carol@corp.example").await;
    let reply = app
        .patch(
            &format!("/Users/{alice}"),
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    (alice, bob, carol)
}

async fn an_untouched_log_is_intact_and_its_head_moves_with_each_event(app: TestApp) {
    three_users(&app).await;
    let check = verify(&app, DEFAULT_INSTANCE).await;
    assert_covers_every_event(&app, &check).await;
    // The head an auditor records is the stored hash of the last entry, to compare later.
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct Stored {
        hash: String,
    }
    let last = Sql::new(
        "SELECT hash FROM event_chain WHERE chain_position = $1 AND instance_id =
           (SELECT id FROM instances WHERE name = $2)",
    )
    .bind(check.verified)
    .bind(DEFAULT_INSTANCE);
    let stored: Stored = app.store.db.fetch_one(&last).await.expect("a last entry");
    assert_eq!(check.head.as_deref(), Some(stored.hash.as_str()));
    assert_eq!(
        verify(&app, DEFAULT_INSTANCE).await,
        check,
        "verifying changes nothing"
    );

    app.create_user("dave@corp.example").await;
    let later = verify(&app, DEFAULT_INSTANCE).await;
    assert!(later.intact(), "{later:?}");
    assert!(later.verified > check.verified);
    assert_ne!(later.head, check.head);
}

async fn an_edited_payload_is_reported_as_altered_at_its_place(app: TestApp) {
    let (_, bob, _) = three_users(&app).await;
    execute(&app, edit_payload(app.store.db.dialect(), &bob, 1)).await;
    let check = verify(&app, DEFAULT_INSTANCE).await;
    assert_found(&check, Tampering::Altered, place(&app, &bob, 1).await, &bob);
}

async fn a_deleted_event_is_reported_as_removed(app: TestApp) {
    let (_, bob, _) = three_users(&app).await;
    let bob_created = place(&app, &bob, 1).await;
    let delete = Sql::new("DELETE FROM events WHERE aggregate_id = $1 AND sequence = 1").bind(&bob);
    execute(&app, delete).await;
    let check = verify(&app, DEFAULT_INSTANCE).await;
    assert_found(&check, Tampering::Removed, bob_created, &bob);
}

async fn events_that_swapped_sequences_are_reported_as_reordered(app: TestApp) {
    let (alice, _, _) = three_users(&app).await;
    let alice_created = place(&app, &alice, 1).await;
    let renumber = |from: i64, to: i64| {
        Sql::new("UPDATE events SET sequence = $3 WHERE aggregate_id = $1 AND sequence = $2")
            .bind(&alice)
            .bind(from)
            .bind(to)
    };
    let check = tamper(
        &app,
        &[renumber(1, 1000), renumber(2, 1), renumber(1000, 2)],
    )
    .await;
    assert_found(&check, Tampering::Reordered, alice_created, &alice);
}

async fn events_that_swapped_places_are_reported_as_reordered(app: TestApp) {
    let (alice, bob, _) = three_users(&app).await;
    let alice_created = place(&app, &alice, 1).await;
    let statements = match app.store.db.dialect() {
        // Positions are unique: one moves out of the way first.
        Dialect::Sqlite => {
            let (at_alice, at_bob) = (position(&app, &alice).await, position(&app, &bob).await);
            let move_to = |id: &str, to: i64| {
                Sql::new("UPDATE events SET position = $2 WHERE aggregate_id = $1 AND sequence = 1")
                    .bind(id)
                    .bind(to)
            };
            vec![
                move_to(&alice, -1),
                move_to(&bob, at_alice),
                move_to(&alice, at_bob),
            ]
        }
        // PostgreSQL numbers positions itself (GENERATED ALWAYS), but the order it reads in is
        // led by the appending transaction's id, which can be written.
        Dialect::Postgres => vec![Sql::new(
            "UPDATE events SET transaction_id = CASE WHEN aggregate_id = $1
                    THEN (SELECT transaction_id FROM events WHERE aggregate_id = $2 AND sequence = 1)
                    ELSE (SELECT transaction_id FROM events WHERE aggregate_id = $1 AND sequence = 1)
                    END
              WHERE aggregate_id IN ($1, $2) AND sequence = 1",
        )
        .bind(&alice)
        .bind(&bob)],
    };
    let check = tamper(&app, &statements).await;
    assert_found(&check, Tampering::Reordered, alice_created, &alice);
}

/// The global position of a user's first event.
async fn position(app: &TestApp, aggregate_id: &str) -> i64 {
    #[derive(sqlx::FromRow, serde::Deserialize)]
    struct At {
        position: i64,
    }
    let sql = Sql::new("SELECT position FROM events WHERE aggregate_id = $1 AND sequence = 1")
        .bind(aggregate_id);
    let at: At = app
        .store
        .db
        .fetch_one(&sql)
        .await
        .expect("the event exists");
    at.position
}

async fn an_event_slipped_in_behind_the_seal_is_reported_as_inserted(app: TestApp) {
    let (_, bob, _) = three_users(&app).await;
    // A copy of bob's creation under a new sequence, placed where the sealer, which only reads
    // on from where it stands, never looks: before every event on SQLite, right after the
    // original on PostgreSQL.
    let statements = match app.store.db.dialect() {
        Dialect::Sqlite => vec![
            Sql::new(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type,
                                     event_version, payload, metadata)
                 SELECT aggregate_type, aggregate_id, 99, event_type, event_version, payload,
                        metadata
                   FROM events WHERE aggregate_id = $1 AND sequence = 1",
            )
            .bind(&bob),
            Sql::new("UPDATE events SET position = 0 WHERE aggregate_id = $1 AND sequence = 99")
                .bind(&bob),
        ],
        Dialect::Postgres => vec![Sql::new(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version,
                                 payload, metadata, transaction_id)
             SELECT aggregate_type, aggregate_id, 99, event_type, event_version, payload,
                    metadata, transaction_id
               FROM events WHERE aggregate_id = $1 AND sequence = 1",
        )
        .bind(&bob)],
    };
    let check = tamper(&app, &statements).await;
    assert_found(
        &check,
        Tampering::Inserted,
        place(&app, &bob, 99).await,
        &bob,
    );
    let event = check.discrepancy.and_then(|found| found.event);
    assert_eq!(event.map(|event| event.sequence), Some(99));
}

async fn a_rebuild_or_restart_does_not_seal_a_tampered_event_again(app: TestApp) {
    let (_, bob, _) = three_users(&app).await;
    execute(&app, edit_payload(app.store.db.dialect(), &bob, 1)).await;
    let before = verify(&app, DEFAULT_INSTANCE).await;
    admin::rebuild(&app.store, |_| {})
        .await
        .expect("the projections rebuild");
    assert_eq!(verify(&app, DEFAULT_INSTANCE).await, before);
    // A start prepares the projections; the chain is not one to empty.
    app.store
        .projector
        .prepare()
        .await
        .expect("the projections are prepared");
    let after = verify(&app, DEFAULT_INSTANCE).await;
    assert_found(&after, Tampering::Altered, place(&app, &bob, 1).await, &bob);
}

async fn each_instance_has_its_own_chain(app: TestApp) {
    let globex = app.key_for("globex", "globex-sync").await;
    let (_, bob, _) = three_users(&app).await;
    for name in ["gina@globex.example", "gus@globex.example"] {
        let reply = app
            .send(Method::POST, "/Users", Some(&globex), Some(&user(name)))
            .await;
        assert_eq!(reply.status, 201, "{:?}", reply.body);
    }
    execute(&app, edit_payload(app.store.db.dialect(), &bob, 1)).await;

    let all = admin::verify_chains(&app.store, None)
        .await
        .expect("every chain can be verified");
    let by_name = |name: &str| {
        all.iter()
            .find(|found| found.instance == name)
            .map(|found| found.check.clone())
            .unwrap_or_else(|| panic!("{name} is verified: {all:?}"))
    };
    let default = by_name(DEFAULT_INSTANCE);
    assert_eq!(
        default.discrepancy.map(|found| found.kind),
        Some(Tampering::Altered)
    );
    let globex_chain = by_name("globex");
    assert!(globex_chain.intact(), "{globex_chain:?}");
    assert!(globex_chain.verified >= 2, "{globex_chain:?}");
    assert_eq!(verify(&app, "globex").await, globex_chain);
    assert!(matches!(
        admin::verify_chains(&app.store, Some("nope")).await,
        Err(admin::AdminError::UnknownInstance(_))
    ));
}

async fn a_store_without_a_chain_is_sealed_from_its_first_event(app: TestApp) {
    three_users(&app).await;
    // Entries gone while the sealer's checkpoint says they were made: every event is missing.
    execute(&app, Sql::new("DELETE FROM event_chain")).await;
    let wiped = verify(&app, DEFAULT_INSTANCE).await;
    assert_eq!(
        wiped
            .discrepancy
            .map(|found| (found.kind, found.chain_position)),
        Some((Tampering::Inserted, 1))
    );

    // A store from before the chain existed has neither: the next start seals it all.
    execute(
        &app,
        Sql::new("DELETE FROM projection_checkpoints WHERE name = 'event_chain'"),
    )
    .await;
    app.store
        .projector
        .prepare()
        .await
        .expect("the projections are prepared");
    let sealed = verify(&app, DEFAULT_INSTANCE).await;
    assert_covers_every_event(&app, &sealed).await;
}

async fn the_cli_reports_the_chain_and_fails_when_it_is_broken(kind: StoreKind) {
    let (url, _dir) = database_with_instance(kind, "acme").await;
    for field in ["Country", "Region"] {
        let (ok, _, err) = run_cli(&url, &["fields", "add", "--instance", "acme", field]).await;
        assert!(ok, "{err}");
    }
    let (ok, out, err) = run_cli(&url, &["audit", "verify"]).await;
    assert!(ok, "{err}");
    let line = out.trim();
    assert!(
        // The instance's creation, then the two fields.
        line.starts_with("instance acme: 3 events, chain intact, head "),
        "{out}"
    );
    let head = line.rsplit(' ').next().unwrap_or_default().to_string();
    assert_eq!(head.len(), 64, "{out}");

    let store = open_store(&url).await;
    let text = match store.db.dialect() {
        Dialect::Sqlite => "UPDATE events SET payload = replace(payload, 'Region', 'Kingdom')",
        Dialect::Postgres => {
            "UPDATE events SET payload = replace(payload::text, 'Region', 'Kingdom')::jsonb"
        }
    };
    store
        .db
        .execute(&Sql::new(text))
        .await
        .expect("the payload is edited");
    store.db.close().await;

    let (ok, out, err) = run_cli(&url, &["audit", "verify", "--instance", "acme"]).await;
    assert!(!ok, "a broken chain fails the command: {out}");
    assert!(
        out.starts_with("instance acme: ALTERED at chain position 3 (global position "),
        "{out}"
    );
    assert!(err.contains("does not match its hash chain"), "{err}");
    let (ok, out, _) = run_cli(&url, &["--json", "audit", "verify"]).await;
    assert!(!ok);
    let report: Value = serde_json::from_str(&out).unwrap_or_default();
    assert_eq!(report[0]["instance"], "acme", "{out}");
    assert_eq!(report[0]["intact"], false, "{out}");
    assert_eq!(report[0]["discrepancy"]["kind"], "altered", "{out}");
    assert_eq!(report[0]["discrepancy"]["chainPosition"], 3, "{out}");
    assert_eq!(report[0]["discrepancy"]["event"]["sequence"], 3, "{out}");
    let (ok, _, err) = run_cli(&url, &["audit", "verify", "--instance", "nope"]).await;
    assert!(!ok);
    assert!(err.contains("no instance is named"), "{err}");
}

/// Removes the instance's last event together with its chain entry, as someone with write
/// access to the database could: what is left is an intact, shorter chain.
fn cut_off_last_event() -> Vec<Sql> {
    vec![
        Sql::new("DELETE FROM events WHERE position = (SELECT max(position) FROM events)"),
        Sql::new(
            "DELETE FROM event_chain WHERE chain_position =
               (SELECT max(chain_position) FROM event_chain)",
        ),
    ]
}

async fn audit_expecting(app: &TestApp, head: &str, count: i64) -> (u16, Value) {
    let path = format!("/instances/default/audit?expectHead={head}&atCount={count}");
    call(app, Method::GET, &path, None).await
}

/// The chain alone cannot show that its end was cut off (events and chain entries together);
/// a head recorded elsewhere can, and the admin API compares it in one request.
async fn a_recorded_head_is_checked_over_http_and_a_cut_off_log_is_found(app: TestApp) {
    three_users(&app).await;
    let recorded = verify(&app, DEFAULT_INSTANCE).await;
    let (head, count) = (recorded.head.clone().unwrap_or_default(), recorded.verified);

    let (status, report) = audit_expecting(&app, &head.to_uppercase(), count).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["expectedHead"]["matches"], true, "{report}");
    assert_eq!(report["expectedHead"]["found"], json!(head), "{report}");
    app.create_user("dave@corp.example").await;
    let (_, later) = audit_expecting(&app, &head, count).await;
    assert_eq!(
        later["expectedHead"]["matches"], true,
        "a later event changes no earlier entry: {later}"
    );
    let (_, elsewhere) = audit_expecting(&app, &head, count + 1).await;
    assert_eq!(elsewhere["expectedHead"]["matches"], false, "{elsewhere}");
    assert_ne!(
        elsewhere["expectedHead"]["found"],
        json!(head),
        "{elsewhere}"
    );
    let last = verify(&app, DEFAULT_INSTANCE).await;

    app.store
        .db
        .execute_all(cut_off_last_event())
        .await
        .expect("the database accepts the edits");
    let (_, plain) = call(&app, Method::GET, "/instances/default/audit", None).await;
    assert_eq!(
        plain["intact"], true,
        "the chain alone cannot tell: {plain}"
    );
    let last_head = last.head.unwrap_or_default();
    let (status, cut) = audit_expecting(&app, &last_head, last.verified).await;
    assert_eq!(status, 200, "{cut}");
    assert_eq!(cut["expectedHead"]["matches"], false, "{cut}");
    assert_eq!(cut["expectedHead"]["found"], Value::Null, "{cut}");
    let detail = cut["expectedHead"]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(&format!("holds only {} events", last.verified - 1)),
        "{detail}"
    );

    for query in [
        format!("expectHead={head}"),
        format!("atCount={count}"),
        format!("expectHead=zz&atCount={count}"),
        format!("expectHead={head}&atCount=-1"),
    ] {
        let path = format!("/instances/default/audit?{query}");
        let (status, refused) = call(&app, Method::GET, &path, None).await;
        assert_eq!(status, 400, "{query}: {refused}");
    }
}

async fn the_cli_checks_a_recorded_head_in_one_command(kind: StoreKind) {
    let (url, _dir) = database_with_instance(kind, "acme").await;
    let add_field = |field: &'static str| {
        let url = url.clone();
        async move {
            let (ok, _, err) = run_cli(&url, &["fields", "add", "--instance", "acme", field]).await;
            assert!(ok, "{err}");
        }
    };
    add_field("Country").await;
    add_field("Region").await;
    let (ok, out, err) = run_cli(&url, &["audit", "verify", "--instance", "acme"]).await;
    assert!(ok, "{err}");
    let recorded = out
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    add_field("City").await;
    let expecting = |head: String, count: &'static str| {
        let url = url.clone();
        async move {
            let args = [
                "audit",
                "verify",
                "--instance",
                "acme",
                "--expect-head",
                &head,
            ];
            run_cli(&url, &[&args[..], &["--at-count", count]].concat()).await
        }
    };

    // The instance's creation and two fields: three events.
    let (ok, out, err) = expecting(recorded.clone(), "3").await;
    assert!(ok, "{out}{err}");
    assert!(
        out.contains(&format!(
            "instance acme: entry 3 of the chain has the expected head {recorded}"
        )),
        "{out}"
    );
    let (ok, out, err) = expecting(recorded.clone(), "4").await;
    assert!(!ok, "{out}");
    assert!(out.contains("entry 4 of the chain is "), "{out}");
    assert!(
        err.contains(&format!("not the expected head {recorded}")),
        "{err}"
    );
    let (ok, out, err) = expecting(recorded.clone(), "5").await;
    assert!(!ok, "{out}");
    assert!(
        err.contains("holds only 4 events, fewer than the 5"),
        "{err}"
    );

    let (ok, out, _) = run_cli(
        &url,
        &[
            "--json",
            "audit",
            "verify",
            "--instance",
            "acme",
            "--expect-head",
            &recorded,
            "--at-count",
            "3",
        ],
    )
    .await;
    assert!(ok, "{out}");
    let report: Value = serde_json::from_str(&out).unwrap_or_default();
    assert_eq!(report[0]["expectedHead"]["matches"], true, "{out}");
    assert_eq!(report[0]["expectedHead"]["atCount"], 3, "{out}");

    let (ok, _, err) = expecting("not-a-hash".to_string(), "2").await;
    assert!(!ok);
    assert!(err.contains("is not a head hash"), "{err}");
    let (ok, _, err) = run_cli(&url, &["audit", "verify", "--expect-head", &recorded]).await;
    assert!(!ok, "a head without its count or instance is refused");
    assert!(err.contains("--at-count"), "{err}");
}
