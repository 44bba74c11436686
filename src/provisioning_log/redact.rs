//! Removing credentials from a request before it is logged. Pure, and deliberately greedy:
//! hiding a harmless value costs a support engineer little, keeping a password costs a lot.
//!
//! A name is credential-like when, lower-cased and without `_`, `-`, `.` and spaces, it
//! contains one of [`CREDENTIAL_WORDS`] (so `password`, `newPassword`, `client_secret`,
//! `accessToken`, `x-api-key`, `privateKey`) or is one of [`CREDENTIAL_NAMES`] (short words
//! such as `pin` that would match too much as a part: `mapping`, `shipping`). Redacted are:
//! the value of every credential-like object key, at any depth; the `value` of any object whose
//! `path` is credential-like (a PATCH operation such as `{"op": "replace", "path": "password",
//! "value": "..."}`); a `filter` that mentions a credential-like attribute; and likewise a
//! query string. Whatever was removed is also scrubbed from the error detail (`scrub`).

use crate::scim::query::form_decoded;
use serde_json::Value;

pub const REDACTED: &str = "[redacted]";

/// Parts of a name that make it credential-like.
pub const CREDENTIAL_WORDS: [&str; 11] = [
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "credential",
    "apikey",
    "privatekey",
    "authorization",
    "cookie",
    "sessionid",
];

/// Whole names that are credential-like.
pub const CREDENTIAL_NAMES: [&str; 5] = ["pin", "pwd", "otp", "pass", "key"];

fn normalized(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether a key, attribute path or parameter name names a credential.
pub fn is_credential_name(name: &str) -> bool {
    let name = normalized(name);
    CREDENTIAL_NAMES.contains(&name.as_str())
        || CREDENTIAL_WORDS.iter().any(|word| name.contains(word))
}

/// Whether free text (a filter, a PATCH path) mentions a credential-like name anywhere.
fn mentions_credential(text: &str) -> bool {
    let flat = normalized(text);
    CREDENTIAL_WORDS.iter().any(|word| flat.contains(word))
        || text
            .split(|c: char| !c.is_alphanumeric())
            .any(|word| CREDENTIAL_NAMES.contains(&word.to_lowercase().as_str()))
}

/// Replaces every credential in `value`, in place; returns the text of what it removed, so
/// that an error message quoting it can be cleaned too (`scrub`).
pub fn redact(value: &mut Value) -> Vec<String> {
    let mut removed = Vec::new();
    redact_into(value, &mut removed);
    removed
}

fn redact_into(value: &mut Value, removed: &mut Vec<String>) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(|item| redact_into(item, removed)),
        Value::Object(object) => {
            let credential_path = object
                .iter()
                .any(|(key, path)| key.eq_ignore_ascii_case("path") && is_credential_path(path));
            for (key, field) in object.iter_mut() {
                let hidden = is_credential_name(key)
                    || (credential_path && key.eq_ignore_ascii_case("value"))
                    || (key.eq_ignore_ascii_case("filter")
                        && field.as_str().is_some_and(mentions_credential));
                if hidden {
                    let secret = std::mem::replace(field, Value::String(REDACTED.to_string()));
                    leaves(&secret, removed);
                } else {
                    redact_into(field, removed);
                }
            }
        }
        _ => {}
    }
}

/// The text of every string and number in `value`.
fn leaves(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::String(text) => into.push(text.clone()),
        Value::Number(number) => into.push(number.to_string()),
        Value::Array(items) => items.iter().for_each(|item| leaves(item, into)),
        Value::Object(members) => members.values().for_each(|member| leaves(member, into)),
        Value::Null | Value::Bool(_) => {}
    }
}

/// Shortest removed value `scrub` hides: shorter ones would match inside ordinary words.
pub const SCRUBBED_CHARS: usize = 4;

/// `text` without any of the `removed` values (of at least `SCRUBBED_CHARS` characters): an
/// error detail may quote what it refused.
pub fn scrub(text: &str, removed: &[String]) -> String {
    removed
        .iter()
        .filter(|secret| secret.chars().count() >= SCRUBBED_CHARS)
        .fold(text.to_string(), |text, secret| {
            text.replace(secret.as_str(), REDACTED)
        })
}

fn is_credential_path(path: &Value) -> bool {
    path.as_str().is_some_and(mentions_credential)
}

/// The path and query of a request, its query replaced when it mentions a credential.
pub fn redact_query(path_and_query: &str) -> String {
    match path_and_query.split_once('?') {
        Some((path, query)) if mentions_credential(&percent_decoded(query)) => {
            format!("{path}?{REDACTED}")
        }
        _ => path_and_query.to_string(),
    }
}

