//! The SCIM PATCH operation `path` (RFC 7644 §3.5.2): parser and canonical printer.
//!
//! Pure: syntax only, no schema knowledge, no I/O. Whether the attribute exists,
//! is multi-valued or may be modified is the PATCH engine's business. Paths come
//! from request bodies, so the filter parser's no-panic rules and length/depth
//! limits apply here too, and messages reach clients as `invalidPath` details.

use std::fmt;

use crate::scim::filter::lex::{is_space, quote, Tok};
use crate::scim::filter::parse::{check_length_within, Parser};
use crate::scim::filter::{AttrPath, Filter, FilterError, FilterErrorKind::Syntax, FilterLimits};

/// A PATCH `path` (RFC 7644 §3.5.2): `attrPath` | `valuePath ["." subAttr]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// For `name.givenName`, attr = {name, sub_attr: Some(givenName)}; for `emails[...]` attr has no sub_attr.
    pub attr: AttrPath,
    /// The `[...]` value filter, if any (same relative-path rules as Filter::ValuePath).
    pub filter: Option<Filter>,
    /// For `emails[type eq "work"].value`: Some("value"). Only allowed after a filter.
    pub sub_attr: Option<String>,
}

/// Why a PATCH path was rejected. Offsets count characters from the start of the path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path outside the `[...]` is malformed.
    #[error("{message}")]
    Invalid { offset: usize, message: String },
    /// The `[...]` value filter is malformed.
    #[error("invalid value filter in path: {0}")]
    Filter(FilterError),
}

impl PathError {
    /// Character offset into the path where the problem was found.
    pub fn offset(&self) -> usize {
        match self {
            PathError::Invalid { offset, .. } => *offset,
            PathError::Filter(e) => e.offset(),
        }
    }
}

fn invalid(e: FilterError) -> PathError {
    PathError::Invalid {
        offset: e.offset(),
        message: e.to_string(),
    }
}

/// Parses the `path` of a PATCH operation (or an attribute name given elsewhere) within the
/// default filter limits.
pub fn parse_patch_path(input: &str) -> Result<PatchPath, PathError> {
    parse_patch_path_within(input, FilterLimits::default())
}

/// Parses the `path` of a PATCH operation; its value filter is bound by `limits`, as any
/// filter is.
pub fn parse_patch_path_within(input: &str, limits: FilterLimits) -> Result<PatchPath, PathError> {
    check_length_within(input, "path", limits.max_length).map_err(invalid)?;
    let mut p = Parser::within(input, limits);
    let first = p.next().map_err(invalid)?;
    let word = match first.tok {
        Tok::Word(word) => word,
        Tok::End => {
            let message = "path is empty".into();
            return Err(PathError::Invalid { offset: 0, message });
        }
        other => {
            let problem = "expected an attribute path";
            let found = format!(", found {other}");
            return Err(invalid(p.fail(Syntax, first.at, problem, found)));
        }
    };
    let attr = p.attr_path(word, first.at, None).map_err(invalid)?;
    let token = p.next().map_err(invalid)?;
    let filter = match token.tok {
        Tok::End => None,
        Tok::OpenBracket => {
            p.check_filterable(&attr, token.at).map_err(invalid)?;
            Some(p.value_filter(&attr, token.at).map_err(PathError::Filter)?)
        }
        other => {
            let problem = format!("unexpected {other}");
            let detail = format!(
                " after the attribute path {}; expected '[' or end of path",
                quote(word)
            );
            return Err(invalid(p.fail(Syntax, token.at, problem, detail)));
        }
    };
    let sub_attr = match filter {
        Some(_) => trailing_sub_attr(&p)?,
        None => None,
    };
    Ok(PatchPath {
        attr,
        filter,
        sub_attr,
    })
}

