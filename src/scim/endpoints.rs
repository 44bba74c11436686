//! The SCIM endpoint names (RFC 7644 §3.2) as scimd spells them, and the canonical form of a
//! path that spells them otherwise.
//!
//! Microsoft's SCIM validator and test collection send `/users`, `/Users/` and
//! `/users/.search`; lenient servers answer them, so scimd does too. Only the endpoint name's
//! case and one trailing slash are forgiven: a resource id (a user's, a schema's URN) is
//! matched exactly as sent. Responses always name the canonical form. Pure: no HTTP.

use std::borrow::Cow;

/// The endpoints, each as it is routed and shown in `location` and `meta`.
const ENDPOINTS: [&str; 7] = [
    "Users",
    "Groups",
    "Bulk",
    "ServiceProviderConfig",
    "ResourceTypes",
    "Schemas",
    SEARCH,
];

const SEARCH: &str = ".search";

/// Endpoints whose resources can be searched at `{endpoint}/.search`.
const SEARCHABLE: [&str; 2] = ["Users", "Groups"];

/// `path` (relative to the SCIM base, e.g. `/users/`) with its endpoint name spelled as scimd
/// spells it and without one trailing slash; a slice of `path` when no name is respelled.
pub fn canonical_path(path: &str) -> Cow<'_, str> {
    let trimmed = match path.strip_suffix('/') {
        Some(rest) if !rest.is_empty() => rest,
        _ => path,
    };
    let Some(relative) = trimmed.strip_prefix('/') else {
        return Cow::Borrowed(path);
    };
    let mut segments = relative.splitn(3, '/');
    let (first, second, rest) = (
        segments.next().unwrap_or_default(),
        segments.next(),
        segments.next(),
    );
    let Some(endpoint) = spelled(first, &ENDPOINTS) else {
        return Cow::Borrowed(trimmed);
    };
    let search = second
        .filter(|segment| SEARCHABLE.contains(&endpoint) && segment.eq_ignore_ascii_case(SEARCH))
        .map(|_| SEARCH);
    if endpoint == first && search.is_none_or(|search| Some(search) == second) {
        return Cow::Borrowed(trimmed);
    }
    let second = search.or(second);
    let mut canonical = format!("/{endpoint}");
    for segment in [second, rest].into_iter().flatten() {
        canonical.push('/');
        canonical.push_str(segment);
    }
    Cow::Owned(canonical)
}

/// The canonical spelling among `names` of `segment`, compared without regard to ASCII case.
fn spelled(segment: &str, names: &[&'static str]) -> Option<&'static str> {
    names
        .iter()
        .copied()
        .find(|name| name.eq_ignore_ascii_case(segment))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn endpoint_names_in_any_case_and_a_trailing_slash_are_forgiven() {
        let cases = [
            ("/users", "/Users"),
            ("/USERS/", "/Users"),
            ("/Users/", "/Users"),
            ("/GROUPS", "/Groups"),
            ("/users/.search", "/Users/.search"),
            ("/Groups/.SEARCH/", "/Groups/.search"),
            ("/.Search", "/.search"),
            ("/bulk", "/Bulk"),
            ("/serviceproviderconfig", "/ServiceProviderConfig"),
            ("/schemas", "/Schemas"),
            ("/resourcetypes/", "/ResourceTypes"),
            ("/resourcetypes/User", "/ResourceTypes/User"),
            (
                "/users/2819c223-7f76-453a-919d-413861904646",
                "/Users/2819c223-7f76-453a-919d-413861904646",
            ),
        ];
        for (sent, canonical) in cases {
            assert_eq!(canonical_path(sent), canonical, "{sent}");
        }
    }

    #[test]
    fn ids_and_unknown_endpoints_keep_their_case() {
        let cases = [
            ("/users/AbC-9", "/Users/AbC-9"),
            ("/Users/AbC-9/", "/Users/AbC-9"),
            (
                "/schemas/urn:ietf:params:scim:schemas:core:2.0:User",
                "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
            ),
            ("/schemas/.search", "/Schemas/.search"),
            ("/Devices", "/Devices"),
            ("/devices/", "/devices"),
            ("/UsersX", "/UsersX"),
            ("/Users/a/b", "/Users/a/b"),
            ("/", "/"),
            ("", ""),
        ];
        for (sent, canonical) in cases {
            assert_eq!(canonical_path(sent), canonical, "{sent}");
        }
    }

    #[test]
    fn a_canonical_path_is_borrowed_as_it_is() {
        for path in [
            "/Users",
            "/Users/abc",
            "/Groups/.search",
            "/Schemas/urn:x",
            "/x/y",
        ] {
            assert!(
                matches!(canonical_path(path), Cow::Borrowed(p) if p == path),
                "{path}"
            );
        }
    }

    /// `name` with the case of each letter chosen by `flips`.
    fn recased(name: &str, flips: &[bool]) -> String {
        name.chars()
            .zip(flips.iter().cycle())
            .map(|(c, flip)| {
                if *flip {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    }

    proptest! {
        #[test]
        fn any_spelling_of_an_endpoint_and_id_gives_the_canonical_path(
            endpoint in proptest::sample::select(ENDPOINTS.to_vec()),
            flips in proptest::collection::vec(any::<bool>(), 1..8),
            id in "[^/]{1,20}",
            with_id in any::<bool>(),
            slash in any::<bool>(),
        ) {
            let id = if id.eq_ignore_ascii_case(SEARCH) { format!("{id}x") } else { id };
            let suffix = if with_id { format!("/{id}") } else { String::new() };
            let sent = format!("/{}{suffix}{}", recased(endpoint, &flips), if slash { "/" } else { "" });
            let canonical = format!("/{endpoint}{suffix}");
            prop_assert_eq!(canonical_path(&sent).into_owned(), canonical.clone());
            prop_assert_eq!(canonical_path(&canonical).into_owned(), canonical);
        }

        #[test]
        fn a_path_outside_the_endpoints_changes_at_most_by_one_trailing_slash(
            path in "(/[^/]{0,10}){0,4}/?",
        ) {
            let first = path.trim_start_matches('/').split('/').next().unwrap_or_default();
            prop_assume!(spelled(first, &ENDPOINTS).is_none());
            let got = canonical_path(&path);
            prop_assert!(got == path || (format!("{got}/") == path && !got.is_empty()), "{} -> {}", path, got);
        }
    }
}
