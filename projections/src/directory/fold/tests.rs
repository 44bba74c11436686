use super::*;
use crate::test_log::{at, TestLog, INSTANCE};
use aggregates::attributes::{AttributeChange, Attributes};
use aggregates::settings::mapping::FieldChange;
use aggregates::user::UserName;
use aggregates::values::InstanceId;
use serde_json::json;

fn user(event: UserEvent) -> DomainEvent {
    DomainEvent::User(event)
}

fn created(user_name: &str, active: bool) -> DomainEvent {
    let attributes = match json!({"active": active}) {
        Value::Object(map) => Attributes::new(map),
        _ => Attributes::default(),
    };
    user(UserEvent::UserCreated {
        instance_id: InstanceId::new(INSTANCE),
        user_name: UserName::parse(user_name).unwrap_or_else(|error| panic!("{error}")),
        external_id: None,
        attributes,
        invitation_sent: false,
    })
}

fn imported(user_name: &str) -> DomainEvent {
    user(UserEvent::UserImported {
        instance_id: InstanceId::new(INSTANCE),
        user_name: UserName::parse(user_name).unwrap_or_else(|error| panic!("{error}")),
        external_id: None,
        attributes: Attributes::default(),
    })
}

fn renamed(old: &str, new: &str) -> DomainEvent {
    user(UserEvent::UserUpdated {
        changes: vec![AttributeChange::whole(
            "userName",
            Some(json!(old)),
            Some(json!(new)),
        )],
    })
}

fn mapped(changes: &[(&str, Option<&str>)]) -> DomainEvent {
    user(UserEvent::UserMapped {
        changes: changes
            .iter()
            .map(|(field, new)| FieldChange {
                field: field.to_string(),
                old: None,
                new: new.map(str::to_string),
            })
            .collect(),
    })
}

fn row(id: &str, user_name: &str) -> AppUserRow {
    AppUserRow {
        id: id.into(),
        instance_id: INSTANCE.into(),
        user_name: user_name.into(),
        user_name_key: user_name.to_lowercase(),
        fields: r#"{"Department":"Sales","Email":"a@example.com"}"#.into(),
        state: ACTIVE.into(),
        managed: true,
        manager_reference: Some("Boss".into()),
        manager_reference_key: Some("boss".into()),
        manager_id: None,
        updated_at: "2026-01-01T00:00:00.000000Z".into(),
    }
}

/// Folds `batch` over `given` (each user's row before it: those it needs and has no row for
/// are given as absent), as the projection does.
fn fold(given: &[AppUserRow], batch: &[RecordedEvent]) -> Result<FoldedRows, String> {
    let mut fold = DirectoryFold::default();
    for id in rows_needed(batch) {
        let row = given.iter().find(|row| row.id == id).cloned();
        fold.given(&id, row);
    }
    for recorded in batch {
        fold.apply(recorded).map_err(|error| error.to_string())?;
    }
    Ok(fold.finish())
}

fn sorted(mut rows: Vec<AppUserRow>) -> Vec<AppUserRow> {
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    rows
}

#[test]
fn a_user_changed_many_times_in_a_batch_is_one_row_as_its_last_event_left_it() {
    let mut log = TestLog::default();
    log.push("u1", created("ann", true))
        .push(
            "u1",
            mapped(&[("Email", Some("ann@example.com")), ("Title", Some("Eng"))]),
        )
        .push("u1", renamed("ann", "Ann.Lee"))
        .push("u1", mapped(&[("Title", None), ("Phone", Some("1"))]))
        .push(
            "u1",
            user(UserEvent::ManagerPending {
                reference: "Boss".into(),
            }),
        )
        .push("u1", user(UserEvent::UserSuspended { reason: None }));

    assert_eq!(rows_needed(log.events()), BTreeSet::new());
    let folded = fold(&[], log.events()).expect("the batch folds");

    assert_eq!(
        folded.changed,
        vec![AppUserRow {
            id: "u1".into(),
            instance_id: INSTANCE.into(),
            user_name: "Ann.Lee".into(),
            user_name_key: "ann.lee".into(),
            fields: r#"{"Email":"ann@example.com","Phone":"1"}"#.into(),
            state: SUSPENDED.into(),
            managed: true,
            manager_reference: Some("Boss".into()),
            manager_reference_key: Some("boss".into()),
            manager_id: None,
            updated_at: at(6),
        }]
    );
    assert_eq!(folded.known, folded.changed);
}

