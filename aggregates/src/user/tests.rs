//! Given events, when a command, then events (or a typed error).

use super::*;
use crate::settings::mapping::{default_mapping, filled_fields, FieldChange};
use cqrs_es::test::TestFramework;
use serde_json::json;

type UserTest = TestFramework<User>;

fn instance() -> InstanceId {
    InstanceId::new("instance-a")
}

fn attributes(value: Value) -> Attributes {
    match value {
        Value::Object(map) => Attributes::new(map),
        _ => Attributes::default(),
    }
}

fn profile(user_name: &str, attrs: Value) -> UserProfile {
    UserProfile {
        user_name: UserName::parse(user_name).expect("valid test userName"),
        external_id: None,
        attributes: attributes(attrs),
    }
}

fn created(user_name: &str, attrs: Value) -> UserEvent {
    UserEvent::UserCreated {
        instance_id: instance(),
        user_name: UserName::parse(user_name).expect("valid test userName"),
        external_id: None,
        attributes: attributes(attrs),
        invitation_sent: false,
    }
}

/// The request the commands of these tests come from.
const CAUSE: &str = "PATCH /Users/u1";
const DELETE: &str = "DELETE /Users/u1";

fn suspended() -> UserEvent {
    UserEvent::UserSuspended {
        reason: Some(format!("{CAUSE}: active set to false")),
    }
}

fn reactivated() -> UserEvent {
    UserEvent::UserReactivated {
        reason: Some(format!("{CAUSE}: active no longer false")),
    }
}

fn deleted() -> UserEvent {
    UserEvent::UserDeleted {
        reason: Some(DELETE.into()),
    }
}

fn update(expected_version: u64, profile: UserProfile) -> UserCommand {
    UserCommand::Update {
        instance_id: instance(),
        expected_version,
        profile,
        mapped: MappedFields::new(),
        filled: default_filled(),
        manager: None,
        cause: CAUSE.into(),
    }
}

/// A user as a Create command without `active` records it.
fn created_active(user_name: &str) -> UserEvent {
    created(user_name, json!({"active": true}))
}

fn create(attrs: Value) -> UserCommand {
    UserCommand::Create {
        instance_id: instance(),
        profile: profile("alice@corp", attrs),
        mapped: MappedFields::new(),
        manager: None,
    }
}

#[test]
fn creating_a_user_records_it_without_an_invitation() {
    UserTest::with(())
        .given_no_previous_events()
        .when(create(json!({"displayName": "Alice", "active": true})))
        .then_expect_events(vec![created(
            "alice@corp",
            json!({"displayName": "Alice", "active": true}),
        )]);
}

#[test]
fn a_user_created_without_active_is_recorded_active() {
    UserTest::with(())
        .given_no_previous_events()
        .when(create(json!({"displayName": "Alice"})))
        .then_expect_events(vec![created(
            "alice@corp",
            json!({"displayName": "Alice", "active": true}),
        )]);
}

#[test]
fn a_user_created_inactive_is_recorded_inactive() {
    UserTest::with(())
        .given_no_previous_events()
        .when(create(json!({"active": false})))
        .then_expect_events(vec![created("alice@corp", json!({"active": false}))]);
}

#[test]
fn an_account_imported_without_active_is_recorded_active() {
    UserTest::with(())
        .given_no_previous_events()
        .when(UserCommand::Import {
            instance_id: instance(),
            profile: profile("old@corp", json!({})),
            mapped: MappedFields::new(),
        })
        .then_expect_events(vec![imported("old@corp", json!({"active": true}))]);
}

#[test]
fn an_account_suspended_before_provisioning_is_adopted_active_unless_the_idp_says_otherwise() {
    let adopt = |attrs: Value| UserCommand::Adopt {
        instance_id: instance(),
        profile: profile("old@corp", attrs),
        mapped: MappedFields::new(),
        filled: default_filled(),
        manager: None,
        cause: "POST /Users".into(),
    };
    let suspended_account = || vec![imported("old@corp", json!({"active": false}))];
    UserTest::with(())
        .given(suspended_account())
        .when(adopt(json!({})))
        .then_expect_events(vec![
            UserEvent::UserAdopted,
            active_changed(Some(false), Some(true)),
            UserEvent::UserReactivated {
                reason: Some("POST /Users: active no longer false".into()),
            },
        ]);
    UserTest::with(())
        .given(suspended_account())
        .when(adopt(json!({"active": false})))
        .then_expect_events(vec![UserEvent::UserAdopted]);
}

