//! Given events, when a command, then events (or a typed error).

use super::*;
use cqrs_es::test::TestFramework;

type SettingsTest = TestFramework<InstanceSettings>;

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

fn set(field: &str, attribute: &str) -> SettingsCommand {
    SettingsCommand::SetMapping {
        field: field.into(),
        attribute: attribute.into(),
    }
}

#[test]
fn a_custom_text_field_is_added_once() {
    SettingsTest::with(())
        .given_no_previous_events()
        .when(SettingsCommand::AddField {
            name: " Cost Centre ".into(),
        })
        .then_expect_events(vec![SettingsEvent::FieldAdded {
            name: "Cost Centre".into(),
        }]);
    SettingsTest::with(())
        .given(vec![SettingsEvent::FieldAdded {
            name: "Cost Centre".into(),
        }])
        .when(SettingsCommand::AddField {
            name: "cost centre".into(),
        })
        .then_expect_error(SettingsError::FieldExists("Cost Centre".into()));
    SettingsTest::with(())
        .given_no_previous_events()
        .when(SettingsCommand::AddField {
            name: "email".into(),
        })
        .then_expect_error(SettingsError::FieldExists("Email".into()));
    SettingsTest::with(())
        .given_no_previous_events()
        .when(SettingsCommand::AddField { name: "  ".into() })
        .then_expect_error(SettingsError::InvalidFieldName);
}

#[test]
fn changing_a_mapping_records_what_it_replaced() {
    SettingsTest::with(())
        .given_no_previous_events()
        .when(set("email", "emails[type eq \"home\"].value"))
        .then_expect_events(vec![SettingsEvent::MappingSet {
            field: "Email".into(),
            attribute: "emails[type eq \"home\"].value".into(),
            previous: Some("emails[type eq \"work\" or primary eq true].value".into()),
        }]);
}

#[test]
fn a_custom_field_can_be_mapped_and_unmapped() {
    let added = SettingsEvent::FieldAdded {
        name: "Country".into(),
    };
    let mapped = SettingsEvent::MappingSet {
        field: "Country".into(),
        attribute: "addresses[type eq \"work\"].country".into(),
        previous: None,
    };
    SettingsTest::with(())
        .given(vec![added.clone()])
        .when(set("country", "addresses[type eq \"work\"].country"))
        .then_expect_events(vec![mapped.clone()]);
    SettingsTest::with(())
        .given(vec![added.clone(), mapped.clone()])
        .when(set("Country", "addresses[type eq \"work\"].country"))
        .then_expect_events(vec![]);
    SettingsTest::with(())
        .given(vec![added.clone(), mapped])
        .when(SettingsCommand::DeleteMapping {
            field: "Country".into(),
        })
        .then_expect_events(vec![SettingsEvent::MappingDeleted {
            field: "Country".into(),
            attribute: "addresses[type eq \"work\"].country".into(),
        }]);
    SettingsTest::with(())
        .given(vec![added])
        .when(SettingsCommand::DeleteMapping {
            field: "Country".into(),
        })
        .then_expect_error(SettingsError::NotMapped("Country".into()));
}

#[test]
fn the_user_name_row_cannot_change_and_unknown_fields_are_named() {
    SettingsTest::with(())
        .given_no_previous_events()
        .when(set("user name", "emails.value"))
        .then_expect_error(SettingsError::ReadOnlyField("User Name".into()));
    SettingsTest::with(())
        .given_no_previous_events()
        .when(SettingsCommand::DeleteMapping {
            field: "User Name".into(),
        })
        .then_expect_error(SettingsError::ReadOnlyField("User Name".into()));
    SettingsTest::with(())
        .given_no_previous_events()
        .when(set("Salary", "title"))
        .then_expect_error(SettingsError::UnknownField {
            field: "Salary".into(),
            fields: STANDARD_FIELDS.join(", "),
        });
}

