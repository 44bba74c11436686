//! Read-model records rendered as SCIM resources (RFC 7643 §3), with `meta` and the weak ETag
//! that `meta.version` and the `ETag` header share.

use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
use projections::hex::to_hex;
use projections::scim_groups::{GroupRecord, MemberRecord, MembershipRecord};
use projections::scim_users::UserRecord;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// The weak entity tag of a resource version (RFC 7232 §2.3; RFC 7644 §3.14).
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// The tag of a user shown with its groups. The groups are not part of the user's own
/// history, so its version alone would let a client keep (If-None-Match: 304) a copy whose
/// groups are stale; a digest of the groups shown joins the version.
fn user_etag(version: i64, groups: &[MembershipRecord]) -> String {
    let mut digest = Sha256::new();
    for group in groups {
        digest.update(group.group_id.as_bytes());
        digest.update([0]);
        digest.update(group.display_name.as_bytes());
        digest.update([0]);
    }
    let short = to_hex(&digest.finalize()[..6]);
    format!("W/\"{version}.{short}\"")
}

/// The version an `If-Match` / `If-None-Match` tag names, if it is one of ours: the
/// resource's own version, whatever derived part (a user's groups) the tag also covers.
pub fn version_of_etag(tag: &str) -> Option<i64> {
    opaque_tag(tag)?.split('.').next()?.parse().ok()
}

/// The quoted part of an entity tag, which weak comparison (RFC 7232 §2.3.2) compares.
pub fn opaque_tag(tag: &str) -> Option<&str> {
    let tag = tag.trim();
    let quoted = tag.strip_prefix("W/").unwrap_or(tag);
    quoted.strip_prefix('"')?.strip_suffix('"')
}

fn meta(
    resource_type: &str,
    location: String,
    created: &str,
    modified: &str,
    version: i64,
) -> Value {
    json!({
        "resourceType": resource_type,
        "created": created,
        "lastModified": modified,
        "location": location,
        "version": etag(version),
    })
}

/// A user; `groups` (RFC 7643 §4.1.2) is `None` when the client left them out, so that they
/// need not be read. The groups are derived from the groups' members, never stored with the
/// user.
pub fn user(record: &UserRecord, groups: Option<&[MembershipRecord]>, base_url: &str) -> Value {
    let attributes = record.attributes();
    let mut schemas = vec![USER_SCHEMA];
    if attributes.contains_key(ENTERPRISE_USER_SCHEMA) {
        schemas.push(ENTERPRISE_USER_SCHEMA);
    }
    let mut resource = Map::new();
    resource.insert("schemas".into(), json!(schemas));
    resource.insert("id".into(), json!(record.id));
    if let Some(external_id) = &record.external_id {
        resource.insert("externalId".into(), json!(external_id));
    }
    resource.insert("userName".into(), json!(record.user_name));
    resource.extend(attributes);
    let mut version = etag(record.version);
    if let Some(groups) = groups.filter(|groups| !groups.is_empty()) {
        let rendered: Vec<Value> = groups
            .iter()
            .map(|group| render_membership(group, base_url))
            .collect();
        resource.insert("groups".into(), Value::Array(rendered));
        version = user_etag(record.version, groups);
    }
    let mut meta = meta(
        "User",
        format!("{base_url}/Users/{}", record.id),
        &record.created_at,
        &record.last_modified,
        record.version,
    );
    meta["version"] = json!(version);
    resource.insert("meta".into(), meta);
    Value::Object(resource)
}

/// A group; `members` is `None` when the client excluded them, so that large groups can be
/// read cheaply.
pub fn group(record: &GroupRecord, members: Option<&[MemberRecord]>, base_url: &str) -> Value {
    let mut resource = Map::new();
    resource.insert("schemas".into(), json!([GROUP_SCHEMA]));
    resource.insert("id".into(), json!(record.id));
    if let Some(external_id) = &record.external_id {
        resource.insert("externalId".into(), json!(external_id));
    }
    resource.insert("displayName".into(), json!(record.display_name));
    if let Some(members) = members {
        let rendered: Vec<Value> = members
            .iter()
            .map(|member| render_member(member, base_url))
            .collect();
        resource.insert("members".into(), Value::Array(rendered));
    }
    resource.insert(
        "meta".into(),
        meta(
            "Group",
            format!("{base_url}/Groups/{}", record.id),
            &record.created_at,
            &record.last_modified,
            record.version,
        ),
    );
    Value::Object(resource)
}

