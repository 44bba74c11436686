//! A SCIM request's query string (RFC 7644 §3.4.2): `application/x-www-form-urlencoded`
//! pairs whose names and values must be UTF-8 once percent-decoded.
//!
//! A lossy decode would turn `filter=userName eq "%FF%FE"` into a filter for two U+FFFD and
//! answer 200 with nothing found; a client that sent bytes scimd cannot read is told so, with
//! the `scimType` of the parameter it got wrong. Pure: no HTTP, no store.

use crate::scim::error::{ScimError, ScimType};
use percent_encoding::percent_decode;
use std::collections::HashMap;

/// The parameters of `query` (without its `?`). A name given twice keeps its last value.
pub fn parse_query(query: &str) -> Result<HashMap<String, String>, ScimError> {
    let mut params = HashMap::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode(name).map_err(|lossy| {
            ScimError::invalid_value(format!(
                "the query parameter name {lossy:?} is not UTF-8 once percent-decoded"
            ))
        })?;
        let value = decode(value).map_err(|_| not_utf8(&name))?;
        params.insert(name, value);
    }
    Ok(params)
}

/// The bytes of a query string's name or value: `+` read as a space and `%XX` as the byte XX
/// (a `%` not followed by two hex digits stays as it is).
pub fn form_decoded(text: &str) -> Vec<u8> {
    let spaced = text.replace('+', " ");
    percent_decode(spaced.as_bytes()).collect()
}

/// `text` decoded (`form_decoded`) as UTF-8; or, when that is not UTF-8, its lossy reading for
/// the message.
fn decode(text: &str) -> Result<String, String> {
    String::from_utf8(form_decoded(text))
        .map_err(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
}

/// The error for parameter `name` whose value is not UTF-8, with the `scimType` a bad value of
/// that parameter has anywhere else (names are case-insensitive, RFC 7644 §3.4.2).
fn not_utf8(name: &str) -> ScimError {
    let scim_type = if name.eq_ignore_ascii_case("filter") {
        ScimType::InvalidFilter
    } else if name.eq_ignore_ascii_case("cursor") {
        ScimType::InvalidCursor
    } else {
        ScimType::InvalidValue
    };
    ScimError::bad_request(
        scim_type,
        format!("the value of {name} is not UTF-8 once percent-decoded"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    use proptest::prelude::*;

    fn scim_type(query: &str) -> Option<ScimType> {
        parse_query(query).err().and_then(|error| error.scim_type)
    }

    #[test]
    fn pairs_are_percent_and_plus_decoded() {
        let params = parse_query("filter=userName+eq+%22b%C3%A9a%22&count=2&&flag&startIndex=")
            .unwrap_or_default();
        assert_eq!(
            params.get("filter").map(String::as_str),
            Some("userName eq \"béa\"")
        );
        assert_eq!(params.get("count").map(String::as_str), Some("2"));
        assert_eq!(params.get("flag").map(String::as_str), Some(""));
        assert_eq!(params.get("startIndex").map(String::as_str), Some(""));
        assert_eq!(params.len(), 4);
    }

    #[test]
    fn a_stray_percent_stays_and_a_repeated_name_keeps_its_last_value() {
        let params = parse_query("filter=a%zz&count=1&count=5%").unwrap_or_default();
        assert_eq!(params.get("filter").map(String::as_str), Some("a%zz"));
        assert_eq!(params.get("count").map(String::as_str), Some("5%"));
    }

    #[test]
    fn a_value_that_is_not_utf8_is_refused_with_its_parameters_scim_type() {
        let filter = "filter=userName%20eq%20%22%FF%FE%22";
        assert_eq!(scim_type(filter), Some(ScimType::InvalidFilter));
        assert_eq!(scim_type("FILTER=%C3"), Some(ScimType::InvalidFilter));
        assert_eq!(scim_type("cursor=%80"), Some(ScimType::InvalidCursor));
        for name in [
            "attributes",
            "excludedAttributes",
            "sortBy",
            "sortOrder",
            "count",
            "x",
        ] {
            assert_eq!(
                scim_type(&format!("{name}=a%FFb")),
                Some(ScimType::InvalidValue),
                "{name}"
            );
        }
        assert_eq!(scim_type("%FF=1"), Some(ScimType::InvalidValue));
        let error = parse_query(filter).err().map(|error| error.status.as_u16());
        assert_eq!(error, Some(400));
    }

    proptest! {
        #[test]
        fn encoded_parameters_parse_back(
            params in proptest::collection::hash_map(".{1,12}", ".{0,24}", 0..6)
        ) {
            let query = params
                .iter()
                .map(|(name, value)| {
                    format!(
                        "{}={}",
                        utf8_percent_encode(name, NON_ALPHANUMERIC),
                        utf8_percent_encode(value, NON_ALPHANUMERIC)
                    )
                })
                .collect::<Vec<_>>()
                .join("&");
            prop_assert_eq!(parse_query(&query), Ok(params));
        }

        #[test]
        fn a_value_whose_bytes_are_not_utf8_is_always_refused(
            prefix in proptest::collection::vec(any::<u8>(), 0..8),
            suffix in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            // 0xFF never occurs in UTF-8.
            let mut bytes = prefix;
            bytes.push(0xFF);
            bytes.extend(suffix);
            let value: String = bytes.iter().map(|byte| format!("%{byte:02X}")).collect();
            let refused = parse_query(&format!("filter={value}"))
                .err()
                .and_then(|error| error.scim_type);
            prop_assert_eq!(refused, Some(ScimType::InvalidFilter));
        }
    }
}