#[test]
fn reset_restores_the_defaults_and_says_what_they_replaced() {
    let deleted = SettingsEvent::MappingDeleted {
        field: "Scim Sync Job Title".into(),
        attribute: "title".into(),
    };
    let mut previous = default_mapping();
    previous.retain(|row| row.field != "Scim Sync Job Title");
    SettingsTest::with(())
        .given(vec![deleted])
        .when(SettingsCommand::ResetMappings)
        .then_expect_events(vec![SettingsEvent::MappingsReset {
            previous,
            mapping: default_mapping(),
        }]);
    SettingsTest::with(())
        .given_no_previous_events()
        .when(SettingsCommand::ResetMappings)
        .then_expect_events(vec![]);
}

#[test]
fn allowed_roles_must_keep_the_defaults() {
    SettingsTest::with(())
        .given_no_previous_events()
        .when(SettingsCommand::AllowRoles {
            roles: strings(&["User", "Viewer", "viewer"]),
        })
        .then_expect_events(vec![SettingsEvent::AllowedRolesSet {
            previous: strings(&["User"]),
            roles: strings(&["User", "Viewer"]),
        }]);
    SettingsTest::with(())
        .given_no_previous_events()
        .when(SettingsCommand::AllowRoles {
            roles: strings(&["Viewer"]),
        })
        .then_expect_error(SettingsError::DefaultRoleNotAllowed {
            role: "User".into(),
            allowed: "Viewer".into(),
        });
    SettingsTest::with(())
        .given_no_previous_events()
        .when(SettingsCommand::AllowRoles { roles: vec![] })
        .then_expect_error(SettingsError::NoRoles);
}

#[test]
fn default_roles_come_from_the_allowed_ones() {
    let allowed = SettingsEvent::AllowedRolesSet {
        previous: strings(&["User"]),
        roles: strings(&["User", "Viewer"]),
    };
    SettingsTest::with(())
        .given(vec![allowed.clone()])
        .when(SettingsCommand::SetDefaultRoles {
            roles: strings(&["viewer"]),
        })
        .then_expect_events(vec![SettingsEvent::DefaultRolesSet {
            previous: strings(&["User"]),
            roles: strings(&["Viewer"]),
        }]);
    SettingsTest::with(())
        .given(vec![allowed])
        .when(SettingsCommand::SetDefaultRoles {
            roles: strings(&["Administrator"]),
        })
        .then_expect_error(SettingsError::DefaultRoleNotAllowed {
            role: "Administrator".into(),
            allowed: "User, Viewer".into(),
        });
}

#[test]
fn new_users_get_the_default_roles_and_only_allowed_ones() {
    let settings = InstanceSettings::default();
    assert_eq!(settings.roles_for(&[]), Ok(strings(&["User"])));
    assert_eq!(
        settings.roles_for(&strings(&["user"])),
        Ok(strings(&["user"]))
    );
    assert_eq!(
        settings.roles_for(&strings(&["User", "Administrator", "Superuser"])),
        Err(strings(&["Administrator", "Superuser"]))
    );
}

#[test]
fn any_role_can_be_allowed_and_narrowed_again() {
    let any = SettingsEvent::AnyRoleAllowed {
        previous: strings(&["User"]),
    };
    SettingsTest::with(())
        .given_no_previous_events()
        .when(SettingsCommand::AllowAnyRole)
        .then_expect_events(vec![any.clone()]);
    SettingsTest::with(())
        .given(vec![any.clone()])
        .when(SettingsCommand::AllowAnyRole)
        .then_expect_events(vec![]);
    SettingsTest::with(())
        .given(vec![any.clone()])
        .when(SettingsCommand::AllowRoles {
            roles: strings(&["User", "Viewer"]),
        })
        .then_expect_events(vec![SettingsEvent::AllowedRolesSet {
            previous: vec![],
            roles: strings(&["User", "Viewer"]),
        }]);
    let mut settings = InstanceSettings::default();
    settings.apply(any);
    assert_eq!(
        settings.roles_for(&strings(&["Financial user"])),
        Ok(strings(&["Financial user"]))
    );
    assert_eq!(settings.roles_for(&[]), Ok(strings(&["User"])));
}

fn issued(key_id: &str) -> SettingsEvent {
    SettingsEvent::KeyIssued {
        key_id: key_id.into(),
        integration_user: "okta".into(),
    }
}