#[test]
fn creating_an_existing_user_is_refused() {
    UserTest::with(())
        .given(vec![created("alice@corp", json!({}))])
        .when(UserCommand::Create {
            instance_id: instance(),
            profile: profile("alice@corp", json!({})),
            mapped: MappedFields::new(),
            manager: None,
        })
        .then_expect_error(UserError::AlreadyExists);
}

#[test]
fn updating_records_old_and_new_values_of_each_changed_attribute() {
    UserTest::with(())
        .given(vec![created(
            "alice@corp",
            json!({"name": {"givenName": "Alice"}, "title": "Engineer"}),
        )])
        .when(update(
            1,
            profile("alicia@corp", json!({"name": {"givenName": "Alicia"}})),
        ))
        .then_expect_events(vec![UserEvent::UserUpdated {
            changes: vec![
                AttributeChange::whole(
                    "userName",
                    Some(json!("alice@corp")),
                    Some(json!("alicia@corp")),
                ),
                AttributeChange {
                    attribute: "name".into(),
                    sub_attribute: Some("givenName".into()),
                    old: Some(json!("Alice")),
                    new: Some(json!("Alicia")),
                },
                AttributeChange::whole("title", Some(json!("Engineer")), None),
            ],
        }]);
}

#[test]
fn an_update_that_changes_nothing_records_nothing() {
    UserTest::with(())
        .given(vec![created("alice@corp", json!({"title": "Engineer"}))])
        .when(update(
            1,
            profile("alice@corp", json!({"title": "Engineer"})),
        ))
        .then_expect_events(vec![]);
}

fn active_changed(old: Option<bool>, new: Option<bool>) -> UserEvent {
    UserEvent::UserUpdated {
        changes: vec![AttributeChange::whole(
            ACTIVE,
            old.map(Value::from),
            new.map(Value::from),
        )],
    }
}

#[test]
fn deactivating_records_the_change_and_suspends_the_user() {
    UserTest::with(())
        .given(vec![created("alice@corp", json!({"active": true}))])
        .when(update(1, profile("alice@corp", json!({"active": false}))))
        .then_expect_events(vec![active_changed(Some(true), Some(false)), suspended()]);
}

#[test]
fn a_user_created_inactive_starts_suspended() {
    UserTest::with(())
        .given(vec![created("alice@corp", json!({"active": false}))])
        .when(update(1, profile("alice@corp", json!({"active": true}))))
        .then_expect_events(vec![active_changed(Some(false), Some(true)), reactivated()]);
}

#[test]
fn removing_active_from_a_suspended_user_unassigns_it_and_reactivates_the_user() {
    // Unassigned means active: the attribute is gone, and so is the suspension.
    UserTest::with(())
        .given(vec![created("alice@corp", json!({"active": false}))])
        .when(update(1, profile("alice@corp", json!({}))))
        .then_expect_events(vec![active_changed(Some(false), None), reactivated()]);
}

#[test]
fn removing_active_from_an_active_user_records_the_removal_only() {
    UserTest::with(())
        .given(vec![created_active("alice@corp")])
        .when(update(1, profile("alice@corp", json!({}))))
        .then_expect_events(vec![active_changed(Some(true), None)]);
}

#[test]
fn stating_active_for_an_active_user_changes_only_the_attribute() {
    UserTest::with(())
        .given(vec![created("alice@corp", json!({}))])
        .when(update(1, profile("alice@corp", json!({"active": true}))))
        .then_expect_events(vec![active_changed(None, Some(true))]);
}

#[test]
fn deactivating_a_suspended_user_again_records_nothing() {
    UserTest::with(())
        .given(vec![
            created("alice@corp", json!({"active": true})),
            active_changed(Some(true), Some(false)),
            suspended(),
        ])
        .when(update(3, profile("alice@corp", json!({"active": false}))))
        .then_expect_events(vec![]);
}

#[test]
fn a_change_and_a_deactivation_in_one_request_are_both_recorded() {
    UserTest::with(())
        .given(vec![created("alice@corp", json!({"active": true}))])
        .when(update(
            1,
            profile("alice@corp", json!({"active": false, "title": "Former"})),
        ))
        .then_expect_events(vec![
            UserEvent::UserUpdated {
                changes: vec![
                    AttributeChange::whole(ACTIVE, Some(json!(true)), Some(json!(false))),
                    AttributeChange::whole("title", None, Some(json!("Former"))),
                ],
            },
            suspended(),
        ]);
}

#[test]
fn a_deleted_user_is_not_found_whatever_version_is_given() {
    UserTest::with(())
        .given(vec![created("alice@corp", json!({})), deleted()])
        .when(UserCommand::Delete {
            instance_id: instance(),
            expected_version: Some(1),
            cause: DELETE.into(),
        })
        .then_expect_error(UserError::NotFound);
}