/// The optional `.subAttr` right after `]`, read from the raw text because, unlike
/// anywhere else, no whitespace may come between (RFC 7644 §3.5.2 has none).
fn trailing_sub_attr(p: &Parser<'_>) -> Result<Option<String>, PathError> {
    let rest = p.rest().trim_end_matches(is_space);
    if rest.is_empty() {
        return Ok(None);
    }
    let at = p.pos();
    let Some(sub) = rest.strip_prefix('.') else {
        let problem = format!("unexpected {}", quote(rest));
        let detail = " after ']'; expected end of path or '.subAttribute'";
        return Err(invalid(p.fail(Syntax, at, problem, detail)));
    };
    p.check_name(sub, at + 1, "sub-attribute name")
        .map_err(invalid)?;
    Ok(Some(sub.to_owned()))
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::{parse_filter, CompValue, CompareOp};
    use proptest::prelude::*;

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn attr(urn: Option<&str>, name: &str, sub_attr: Option<&str>) -> AttrPath {
        AttrPath {
            urn: urn.map(Into::into),
            name: name.into(),
            sub_attr: sub_attr.map(Into::into),
        }
    }

    fn filter(text: &str) -> Option<Filter> {
        Some(parse_filter(text).expect("test filter"))
    }

    #[test]
    fn parses_valid_paths() {
        let path = |attr, filter, sub_attr: Option<&str>| PatchPath {
            attr,
            filter,
            sub_attr: sub_attr.map(Into::into),
        };
        let cases = [
            ("userName", path(attr(None, "userName", None), None, None)),
            (
                "name.givenName",
                path(attr(None, "name", Some("givenName")), None, None),
            ),
            ("emails", path(attr(None, "emails", None), None, None)),
            (
                r#"emails[type eq "work"]"#,
                path(
                    attr(None, "emails", None),
                    filter(r#"type eq "work""#),
                    None,
                ),
            ),
            (
                r#"emails[type eq "work"].value"#,
                path(
                    attr(None, "emails", None),
                    filter(r#"type eq "work""#),
                    Some("value"),
                ),
            ),
            (
                r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
                path(
                    attr(None, "members", None),
                    filter(r#"value eq "2819c223-7f76-453a-919d-413861904646""#),
                    None,
                ),
            ),
            (
                r#"addresses[type eq "work" and primary eq true].country"#,
                path(
                    attr(None, "addresses", None),
                    filter(r#"type eq "work" and primary eq true"#),
                    Some("country"),
                ),
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
                path(attr(Some(ENTERPRISE), "employeeNumber", None), None, None),
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
                path(attr(Some(ENTERPRISE), "manager", Some("value")), None, None),
            ),
            (
                ENTERPRISE,
                path(
                    attr(
                        Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0"),
                        "User",
                        None,
                    ),
                    None,
                    None,
                ),
            ),
            // Entra ID: "True" is a string, not a boolean.
            (
                r#"roles[primary eq "True"].value"#,
                path(
                    attr(None, "roles", None),
                    Some(Filter::Compare {
                        path: attr(None, "primary", None),
                        op: CompareOp::Eq,
                        value: CompValue::String("True".into()),
                    }),
                    Some("value"),
                ),
            ),
            (
                "members[value pr].$ref",
                path(
                    attr(None, "members", None),
                    filter("value pr"),
                    Some("$ref"),
                ),
            ),
            (
                "  emails[ type EQ \"a\" ].value  ",
                path(
                    attr(None, "emails", None),
                    filter(r#"type eq "a""#),
                    Some("value"),
                ),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse_patch_path(input), Ok(want.clone()), "input: {input}");
            assert_eq!(
                parse_patch_path(&want.to_string()),
                Ok(want),
                "input: {input}"
            );
        }
    }

    #[test]
    fn rejects_invalid_paths() {
        let long = "a".repeat(crate::scim::filter::MAX_FILTER_LENGTH + 1);
        // (input, error is inside the value filter, offset, message fragment)
        let cases: Vec<(&str, bool, usize, &str)> = vec![
            ("", false, 0, "path is empty"),
            ("   ", false, 0, "path is empty"),
            (&long, false, 16384, "path is 16385 bytes long"),
            ("1name", false, 0, r#"attribute name "1name" at offset 0 must start with a letter"#),
            ("name.given.x", false, 10, "at most one sub-attribute"),
            ("name givenName", false, 5, r#"unexpected "givenName" at offset 5 after the attribute path "name""#),
            ("emails]", false, 6, "unexpected ']' at offset 6"),
            (r#""emails""#, false, 0, "expected an attribute path at offset 0, found the string"),
            ("urn:x pr", false, 0, "incomplete schema URN"),
            (r#"name.givenName[type eq "x"]"#, false, 14, "not the sub-attribute \"name.givenName\""),
            (r#"emails[type eq "work"]x"#, false, 22, r#"unexpected "x" at offset 22 after ']'"#),
            (r#"emails[type eq "work"] .value"#, false, 22, "expected end of path or '.subAttribute'"),
            (r#"emails[type eq "work"][value pr]"#, false, 22, "after ']'"),
            (r#"emails[type eq "work"]."#, false, 23, "expected sub-attribute name at offset 23"),
            (r#"emails[type eq "work"].value.x"#, false, 28, "at most one sub-attribute"),
            (r#"emails[type eq "work"].va lue"#, false, 25, "invalid character ' '"),
            (r#"emails[type eq "work""#, true, 21, "invalid value filter in path: expected 'and', 'or' or ']' at offset 21 to close the '[' at offset 6"),
            ("emails[type eq]", true, 14, "invalid value filter in path: expected a comparison value after 'eq' at offset 14, found ']'"),
            ("emails[]", true, 7, "found ']'"),
            (r#"emails[type.x eq "a"]"#, true, 7, "not allowed inside the value filter"),
            (r#"emails[value eq "\q"]"#, true, 17, "invalid escape"),
            ("emails[a[b pr]]", true, 8, "value filters cannot be nested"),
        ];
        for (input, in_filter, offset, message) in cases {
            let err = parse_patch_path(input).expect_err(input);
            assert_eq!(
                matches!(err, PathError::Filter(_)),
                in_filter,
                "input: {input}: {err}"
            );
            assert_eq!(err.offset(), offset, "input: {input}: {err}");
            assert!(
                err.to_string().contains(message),
                "input: {input}\n got: {err}\nwant: {message}"
            );
        }
    }

    #[test]
    fn deep_value_filters_are_rejected() {
        let input = format!("emails[{}a pr{}]", "(".repeat(100), ")".repeat(100));
        assert!(matches!(
            parse_patch_path(&input),
            Err(PathError::Filter(_))
        ));
        let input = format!("emails[{}", "(".repeat(100_000));
        assert!(matches!(
            parse_patch_path(&input),
            Err(PathError::Invalid { .. })
        ));
    }

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![9 => "[a-zA-Z][a-zA-Z0-9_-]{0,8}", 1 => Just("$ref".to_owned())]
    }

    fn patch_path() -> impl Strategy<Value = PatchPath> {
        use crate::scim::filter::parse::tests as gen;
        let plain = gen::attr_path().prop_map(|attr| PatchPath {
            attr,
            filter: None,
            sub_attr: None,
        });
        let filtered = (
            gen::attr_path(),
            gen::value_filter(),
            proptest::option::of(name()),
        )
            .prop_map(|(attr, filter, sub_attr)| PatchPath {
                attr: AttrPath {
                    sub_attr: None,
                    ..attr
                },
                filter: Some(filter),
                sub_attr,
            });
        prop_oneof![plain, filtered]
    }

    proptest! {
        #[test]
        fn printed_paths_parse_back(path in patch_path()) {
            let printed = path.to_string();
            prop_assert_eq!(parse_patch_path(&printed), Ok(path), "printed: {}", printed);
        }

        #[test]
        fn never_panics_on_text(input in any::<String>()) {
            let _ = parse_patch_path(&input);
        }

        #[test]
        fn never_panics_on_token_soup(input in crate::scim::filter::parse::tests::token_soup()) {
            if let Ok(path) = parse_patch_path(&input) {
                prop_assert_eq!(parse_patch_path(&path.to_string()), Ok(path));
            }
        }
    }
}