fn render_member(member: &MemberRecord, base_url: &str) -> Value {
    let endpoint = if member.member_kind == "Group" {
        "Groups"
    } else {
        "Users"
    };
    json!({
        "value": member.member_id,
        "$ref": format!("{base_url}/{endpoint}/{}", member.member_id),
        "type": member.member_kind,
    })
}

/// scimd records direct memberships only; nested groups do not make users indirect members.
fn render_membership(group: &MembershipRecord, base_url: &str) -> Value {
    json!({
        "value": group.group_id,
        "$ref": format!("{base_url}/Groups/{}", group.group_id),
        "display": group.display_name,
        "type": "direct",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_shown_with_groups_has_a_tag_that_changes_with_them() {
        let record = UserRecord {
            id: "u1".into(),
            instance_id: "i".into(),
            user_name: "a".into(),
            external_id: None,
            active: None,
            attributes: "{}".into(),
            version: 4,
            created_position: 1,
            created_at: "2026-01-01T00:00:00.000000Z".into(),
            last_modified: "2026-01-01T00:00:00.000000Z".into(),
        };
        let group = |display: &str| MembershipRecord {
            group_id: "g1".into(),
            display_name: display.into(),
        };
        let tag = |groups: Option<&[MembershipRecord]>| {
            user(&record, groups, "http://x")["meta"]["version"].clone()
        };
        let plain = tag(None);
        assert_eq!(plain, json!("W/\"4\""));
        let (before, after) = (
            tag(Some(&[group("Sales")])),
            tag(Some(&[group("Sales EU")])),
        );
        assert_ne!(before, plain);
        assert_ne!(before, after);
        let versions: Vec<Option<i64>> = [before, after]
            .iter()
            .map(|tag| tag.as_str().and_then(version_of_etag))
            .collect();
        assert_eq!(versions, [Some(4), Some(4)]);
    }

    #[test]
    fn etags_round_trip() {
        assert_eq!(version_of_etag(&etag(7)), Some(7));
        assert_eq!(version_of_etag("\"7\""), Some(7));
        assert_eq!(version_of_etag("W/\"x\""), None);
        assert_eq!(version_of_etag("*"), None);
    }

    #[test]
    fn a_user_renders_with_meta_and_its_extension_schema() {
        let record = UserRecord {
            id: "u1".into(),
            instance_id: "i1".into(),
            user_name: "alice@corp".into(),
            external_id: Some("e1".into()),
            active: Some(false),
            attributes: json!({"active": false, ENTERPRISE_USER_SCHEMA: {"department": "R&D"}})
                .to_string(),
            version: 3,
            created_position: 1,
            created_at: "2026-01-01T00:00:00.000000Z".into(),
            last_modified: "2026-01-02T00:00:00.000000Z".into(),
        };
        let rendered = user(&record, None, "http://h/scim/v2");
        assert_eq!(
            rendered["schemas"],
            json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA])
        );
        assert_eq!(rendered["active"], json!(false));
        assert_eq!(
            rendered["meta"]["location"],
            json!("http://h/scim/v2/Users/u1")
        );
        assert_eq!(rendered["meta"]["version"], json!("W/\"3\""));
        assert!(rendered.get("groups").is_none());
    }

    #[test]
    fn a_user_renders_the_groups_it_is_a_direct_member_of() {
        let record = UserRecord {
            id: "u1".into(),
            instance_id: "i1".into(),
            user_name: "alice@corp".into(),
            external_id: None,
            active: None,
            attributes: "{}".into(),
            version: 1,
            created_position: 1,
            created_at: "2026-01-01T00:00:00.000000Z".into(),
            last_modified: "2026-01-01T00:00:00.000000Z".into(),
        };
        let groups = [MembershipRecord {
            group_id: "g1".into(),
            display_name: "Sales".into(),
        }];
        let rendered = user(&record, Some(&groups), "http://h/scim/v2");
        assert_eq!(
            rendered["groups"],
            json!([{"value": "g1", "$ref": "http://h/scim/v2/Groups/g1", "display": "Sales", "type": "direct"}])
        );
        // No groups: the attribute is absent, like any other attribute without a value.
        assert!(user(&record, Some(&[]), "http://h/scim/v2")
            .get("groups")
            .is_none());
    }
}
