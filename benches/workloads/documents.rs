//! The SCIM documents the bench sends, shaped like an IdP's: a user with about fifteen
//! attributes and the enterprise extension, the PATCHes of a deactivation, an attribute change
//! and a group push, and the URLs of a `userName eq` lookup.

use crate::client::encode;
use serde_json::{json, Value};

const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The userName of user `index` of run `run`.
pub fn user_name(run: &str, index: usize) -> String {
    format!("{run}-{index}@bench.example")
}

/// A user as Okta or Entra ID creates one. The users form a tree of ten reports per manager:
/// user `i` reports to user `(i - 1) / 10`, named by userName. The manager was sent about
/// nine tenths of a run earlier, so it exists already except for the first few hundred users,
/// whose managers may still be in flight at high concurrency and are linked when they come.
pub fn user(run: &str, index: usize) -> Value {
    let name = user_name(run, index);
    let mut enterprise = json!({
        "employeeNumber": format!("{index}"),
        "costCenter": format!("CC-{}", index % 50),
        "organization": "Example Corp",
        "division": format!("Division {}", index % 5),
        "department": format!("Department {}", index % 20),
    });
    if index > 0 {
        enterprise["manager"] = json!({"value": user_name(run, (index - 1) / 10)});
    }
    json!({
        "schemas": [CORE_USER, ENTERPRISE_USER],
        "userName": name,
        "externalId": format!("{run}-ext-{index}"),
        "name": {
            "givenName": format!("Given{index}"),
            "familyName": format!("Family{index}"),
            "formatted": format!("Given{index} Family{index}"),
        },
        "displayName": format!("Given{index} Family{index}"),
        "emails": [{"value": name, "type": "work", "primary": true}],
        "phoneNumbers": [
            {"value": format!("+1 555 {:07}", index % 10_000_000), "type": "work"},
            {"value": format!("+1 556 {:07}", index % 10_000_000), "type": "mobile"},
        ],
        "addresses": [{
            "type": "work",
            "streetAddress": format!("{} Main Street", index % 1000),
            "locality": "Springfield",
            "region": "IL",
            "postalCode": format!("{:05}", index % 100_000),
            "country": "US",
            "primary": true,
        }],
        "title": "Engineer",
        "userType": "Employee",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Chicago",
        "active": true,
        ENTERPRISE_USER: enterprise,
    })
}

/// Okta's deactivation.
pub fn deactivation() -> Value {
    json!({
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "active", "value": false}],
    })
}

/// A title and department change, with an enterprise URN path as Entra ID sends it.
pub fn attribute_change(serial: usize) -> Value {
    json!({
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "replace", "path": "title", "value": format!("Title {}", serial % 100)},
            {
                "op": "replace",
                "path": format!("{ENTERPRISE_USER}:department"),
                "value": format!("Department {}", serial % 30),
            },
        ],
    })
}

/// Okta's group push: one `add` of `members` naming them.
pub fn members_added<'a>(ids: impl Iterator<Item = &'a str>) -> Value {
    let members: Vec<Value> = ids.map(|id| json!({"value": id})).collect();
    json!({
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": "members", "value": members}],
    })
}

pub fn group(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name,
    })
}

/// The URL of Okta's lookup-then-create query.
pub fn lookup(user_name: &str) -> String {
    format!(
        "/Users?filter={}",
        encode(&format!("userName eq \"{user_name}\""))
    )
}