#[test]
fn a_deletion_based_on_an_old_version_is_refused() {
    UserTest::with(())
        .given(vec![
            created("alice@corp", json!({})),
            active_changed(None, Some(true)),
        ])
        .when(UserCommand::Delete {
            instance_id: instance(),
            expected_version: Some(1),
            cause: DELETE.into(),
        })
        .then_expect_error(UserError::VersionMismatch {
            expected: 1,
            actual: 2,
        });
}

#[test]
fn an_update_based_on_an_old_version_is_refused() {
    UserTest::with(())
        .given(vec![
            created("alice@corp", json!({})),
            active_changed(None, Some(true)),
        ])
        .when(update(1, profile("alice@corp", json!({}))))
        .then_expect_error(UserError::VersionMismatch {
            expected: 1,
            actual: 2,
        });
}

#[test]
fn deleting_a_user_records_the_deletion() {
    UserTest::with(())
        .given(vec![created("alice@corp", json!({}))])
        .when(UserCommand::Delete {
            instance_id: instance(),
            expected_version: None,
            cause: DELETE.into(),
        })
        .then_expect_events(vec![deleted()]);
}

#[test]
fn a_deleted_user_is_not_found() {
    UserTest::with(())
        .given(vec![created("alice@corp", json!({})), deleted()])
        .when(update(2, profile("alice@corp", json!({}))))
        .then_expect_error(UserError::NotFound);
}

#[test]
fn a_deleted_user_cannot_be_deleted_again() {
    UserTest::with(())
        .given(vec![created("alice@corp", json!({})), deleted()])
        .when(UserCommand::Delete {
            instance_id: instance(),
            expected_version: None,
            cause: DELETE.into(),
        })
        .then_expect_error(UserError::NotFound);
}

#[test]
fn a_user_of_another_instance_is_not_found() {
    UserTest::with(())
        .given(vec![created("alice@corp", json!({}))])
        .when(UserCommand::Delete {
            instance_id: InstanceId::new("instance-b"),
            expected_version: None,
            cause: DELETE.into(),
        })
        .then_expect_error(UserError::NotFound);
}

#[test]
fn a_user_that_was_never_created_is_not_found() {
    UserTest::with(())
        .given_no_previous_events()
        .when(update(0, profile("alice@corp", json!({}))))
        .then_expect_error(UserError::NotFound);
}

#[test]
fn replaying_updates_restores_the_profile() {
    let mut user = User::default();
    user.apply(created(
        "alice@corp",
        json!({"name": {"givenName": "Alice"}}),
    ));
    user.apply(UserEvent::UserUpdated {
        changes: vec![
            AttributeChange::whole(
                "userName",
                Some(json!("alice@corp")),
                Some(json!("alicia@corp")),
            ),
            AttributeChange::whole("externalId", None, Some(json!("ext-1"))),
        ],
    });
    assert_eq!(
        user.user_name.as_ref().map(UserName::as_str),
        Some("alicia@corp")
    );
    assert_eq!(
        user.external_id.as_ref().map(ExternalId::as_str),
        Some("ext-1")
    );
    assert_eq!(user.version, 2);
}

/// The fields the default mapping fills.
fn default_filled() -> BTreeSet<String> {
    filled_fields(&default_mapping())
}

fn fields(pairs: &[(&str, &str)]) -> MappedFields {
    pairs
        .iter()
        .map(|(field, value)| (field.to_string(), value.to_string()))
        .collect()
}

fn change(field: &str, old: Option<&str>, new: Option<&str>) -> FieldChange {
    FieldChange {
        field: field.into(),
        old: old.map(str::to_string),
        new: new.map(str::to_string),
    }
}

#[test]
fn a_new_user_records_its_mapped_fields() {
    UserTest::with(())
        .given_no_previous_events()
        .when(UserCommand::Create {
            instance_id: instance(),
            profile: profile("alice@corp", json!({"title": "Engineer"})),
            mapped: fields(&[
                ("User Name", "alice@corp"),
                ("Scim Sync Job Title", "Engineer"),
            ]),
            manager: None,
        })
        .then_expect_events(vec![
            created("alice@corp", json!({"title": "Engineer", "active": true})),
            UserEvent::UserMapped {
                changes: vec![
                    change("Scim Sync Job Title", None, Some("Engineer")),
                    change("User Name", None, Some("alice@corp")),
                ],
            },
        ]);
}