fn revoke(key_id: &str) -> SettingsCommand {
    SettingsCommand::RecordKeyRevoked {
        key_id: key_id.into(),
        integration_user: "okta".into(),
    }
}

#[test]
fn an_instance_is_created_once() {
    let created = SettingsEvent::InstanceCreated {
        name: "acme".into(),
    };
    SettingsTest::with(())
        .given_no_previous_events()
        .when(SettingsCommand::RecordInstanceCreated {
            name: "acme".into(),
        })
        .then_expect_events(vec![created.clone()]);
    SettingsTest::with(())
        .given(vec![created])
        .when(SettingsCommand::RecordInstanceCreated {
            name: "acme".into(),
        })
        .then_expect_error(SettingsError::InstanceAlreadyCreated);
}

#[test]
fn a_key_is_issued_once_and_revoked_once() {
    SettingsTest::with(())
        .given_no_previous_events()
        .when(SettingsCommand::RecordKeyIssued {
            key_id: "k1".into(),
            integration_user: "okta".into(),
        })
        .then_expect_events(vec![issued("k1")]);
    SettingsTest::with(())
        .given(vec![issued("k1")])
        .when(SettingsCommand::RecordKeyIssued {
            key_id: "k1".into(),
            integration_user: "okta".into(),
        })
        .then_expect_error(SettingsError::KeyAlreadyIssued("k1".into()));
    let revoked = SettingsEvent::KeyRevoked {
        key_id: "k1".into(),
        integration_user: "okta".into(),
    };
    SettingsTest::with(())
        .given(vec![issued("k1")])
        .when(revoke("k1"))
        .then_expect_events(vec![revoked.clone()]);
    SettingsTest::with(())
        .given(vec![issued("k1"), revoked])
        .when(revoke("k1"))
        .then_expect_error(SettingsError::KeyAlreadyRevoked("k1".into()));
}

#[test]
fn a_key_issued_before_keys_were_recorded_can_still_be_revoked() {
    // Keys made by older builds have no KeyIssued event; their revocation is recorded all the
    // same, once.
    SettingsTest::with(())
        .given(vec![issued("k1")])
        .when(revoke("k0"))
        .then_expect_events(vec![SettingsEvent::KeyRevoked {
            key_id: "k0".into(),
            integration_user: "okta".into(),
        }]);
}

#[test]
fn recording_access_leaves_fields_mapping_and_roles_as_they_were() {
    let mut settings = InstanceSettings::default();
    settings.apply(SettingsEvent::InstanceCreated {
        name: "acme".into(),
    });
    settings.apply(issued("k1"));
    assert_eq!(settings.mapping(), InstanceSettings::default().mapping());
    assert_eq!(settings.default_roles(), &strings(&["User"]));
    assert!(settings.custom_fields().is_empty());
}

fn added(id: &str) -> SettingsEvent {
    SettingsEvent::WebhookEndpointAdded {
        endpoint_id: id.into(),
        url: "https://hooks.example.com/scimd".into(),
        types: strings(&["user.created"]),
        description: "HR sync".into(),
    }
}

fn disabled(id: &str, reason: &str) -> SettingsEvent {
    SettingsEvent::WebhookEndpointDisabled {
        endpoint_id: id.into(),
        reason: reason.into(),
    }
}

#[test]
fn a_webhook_endpoint_is_added_once() {
    let add = SettingsCommand::RecordWebhookEndpointAdded {
        endpoint_id: "wh1".into(),
        url: "https://hooks.example.com/scimd".into(),
        types: strings(&["user.created"]),
        description: "HR sync".into(),
    };
    SettingsTest::with(())
        .given_no_previous_events()
        .when(add.clone())
        .then_expect_events(vec![added("wh1")]);
    SettingsTest::with(())
        .given(vec![added("wh1")])
        .when(add.clone())
        .then_expect_error(SettingsError::WebhookAlreadyAdded("wh1".into()));
    // Not even once it is deleted: the history of an id names one endpoint.
    let deleted = SettingsEvent::WebhookEndpointDeleted {
        endpoint_id: "wh1".into(),
        url: "https://hooks.example.com/scimd".into(),
    };
    SettingsTest::with(())
        .given(vec![added("wh1"), deleted])
        .when(add)
        .then_expect_error(SettingsError::WebhookAlreadyAdded("wh1".into()));
}