/// A query string with `%XX` and `+` decoded, enough to see the words in it.
fn percent_decoded(query: &str) -> String {
    String::from_utf8_lossy(&form_decoded(query)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn credential_names_are_recognised_in_any_spelling() {
        for name in [
            "password",
            "Password",
            "newPassword",
            "client_secret",
            "accessToken",
            "x-api-key",
            "API_KEY",
            "privateKey",
            "pin",
            "PIN",
            "Credentials",
        ] {
            assert!(is_credential_name(name), "{name}");
        }
        for name in [
            "userName",
            "mapping",
            "shipping",
            "displayName",
            "keyId",
            "value",
        ] {
            assert!(!is_credential_name(name), "{name}");
        }
    }

    #[test]
    fn credentials_are_redacted_at_any_depth() {
        let mut body = json!({
            "userName": "ann",
            "password": "hunter2",
            "urn:example:custom": {"apiToken": "t0k", "pin": 1234},
            "emails": [{"value": "ann@corp", "secret": ["a", "b"]}],
        });
        redact(&mut body);
        assert_eq!(
            body,
            json!({
                "userName": "ann",
                "password": REDACTED,
                "urn:example:custom": {"apiToken": REDACTED, "pin": REDACTED},
                "emails": [{"value": "ann@corp", "secret": REDACTED}],
            })
        );
    }

    #[test]
    fn a_patch_of_a_credential_path_loses_its_value() {
        let mut body = json!({"Operations": [
            {"op": "replace", "path": "password", "value": "hunter2"},
            {"op": "Replace", "Path": "urn:ietf:params:scim:schemas:core:2.0:User:password", "Value": "x"},
            {"op": "replace", "path": "title", "value": "Lead"},
            {"op": "replace", "value": {"password": "y", "active": false}},
        ]});
        redact(&mut body);
        assert_eq!(
            body["Operations"],
            json!([
                {"op": "replace", "path": "password", "value": REDACTED},
                {"op": "Replace", "Path": "urn:ietf:params:scim:schemas:core:2.0:User:password", "Value": REDACTED},
                {"op": "replace", "path": "title", "value": "Lead"},
                {"op": "replace", "value": {"password": REDACTED, "active": false}},
            ])
        );
    }

    #[test]
    fn filters_and_queries_that_mention_credentials_are_hidden() {
        let mut search = json!({"filter": "password eq \"hunter2\"", "count": 1});
        redact(&mut search);
        assert_eq!(search["filter"], REDACTED);
        let mut harmless = json!({"filter": "userName eq \"ann\""});
        redact(&mut harmless);
        assert_eq!(harmless["filter"], "userName eq \"ann\"");
        assert_eq!(
            redact_query("/scim/v2/Users?filter=pass%77ord+eq+%22x%22"),
            "/scim/v2/Users?[redacted]"
        );
        assert_eq!(
            redact_query("/scim/v2/Users?filter=userName%20eq%20%22ann%22"),
            "/scim/v2/Users?filter=userName%20eq%20%22ann%22"
        );
    }

    #[test]
    fn what_was_redacted_is_scrubbed_from_messages() {
        let mut body =
            json!({"userName": "ann", "password": "hunter2", "pin": 1234, "x": {"secret": ["ab"]}});
        let removed = redact(&mut body);
        assert_eq!(removed, ["hunter2", "1234", "ab"]);
        assert_eq!(
            scrub(
                "password \"hunter2\" rejected; pin 1234; about ab",
                &removed
            ),
            "password \"[redacted]\" rejected; pin [redacted]; about ab"
        );
    }

    const MARK: &str = "SECRET-MARK";

    fn key() -> impl Strategy<Value = (String, bool)> {
        prop_oneof![
            prop::sample::select(vec!["userName", "value", "op", "path", "emails", "title"])
                .prop_map(|key| (key.to_string(), false)),
            (
                prop::sample::select(CREDENTIAL_WORDS.to_vec()),
                "[a-z_]{0,3}",
                "[A-Za-z_-]{0,3}",
                any::<bool>()
            )
                .prop_map(|(word, before, after, upper)| {
                    let word = if upper {
                        word.to_uppercase()
                    } else {
                        word.to_string()
                    };
                    (format!("{before}{word}{after}"), true)
                }),
            prop::sample::select(CREDENTIAL_NAMES.to_vec())
                .prop_map(|name| (name.to_string(), true)),
        ]
    }

    /// A JSON tree in which exactly the values under credential-like keys (and the `value` of
    /// credential paths) carry `MARK`.
    fn tree() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            "[a-z ]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            let secret = inner.clone().prop_map(|value| json!([MARK, value]));
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((key(), inner.clone(), secret), 0..5).prop_map(|fields| {
                    let mut object = serde_json::Map::new();
                    for ((key, credential), plain, secret) in fields {
                        if credential {
                            object.insert(key, secret);
                        } else if key != "path" && key != "value" {
                            object.insert(key, plain);
                        }
                    }
                    Value::Object(object)
                }),
                (prop::sample::select(CREDENTIAL_WORDS.to_vec()), inner.clone()).prop_map(
                    |(word, plain)| json!({"op": "replace", "path": word, "value": [MARK, plain]})
                ),
            ]
        })
    }

    proptest! {
        #[test]
        fn no_credential_value_survives(mut body in tree()) {
            redact(&mut body);
            let text = body.to_string();
            prop_assert!(!text.contains(MARK), "{}", text);
        }

        #[test]
        fn redaction_is_idempotent(mut body in tree()) {
            redact(&mut body);
            let once = body.clone();
            redact(&mut body);
            prop_assert_eq!(once, body);
        }
    }
}