#[test]
fn an_update_records_exactly_the_mapped_fields_that_changed() {
    let mapped = UserEvent::UserMapped {
        changes: vec![
            change("Email", None, Some("a@corp")),
            change("User Name", None, Some("alice@corp")),
        ],
    };
    UserTest::with(())
        .given(vec![created("alice@corp", json!({})), mapped.clone()])
        .when(UserCommand::Update {
            instance_id: instance(),
            expected_version: 2,
            profile: profile("alice@corp", json!({"title": "Lead"})),
            mapped: fields(&[("User Name", "alice@corp"), ("Scim Sync Job Title", "Lead")]),
            filled: default_filled(),
            manager: None,
            cause: CAUSE.into(),
        })
        .then_expect_events(vec![
            UserEvent::UserUpdated {
                changes: vec![AttributeChange::whole(
                    "title",
                    None,
                    Some(Value::from("Lead")),
                )],
            },
            UserEvent::UserMapped {
                changes: vec![
                    change("Email", Some("a@corp"), None),
                    change("Scim Sync Job Title", None, Some("Lead")),
                ],
            },
        ]);
}

#[test]
fn remapping_records_only_real_changes() {
    let mapped = UserEvent::UserMapped {
        changes: vec![change("User Name", None, Some("alice@corp"))],
    };
    UserTest::with(())
        .given(vec![created("alice@corp", json!({})), mapped.clone()])
        .when(UserCommand::Remap {
            instance_id: instance(),
            mapped: fields(&[("User Name", "alice@corp")]),
        })
        .then_expect_events(vec![]);
    UserTest::with(())
        .given(vec![created("alice@corp", json!({})), mapped])
        .when(UserCommand::Remap {
            instance_id: instance(),
            mapped: fields(&[("User Name", "alice@corp"), ("Country", "NZ")]),
        })
        .then_expect_events(vec![UserEvent::UserMapped {
            changes: vec![change("Country", None, Some("NZ"))],
        }]);
    UserTest::with(())
        .given(vec![created("alice@corp", json!({})), deleted()])
        .when(UserCommand::Remap {
            instance_id: instance(),
            mapped: MappedFields::new(),
        })
        .then_expect_error(UserError::NotFound);
}

fn manager(reference: &str, manager_id: Option<&str>) -> Option<ManagerRef> {
    Some(ManagerRef {
        reference: reference.into(),
        manager_id: manager_id.map(str::to_string),
    })
}

fn create_with_manager(manager: Option<ManagerRef>) -> UserCommand {
    UserCommand::Create {
        instance_id: instance(),
        profile: profile("alice@corp", json!({})),
        mapped: MappedFields::new(),
        manager,
    }
}

fn update_manager(expected_version: u64, manager: Option<ManagerRef>) -> UserCommand {
    UserCommand::Update {
        instance_id: instance(),
        expected_version,
        profile: profile("alice@corp", json!({})),
        mapped: MappedFields::new(),
        filled: default_filled(),
        manager,
        cause: CAUSE.into(),
    }
}

#[test]
fn a_manager_not_provisioned_waits_and_is_linked_when_it_is() {
    let pending = UserEvent::ManagerPending {
        reference: "boss@corp".into(),
    };
    UserTest::with(())
        .given_no_previous_events()
        .when(create_with_manager(manager("boss@corp", None)))
        .then_expect_events(vec![created_active("alice@corp"), pending.clone()]);
    let linked = UserEvent::ManagerLinked {
        reference: "boss@corp".into(),
        manager_id: "u-boss".into(),
    };
    UserTest::with(())
        .given(vec![created("alice@corp", json!({})), pending.clone()])
        .when(UserCommand::LinkManager {
            instance_id: instance(),
            reference: "boss@corp".into(),
            manager_id: "u-boss".into(),
        })
        .then_expect_events(vec![linked.clone()]);
    // A link for another reference, or one already made, changes nothing.
    UserTest::with(())
        .given(vec![
            created("alice@corp", json!({})),
            pending.clone(),
            linked,
        ])
        .when(UserCommand::LinkManager {
            instance_id: instance(),
            reference: "boss@corp".into(),
            manager_id: "u-other".into(),
        })
        .then_expect_events(vec![]);
    // Naming the same missing manager again records nothing new.
    UserTest::with(())
        .given(vec![created("alice@corp", json!({})), pending])
        .when(update_manager(2, manager("boss@corp", None)))
        .then_expect_events(vec![]);
}