#[test]
fn disabling_and_enabling_record_only_a_change() {
    let disable = |reason: &str| SettingsCommand::RecordWebhookEndpointDisabled {
        endpoint_id: "wh1".into(),
        reason: reason.into(),
    };
    let enable = SettingsCommand::RecordWebhookEndpointEnabled {
        endpoint_id: "wh1".into(),
    };
    SettingsTest::with(())
        .given(vec![added("wh1")])
        .when(disable("failing for 3 days"))
        .then_expect_events(vec![disabled("wh1", "failing for 3 days")]);
    SettingsTest::with(())
        .given(vec![added("wh1"), disabled("wh1", "disabled by ada")])
        .when(disable("failing for 3 days"))
        .then_expect_events(vec![]);
    SettingsTest::with(())
        .given(vec![added("wh1")])
        .when(enable.clone())
        .then_expect_events(vec![]);
    SettingsTest::with(())
        .given(vec![added("wh1"), disabled("wh1", "disabled by ada")])
        .when(enable)
        .then_expect_events(vec![SettingsEvent::WebhookEndpointEnabled {
            endpoint_id: "wh1".into(),
        }]);
}

#[test]
fn a_deleted_or_unknown_endpoint_does_not_change() {
    let deleted = SettingsEvent::WebhookEndpointDeleted {
        endpoint_id: "wh1".into(),
        url: "https://hooks.example.com/scimd".into(),
    };
    SettingsTest::with(())
        .given(vec![added("wh1")])
        .when(SettingsCommand::RecordWebhookEndpointDeleted {
            endpoint_id: "wh1".into(),
        })
        .then_expect_events(vec![deleted.clone()]);
    for command in [
        SettingsCommand::RecordWebhookEndpointDeleted {
            endpoint_id: "wh1".into(),
        },
        SettingsCommand::RecordWebhookEndpointEnabled {
            endpoint_id: "wh1".into(),
        },
        SettingsCommand::RecordWebhookSecretRotated {
            endpoint_id: "wh1".into(),
            previous_expires_at: "2026-01-02T00:00:00Z".into(),
        },
        SettingsCommand::RecordWebhookEndpointReplayed {
            endpoint_id: "wh1".into(),
            from: "evt_1".into(),
        },
    ] {
        SettingsTest::with(())
            .given(vec![added("wh1"), deleted.clone()])
            .when(command)
            .then_expect_error(SettingsError::UnknownWebhook("wh1".into()));
    }
    SettingsTest::with(())
        .given_no_previous_events()
        .when(SettingsCommand::RecordWebhookEndpointDisabled {
            endpoint_id: "wh9".into(),
            reason: "disabled by ada".into(),
        })
        .then_expect_error(SettingsError::UnknownWebhook("wh9".into()));
}

#[test]
fn rotations_and_replays_are_recorded_without_a_secret() {
    SettingsTest::with(())
        .given(vec![added("wh1")])
        .when(SettingsCommand::RecordWebhookSecretRotated {
            endpoint_id: "wh1".into(),
            previous_expires_at: "2026-01-02T00:00:00Z".into(),
        })
        .then_expect_events(vec![SettingsEvent::WebhookSecretRotated {
            endpoint_id: "wh1".into(),
            previous_expires_at: "2026-01-02T00:00:00Z".into(),
        }]);
    SettingsTest::with(())
        .given(vec![added("wh1")])
        .when(SettingsCommand::RecordWebhookEndpointReplayed {
            endpoint_id: "wh1".into(),
            from: "evt_1".into(),
        })
        .then_expect_events(vec![SettingsEvent::WebhookEndpointReplayed {
            endpoint_id: "wh1".into(),
            from: "evt_1".into(),
        }]);
}