#[test]
fn rows_the_batch_did_not_create_are_needed_and_changed_from_what_they_were() {
    let mut log = TestLog::default();
    log.push("u1", mapped(&[("Department", Some("Ops"))]))
        .push("u2", created("bob", false))
        .push("u2", user(UserEvent::UserReactivated { reason: None }))
        .push(
            "u1",
            user(UserEvent::ManagerLinked {
                reference: "Boss".into(),
                manager_id: "u9".into(),
            }),
        )
        .push("u3", imported("carl"))
        .push("u4", user(UserEvent::UserAdopted))
        .push(
            "u4",
            user(UserEvent::ManagerUnlinked {
                reference: "Boss".into(),
            }),
        )
        .push("u4", user(UserEvent::UserDeleted { reason: None }));

    assert_eq!(
        rows_needed(log.events()),
        BTreeSet::from(["u1".to_string(), "u4".to_string()])
    );
    let mut imported_before = row("u4", "dan");
    imported_before.managed = false;
    let folded = fold(&[row("u1", "ann"), imported_before], log.events()).expect("folds");

    let mut ann = row("u1", "ann");
    ann.fields = r#"{"Department":"Ops","Email":"a@example.com"}"#.into();
    ann.manager_id = Some("u9".into());
    ann.updated_at = at(4);
    let mut dan = row("u4", "dan");
    dan.manager_reference = None;
    dan.manager_reference_key = None;
    dan.state = DELETED.into();
    dan.updated_at = at(8);
    let changed: Vec<(String, String, bool, String)> = folded
        .changed
        .iter()
        .map(|row| {
            (
                row.id.clone(),
                row.state.clone(),
                row.managed,
                row.updated_at.clone(),
            )
        })
        .collect();
    assert_eq!(
        changed,
        vec![
            ("u1".into(), ACTIVE.into(), true, at(4)),
            ("u2".into(), ACTIVE.into(), true, at(3)),
            ("u3".into(), ACTIVE.into(), false, at(5)),
            ("u4".into(), DELETED.into(), true, at(8)),
        ]
    );
    assert_eq!(folded.changed[0], ann);
    assert_eq!(folded.changed[3], dan);
}

#[test]
fn an_event_without_a_row_changes_nothing_but_a_mapping_change_cannot_be_applied() {
    let mut log = TestLog::default();
    log.push("gone", user(UserEvent::UserSuspended { reason: None }))
        .push("gone", renamed("x", "y"))
        .push("u1", renamed("ann", "ann"));
    let folded = fold(&[], log.events()).expect("folds");
    assert_eq!(folded, FoldedRows::default());

    log.push("gone", mapped(&[("Email", Some("x@example.com"))]));
    let failed = fold(&[], log.events());
    assert!(
        failed
            .as_ref()
            .is_err_and(|error| error.contains("directory has no row for user gone")),
        "{failed:?}"
    );
}

#[test]
fn an_update_that_does_not_rename_leaves_the_row_unwritten() {
    let mut log = TestLog::default();
    log.push(
        "u1",
        user(UserEvent::UserUpdated {
            changes: vec![AttributeChange::whole(
                "displayName",
                Some(json!("A")),
                Some(json!("B")),
            )],
        }),
    );
    let folded = fold(&[row("u1", "ann")], log.events()).expect("folds");
    assert!(folded.changed.is_empty());
    assert_eq!(folded.known, vec![row("u1", "ann")]);
}

/// However a log is cut into batches, the rows come out the same: each batch starts from what
/// the ones before it left.
#[test]
fn the_rows_do_not_depend_on_where_batches_end() {
    let mut log = TestLog::default();
    log.push("u1", created("ann", true))
        .push("u2", imported("bob"))
        .push("u1", mapped(&[("Email", Some("a@example.com"))]))
        .push("u2", user(UserEvent::UserAdopted))
        .push(
            "u1",
            user(UserEvent::ManagerPending {
                reference: "bob".into(),
            }),
        )
        .push(
            "u1",
            user(UserEvent::ManagerLinked {
                reference: "bob".into(),
                manager_id: "u2".into(),
            }),
        )
        .push("u2", mapped(&[("Title", Some("Boss"))]))
        .push("u1", renamed("ann", "anna"))
        .push("u2", user(UserEvent::UserSuspended { reason: None }))
        .push("u1", mapped(&[("Email", None)]))
        .push("u2", user(UserEvent::UserDeleted { reason: None }));
    let whole = fold(&[], log.events()).expect("folds");
    assert_eq!(whole.changed.len(), 2);

    for cut in 1..=log.events().len() {
        let (first, second) = log.events().split_at(cut);
        let before = fold(&[], first).expect("the first batch folds");
        let after = fold(&before.known, second).expect("the second batch folds");
        let mut rows: HashMap<String, AppUserRow> = HashMap::new();
        for row in before.changed.into_iter().chain(after.changed) {
            rows.insert(row.id.clone(), row);
        }
        assert_eq!(
            sorted(rows.into_values().collect()),
            whole.changed,
            "cut after {cut} events"
        );
    }
}