#[test]
fn a_known_manager_is_linked_at_once_and_removing_it_clears_the_link() {
    let linked = UserEvent::ManagerLinked {
        reference: "ext-9".into(),
        manager_id: "u-boss".into(),
    };
    UserTest::with(())
        .given_no_previous_events()
        .when(create_with_manager(manager("ext-9", Some("u-boss"))))
        .then_expect_events(vec![created_active("alice@corp"), linked.clone()]);
    UserTest::with(())
        .given(vec![created("alice@corp", json!({})), linked])
        .when(update_manager(2, None))
        .then_expect_events(vec![UserEvent::ManagerUnlinked {
            reference: "ext-9".into(),
        }]);
}

fn imported(user_name: &str, attrs: Value) -> UserEvent {
    UserEvent::UserImported {
        instance_id: instance(),
        user_name: UserName::parse(user_name).expect("valid test userName"),
        external_id: None,
        attributes: attributes(attrs),
    }
}

#[test]
fn an_existing_account_is_imported_unmanaged() {
    UserTest::with(())
        .given_no_previous_events()
        .when(UserCommand::Import {
            instance_id: instance(),
            profile: profile("old@corp", json!({"title": "Clerk"})),
            mapped: fields(&[("User Name", "old@corp")]),
        })
        .then_expect_events(vec![
            imported("old@corp", json!({"title": "Clerk", "active": true})),
            UserEvent::UserMapped {
                changes: vec![change("User Name", None, Some("old@corp"))],
            },
        ]);
}

#[test]
fn an_imported_account_is_adopted_once_with_the_idps_profile() {
    let adopt = UserCommand::Adopt {
        instance_id: instance(),
        profile: profile("Old@corp", json!({"title": "Clerk"})),
        mapped: MappedFields::new(),
        filled: default_filled(),
        manager: None,
        cause: "POST /Users".into(),
    };
    UserTest::with(())
        .given(vec![imported(
            "old@corp",
            json!({"title": "Clerk", "active": true}),
        )])
        .when(adopt.clone())
        .then_expect_events(vec![
            UserEvent::UserAdopted,
            UserEvent::UserUpdated {
                changes: vec![AttributeChange::whole(
                    "userName",
                    Some(Value::from("old@corp")),
                    Some(Value::from("Old@corp")),
                )],
            },
        ]);
    UserTest::with(())
        .given(vec![
            imported("old@corp", json!({"title": "Clerk"})),
            UserEvent::UserAdopted,
        ])
        .when(adopt.clone())
        .then_expect_error(UserError::AlreadyManaged);
    UserTest::with(())
        .given(vec![created("old@corp", json!({}))])
        .when(adopt)
        .then_expect_error(UserError::AlreadyManaged);
}

/// An account imported with a standard field the IdP leaves empty and a field of the
/// application's own.
fn imported_with_own_fields() -> Vec<UserEvent> {
    vec![
        imported("old@corp", json!({"title": "Clerk", "active": true})),
        UserEvent::UserMapped {
            changes: vec![
                change("Cost Centre", None, Some("42")),
                change("Office Phone", None, Some("555")),
                change("Scim Sync Job Title", None, Some("Clerk")),
                change("User Name", None, Some("old@corp")),
            ],
        },
    ]
}

#[test]
fn adoption_keeps_the_fields_the_mapping_does_not_fill() {
    UserTest::with(())
        .given(imported_with_own_fields())
        .when(UserCommand::Adopt {
            instance_id: instance(),
            profile: profile("old@corp", json!({})),
            mapped: fields(&[("User Name", "old@corp")]),
            filled: default_filled(),
            manager: None,
            cause: "POST /Users".into(),
        })
        .then_expect_events(vec![
            UserEvent::UserAdopted,
            UserEvent::UserUpdated {
                changes: vec![AttributeChange::whole(
                    "title",
                    Some(Value::from("Clerk")),
                    None,
                )],
            },
            // The mapping fills the phone and the title, now from the IdP, which has neither;
            // the cost centre is the application's own.
            UserEvent::UserMapped {
                changes: vec![
                    change("Office Phone", Some("555"), None),
                    change("Scim Sync Job Title", Some("Clerk"), None),
                ],
            },
        ]);
}

#[test]
fn later_updates_keep_the_fields_the_mapping_does_not_fill() {
    let mut given = imported_with_own_fields();
    given.push(UserEvent::UserAdopted);
    UserTest::with(())
        .given(given)
        .when(UserCommand::Update {
            instance_id: instance(),
            expected_version: 3,
            profile: profile("old@corp", json!({"title": "Clerk", "active": true})),
            mapped: fields(&[("User Name", "old@corp"), ("Scim Sync Job Title", "Clerk")]),
            filled: default_filled(),
            manager: None,
            cause: CAUSE.into(),
        })
        .then_expect_events(vec![UserEvent::UserMapped {
            changes: vec![change("Office Phone", Some("555"), None)],
        }]);
}
