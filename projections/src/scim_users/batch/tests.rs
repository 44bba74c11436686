use super::*;
use crate::event_log::Position;
use crate::metadata::EventMetadata;
use crate::scim_users::user_row_change;
use aggregates::attributes::{AttributeChange, Attributes};
use aggregates::user::UserName;
use aggregates::values::InstanceId;
use serde_json::json;

fn recorded(id: &str, sequence: i64, event: UserEvent) -> RecordedEvent {
    RecordedEvent {
        position: Position {
            transaction_id: 0,
            position: sequence,
        },
        aggregate_type: "User".into(),
        aggregate_id: id.into(),
        sequence,
        event: DomainEvent::User(event),
        metadata: EventMetadata {
            instance_id: "i1".into(),
            actor: "okta".into(),
            key_id: None,
            correlation_id: "c".into(),
            user_agent: None,
            source: "scim".into(),
            occurred_at: format!("2026-01-31T12:00:{sequence:02}.000000Z"),
        },
        content_digest: [0; 32],
    }
}

fn created(user_name: &str) -> UserEvent {
    let mut attributes = Attributes::default();
    attributes.apply(&AttributeChange::whole(
        "displayName",
        None,
        Some(json!("Ada")),
    ));
    UserEvent::UserCreated {
        instance_id: InstanceId::new("i1"),
        user_name: UserName::parse(user_name).unwrap_or_else(|error| panic!("{error}")),
        external_id: None,
        attributes,
        invitation_sent: false,
    }
}

fn renamed(name: &str) -> UserEvent {
    UserEvent::UserUpdated {
        changes: vec![AttributeChange::whole(
            "displayName",
            None,
            Some(json!(name)),
        )],
    }
}

fn stored(id: &str) -> UserRecord {
    UserRecord {
        id: id.into(),
        instance_id: "i1".into(),
        user_name: "stored".into(),
        external_id: None,
        active: None,
        attributes: "{}".into(),
        version: 1,
        created_position: 1,
        created_at: "2026-01-01T00:00:00.000000Z".into(),
        last_modified: "2026-01-01T00:00:00.000000Z".into(),
    }
}

/// Folds `events` as a batch does, with `stored` the rows the store holds.
fn fold(events: &[RecordedEvent], stored: Vec<UserRecord>) -> Result<Batch, MissingUserRow> {
    let mut batch = Batch::default();
    let unread = batch.unread(events);
    let stored = stored
        .into_iter()
        .filter(|row| unread.contains(&row.id))
        .collect();
    batch.read(unread, stored);
    for event in events {
        let DomainEvent::User(user_event) = &event.event else {
            continue;
        };
        batch.apply(event, user_row_change(event, user_event))?;
    }
    Ok(batch)
}

#[test]
fn only_users_the_batch_did_not_create_are_read() {
    let events = [
        recorded("new", 1, created("new")),
        recorded("new", 2, renamed("Bea")),
        recorded("old", 3, renamed("Cy")),
        recorded("old", 4, UserEvent::UserAdopted),
    ];
    assert_eq!(Batch::default().unread(&events), ["old"]);
}

#[test]
fn a_user_changed_many_times_is_written_once_as_the_batch_leaves_it() {
    let events = [
        recorded("new", 1, created("new")),
        recorded("new", 2, renamed("Bea")),
        recorded("new", 3, UserEvent::UserAdopted),
        recorded("old", 4, renamed("Cy")),
    ];
    let statements = fold(&events, vec![stored("old")])
        .map(|batch| batch.statements(Dialect::Postgres))
        .unwrap_or_default();
    // The upsert of both rows, and the totals: nothing deleted.
    assert_eq!(statements.len(), 2);
    let args = statements[0].args();
    assert_eq!(
        args[0],
        SqlArg::Texts(vec![Some("new".into()), Some("old".into())])
    );
    assert_eq!(
        args[5],
        SqlArg::Texts(vec![Some("Bea".into()), Some("Cy".into())])
    );
    assert_eq!(args[9], SqlArg::Ints(vec![Some(3), Some(4)]));
    assert_eq!(
        statements[1].args(),
        [
            SqlArg::Texts(vec![Some("i1".into())]),
            SqlArg::Ints(vec![Some(1)])
        ]
    );
}

#[test]
fn a_user_created_and_deleted_in_one_batch_is_never_written_but_counted() {
    let events = [
        recorded("gone", 1, created("gone")),
        recorded("gone", 2, UserEvent::UserDeleted { reason: None }),
        recorded("old", 3, UserEvent::UserDeleted { reason: None }),
        recorded("absent", 4, UserEvent::UserAdopted),
    ];
    let statements = fold(&events, vec![stored("old")])
        .map(|batch| batch.statements(Dialect::Sqlite))
        .unwrap_or_default();
    let texts: Vec<&str> = statements.iter().map(Sql::text).collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts[0].starts_with("DELETE FROM scim_users"));
    assert_eq!(statements[0].args(), [SqlArg::from("old")]);
    // One created, two deleted: the instance's total moves by -1.
    assert_eq!(
        statements[1].args(),
        [SqlArg::from("i1"), SqlArg::from(-1i64)]
    );
}

#[test]
fn an_edit_of_a_user_without_a_row_is_refused() {
    let events = [recorded("absent", 1, renamed("Cy"))];
    assert!(matches!(fold(&events, vec![]), Err(MissingUserRow)));
}
