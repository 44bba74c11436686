//! The filter parser's tests. Also provides the AST generators that the PATCH
//! path tests reuse, by this module path (`crate::scim::filter::parse::tests`).
//!
//! Test-only; like the parser, no schema knowledge and no I/O.

use super::*;
use crate::scim::filter::{MAX_FILTER_DEPTH, MAX_FILTER_LENGTH};
use proptest::prelude::*;

fn path(name: &str) -> AttrPath {
    AttrPath {
        urn: None,
        name: name.into(),
        sub_attr: None,
    }
}
fn sub(name: &str, sub: &str) -> AttrPath {
    AttrPath {
        sub_attr: Some(sub.into()),
        ..path(name)
    }
}
fn urn(urn: &str, name: &str, sub_attr: Option<&str>) -> AttrPath {
    AttrPath {
        urn: Some(urn.into()),
        name: name.into(),
        sub_attr: sub_attr.map(Into::into),
    }
}
fn cmp(path: AttrPath, op: CompareOp, value: CompValue) -> Filter {
    Filter::Compare { path, op, value }
}
fn eq(name: &str, value: &str) -> Filter {
    cmp(path(name), CompareOp::Eq, s(value))
}
fn s(value: &str) -> CompValue {
    CompValue::String(value.into())
}
fn n(value: i64) -> CompValue {
    CompValue::Number(value.into())
}
fn num(text: &str) -> CompValue {
    CompValue::Number(text.parse().expect("test number"))
}
fn pr(path: AttrPath) -> Filter {
    Filter::Present(path)
}
fn and(a: Filter, b: Filter) -> Filter {
    Filter::And(Box::new(a), Box::new(b))
}
fn or(a: Filter, b: Filter) -> Filter {
    Filter::Or(Box::new(a), Box::new(b))
}
fn not(a: Filter) -> Filter {
    Filter::Not(Box::new(a))
}
fn vp(name: &str, filter: Filter) -> Filter {
    Filter::ValuePath {
        attr: path(name),
        filter: Box::new(filter),
    }
}

const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

#[test]
fn parses_valid_filters() {
    use CompareOp::*;
    let cases: Vec<(&str, Filter)> = vec![
        // Entra ID's `valuePath.subAttr` comparison, read as one value filter.
        (
            r#"emails[type eq "work"].value eq "x""#,
            vp("emails", and(eq("type", "work"), eq("value", "x"))),
        ),
        (
            r#"emails[type eq "work" or primary pr].display pr"#,
            vp(
                "emails",
                and(
                    or(eq("type", "work"), pr(path("primary"))),
                    pr(path("display")),
                ),
            ),
        ),
        // RFC 7644 §3.4.2.2 examples.
        (r#"userName Eq "john""#, eq("userName", "john")),
        (
            r#"name.familyName co "O'Malley""#,
            cmp(sub("name", "familyName"), Co, s("O'Malley")),
        ),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            cmp(urn(CORE_USER, "userName", None), Sw, s("J")),
        ),
        ("title pr", pr(path("title"))),
        (
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            cmp(sub("meta", "lastModified"), Gt, s("2011-05-13T04:42:34Z")),
        ),
        (
            r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
            cmp(sub("meta", "lastModified"), Le, s("2011-05-13T04:42:34Z")),
        ),
        (
            r#"title pr and userType eq "Employee""#,
            and(pr(path("title")), eq("userType", "Employee")),
        ),
        (
            r#"title pr or userType eq "Intern""#,
            or(pr(path("title")), eq("userType", "Intern")),
        ),
        (
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            eq("schemas", ENTERPRISE),
        ),
        (
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            and(
                eq("userType", "Employee"),
                or(
                    cmp(path("emails"), Co, s("example.com")),
                    cmp(sub("emails", "value"), Co, s("example.org")),
                ),
            ),
        ),
        (
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            and(
                cmp(path("userType"), Ne, s("Employee")),
                not(or(
                    cmp(path("emails"), Co, s("example.com")),
                    cmp(sub("emails", "value"), Co, s("example.org")),
                )),
            ),
        ),
        (
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            and(
                eq("userType", "Employee"),
                vp(
                    "emails",
                    and(
                        eq("type", "work"),
                        cmp(path("value"), Co, s("@example.com")),
                    ),
                ),
            ),
        ),
        (
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
            or(
                vp(
                    "emails",
                    and(
                        eq("type", "work"),
                        cmp(path("value"), Co, s("@example.com")),
                    ),
                ),
                vp(
                    "ims",
                    and(eq("type", "xmpp"), cmp(path("value"), Co, s("@foo.com"))),
                ),
            ),
        ),
        // Precedence and associativity.
        (
            "a eq 1 or b eq 2 and c eq 3",
            or(
                cmp(path("a"), Eq, n(1)),
                and(cmp(path("b"), Eq, n(2)), cmp(path("c"), Eq, n(3))),
            ),
        ),
        (
            "a pr and b pr or c pr",
            or(and(pr(path("a")), pr(path("b"))), pr(path("c"))),
        ),
        (
            "a pr and b pr and c pr",
            and(and(pr(path("a")), pr(path("b"))), pr(path("c"))),
        ),
        (
            "a pr or b pr or c pr",
            or(or(pr(path("a")), pr(path("b"))), pr(path("c"))),
        ),
        (
            "a pr and (b pr and c pr)",
            and(pr(path("a")), and(pr(path("b")), pr(path("c")))),
        ),
        ("((a pr))", pr(path("a"))),
        ("not(a pr)", not(pr(path("a")))),
        ("NOT (not (a pr))", not(not(pr(path("a"))))),
        // Case-insensitive keywords, operators and literals; names keep their case.
        (
            "UserName EQ TRUE AND x Pr OR y nE False",
            or(
                and(
                    cmp(path("UserName"), Eq, CompValue::Bool(true)),
                    pr(path("x")),
                ),
                cmp(path("y"), Ne, CompValue::Bool(false)),
            ),
        ),
        ("a eq Null", cmp(path("a"), Eq, CompValue::Null)),
        ("a ge -1.5e3", cmp(path("a"), Ge, num("-1.5e3"))),
        ("a lt 0.25", cmp(path("a"), Lt, num("0.25"))),
        (
            "a ew 18446744073709551615",
            cmp(path("a"), Ew, CompValue::Number(u64::MAX.into())),
        ),
        // Escapes, including a surrogate pair.
        (
            r#"a eq "q\"b\\s\/\b\f\n\r\t\u00e9\ud83d\ude00""#,
            eq("a", "q\"b\\s/\u{8}\u{c}\n\r\té😀"),
        ),
        (r#"a eq """#, eq("a", "")),
        // Entra ID sends booleans as strings; they stay strings.
        (
            r#"roles[primary eq "True"]"#,
            vp("roles", eq("primary", "True")),
        ),
        // Lenient whitespace and separators.
        ("  \tuserName   eq\t\"x\"  ", eq("userName", "x")),
        (r#"userName eq"x""#, eq("userName", "x")),
        (r#"(a eq"x")and(b pr)"#, and(eq("a", "x"), pr(path("b")))),
        (
            r#"emails [type eq "work"]"#,
            vp("emails", eq("type", "work")),
        ),
        // URNs: the last ':' ends the URN even though it contains dots.
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x""#,
            cmp(urn(ENTERPRISE, "manager", Some("value")), Eq, s("x")),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User pr",
            pr(urn(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0",
                "User",
                None,
            )),
        ),
        ("URN:a:b:c pr", pr(urn("URN:a:b", "c", None))),
        // `$ref` and keyword-named attributes.
        (
            r#"members.$ref eq "x""#,
            eq("members", "x").with_sub("$ref"),
        ),
        (r#"members[$ref eq "x"]"#, vp("members", eq("$ref", "x"))),
        ("not pr and and pr", and(pr(path("not")), pr(path("and")))),
        // Value filters may use and/or/not/parentheses.
        (
            r#"emails[not (type eq "work") and (primary eq true or display pr)]"#,
            vp(
                "emails",
                and(
                    not(eq("type", "work")),
                    or(
                        cmp(path("primary"), Eq, CompValue::Bool(true)),
                        pr(path("display")),
                    ),
                ),
            ),
        ),
        ("x-y_1.Z-2 pr", pr(sub("x-y_1", "Z-2"))),
    ];
    for (input, want) in cases {
        assert_eq!(parse_filter(input), Ok(want.clone()), "input: {input}");
        let printed = want.to_string();
        assert_eq!(parse_filter(&printed), Ok(want), "printed: {printed}");
    }
}

impl Filter {
    fn with_sub(self, sub_attr: &str) -> Filter {
        match self {
            Filter::Compare { path, op, value } => Filter::Compare {
                path: AttrPath {
                    sub_attr: Some(sub_attr.into()),
                    ..path
                },
                op,
                value,
            },
            other => other,
        }
    }
}

/// Found by the `filter` fuzz target: without correctly rounded float parsing, a long integer
/// parsed to a neighbour of the nearest double, printed as that neighbour, and parsed back to a
/// third value.
#[test]
fn long_numbers_print_and_parse_back_to_the_same_value() {
    for text in [
        "a ne 3333333333333333333333333333333333333333333",
        "a eq 60000000000000000000000000000000000000",
        "a gt 1.00000000000000011102230246251565404236316680908203125",
    ] {
        let filter = parse_filter(text).expect("a long number parses");
        let printed = filter.to_string();
        assert_eq!(
            parse_filter(&printed),
            Ok(filter),
            "{text} printed as {printed}"
        );
    }
}

#[test]
fn prints_canonically() {
    let cases = [
        (r#"userName Eq "john""#, r#"userName eq "john""#),
        ("  a  EQ  TRUE  ", "a eq true"),
        ("((a pr))", "a pr"),
        ("a pr and (b pr or c pr)", "a pr and (b pr or c pr)"),
        ("(a pr and b pr) or c pr", "a pr and b pr or c pr"),
        ("NOT(a pr)", "not (a pr)"),
        ("a eq 1E2", "a eq 100.0"),
        (r#"a eq "\u00e9\/""#, r#"a eq "é/""#),
        (r#"emails [ type eq "work" ]"#, r#"emails[type eq "work"]"#),
    ];
    for (input, want) in cases {
        let filter = parse_filter(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(filter.to_string(), want);
    }
}

#[test]
fn rejects_invalid_filters() {
    let long = "a".repeat(MAX_FILTER_LENGTH + 1);
    let cases: Vec<(&str, FilterErrorKind, usize, &str)> = vec![
        ("", Empty, 0, "filter is empty"),
        ("  \t ", Empty, 0, "filter is empty"),
        (&long, TooLong, MAX_FILTER_LENGTH, "filter is 16385 bytes long; the limit is 16384"),
        ("userName ", Syntax, 9, r#"expected a comparison operator or 'pr' after "userName" at offset 9, found end of input"#),
        (r#"userNameeq "x""#, Syntax, 11, r#"expected a comparison operator or 'pr' after "userNameeq" at offset 11, found the string "x""#),
        (r#"userName like "x""#, UnknownOperator, 9, r#"unknown operator "like" at offset 9; expected one of eq, ne, co, sw, ew, gt, ge, lt, le or pr"#),
        ("userName eq", Syntax, 11, "expected a comparison value after 'eq' at offset 11, found end of input"),
        ("userName eq john", InvalidValue, 12, r#"invalid comparison value "john" at offset 12: strings must be in double quotes"#),
        ("a eq 01", InvalidValue, 5, r#"invalid comparison value "01" at offset 5: expected a JSON number"#),
        ("a eq 1.", InvalidValue, 5, "expected a JSON number"),
        ("a eq -", InvalidValue, 5, "expected a JSON number"),
        ("a eq +1", InvalidValue, 5, "strings must be in double quotes"),
        ("a eq 1e400", InvalidValue, 5, "the number is out of range"),
        ("a eq 1and b pr", InvalidValue, 5, r#""1and" at offset 5: expected a JSON number"#),
        ("a eq truex", InvalidValue, 5, "invalid comparison value"),
        (r#"a eq "x" b pr"#, Syntax, 9, r#"expected 'and', 'or' or end of filter at offset 9, found "b""#),
        (r#"a eq "x")"#, Syntax, 8, "unmatched ')' at offset 8"),
        ("a pr]", Syntax, 4, "unmatched ']' at offset 4"),
        ("(a pr", Syntax, 5, "expected 'and', 'or' or ')' at offset 5 to close the '(' at offset 0, found end of input"),
        (r#"emails[type eq "work""#, Syntax, 21, "expected 'and', 'or' or ']' at offset 21 to close the '[' at offset 6, found end of input"),
        ("(a pr]", Syntax, 5, "expected 'and', 'or' or ')'"),
        ("()", Syntax, 1, "expected an attribute path, '(' or 'not' at offset 1, found ')'"),
        ("a pr and", Syntax, 8, "expected an attribute path, '(' or 'not' at offset 8, found end of input"),
        ("a pr or or b pr", Syntax, 8, r#"expected an attribute path, '(' or 'not' at offset 8, found "or""#),
        ("and b pr", Syntax, 0, r#"found "and""#),
        ("not a pr", Syntax, 4, "expected '(' after 'not' at offset 4"),
        ("a pr and not", Syntax, 12, "expected '(' after 'not' at offset 12, found end of input"),
        (r#""x" eq "x""#, Syntax, 0, "expected an attribute path, '(' or 'not' at offset 0, found the string"),
        (r#"emails[type eq "work"].value[primary pr]"#, Syntax, 28, "expected a comparison operator or 'pr'"),
        (r#"emails[type eq "work"].value.x eq "x""#, InvalidAttrPath, 23, "is not allowed inside the value filter"),
        (r#"a.b.c eq "x""#, InvalidAttrPath, 3, "unexpected '.' at offset 3: an attribute path has at most one sub-attribute"),
        ("1abc pr", InvalidAttrPath, 0, r#"attribute name "1abc" at offset 0 must start with a letter"#),
        ("ab%c pr", InvalidAttrPath, 2, "invalid character '%' in attribute name \"ab%c\" at offset 2"),
        ("foo:bar pr", InvalidAttrPath, 3, "invalid character ':'"),
        ("name. pr", InvalidAttrPath, 5, "expected sub-attribute name at offset 5"),
        ("urn:foo pr", InvalidAttrPath, 0, r#"incomplete schema URN "urn" at offset 0"#),
        ("urn:a::b:c pr", InvalidAttrPath, 0, "incomplete schema URN"),
        ("urn:a:b: pr", InvalidAttrPath, 8, "expected attribute name at offset 8"),
        ("urn:a?b:c:d pr", InvalidAttrPath, 5, "invalid character '?' in schema URN at offset 5"),
        (r#"emails[type.x eq "a"]"#, InvalidAttrPath, 7, r#""type.x" at offset 7 is not allowed inside the value filter of "emails""#),
        (r#"emails[urn:a:b:type eq "a"]"#, InvalidAttrPath, 7, "not allowed inside the value filter"),
        ("emails[a[b pr]]", InvalidAttrPath, 8, r#"value filters cannot be nested: '[' at offset 8 is inside the value filter of "emails""#),
        (r#"name.givenName[type eq "x"]"#, InvalidAttrPath, 14, r#"must follow a multi-valued attribute, not the sub-attribute "name.givenName""#),
        ("emails[]", Syntax, 7, "found ']'"),
        // Strings.
        (r#"a eq "abc"#, InvalidString, 5, "unterminated string starting at offset 5"),
        (r#"a eq "ab\"#, InvalidString, 8, "input ends inside an escape at offset 8"),
        (r#"a eq "\x""#, InvalidString, 6, r"invalid escape '\x' in string"),
        (r#"a eq "\u12g4""#, InvalidString, 6, r"invalid \u escape in string at offset 6: expected 4 hex digits"),
        (r#"a eq "\ud83d""#, InvalidString, 6, r"unpaired UTF-16 high surrogate \uD83D"),
        (r#"a eq "\ud83d\u0041""#, InvalidString, 6, "unpaired UTF-16 high surrogate"),
        (r#"a eq "\ud83d\uzzzz""#, InvalidString, 12, r"invalid \u escape in string at offset 12"),
        (r#"a eq "\ude00""#, InvalidString, 6, r"unpaired UTF-16 low surrogate \uDE00"),
        ("a eq \"x\ty\"", InvalidString, 7, r"control character U+0009 must be escaped (as \u0009) in a string at offset 7"),
        // Offsets count characters, not bytes.
        (r#"a eq "é" b"#, Syntax, 9, "at offset 9"),
    ];
    for (input, kind, offset, message) in cases {
        let err = parse_filter(input).expect_err(input);
        assert_eq!(
            (err.kind(), err.offset()),
            (kind, offset),
            "input: {input}: {err}"
        );
        assert!(
            err.to_string().contains(message),
            "input: {input}\n got: {err}\nwant: {message}"
        );
    }
}

#[test]
fn limits_nesting_depth() {
    let nested = |open: &str, close: &str, depth: usize| {
        format!("{}a pr{}", open.repeat(depth), close.repeat(depth))
    };
    assert!(parse_filter(&nested("(", ")", MAX_FILTER_DEPTH)).is_ok());
    assert!(parse_filter(&nested("not (", ")", MAX_FILTER_DEPTH)).is_ok());
    // The offset is that of the first '(' past the limit.
    for (input, offset) in [
        (nested("(", ")", MAX_FILTER_DEPTH + 1), MAX_FILTER_DEPTH),
        (
            nested("not (", ")", MAX_FILTER_DEPTH + 1),
            MAX_FILTER_DEPTH * 5 + 4,
        ),
        ("(".repeat(MAX_FILTER_LENGTH), MAX_FILTER_DEPTH),
        (
            "not(".repeat(MAX_FILTER_LENGTH / 4),
            MAX_FILTER_DEPTH * 4 + 3,
        ),
    ] {
        let err = parse_filter(&input).expect_err("too deep");
        assert_eq!((err.kind(), err.offset()), (TooDeep, offset));
    }
    let err = parse_filter(&"(".repeat(100_000)).expect_err("too long");
    assert_eq!(err.kind(), TooLong);
    let err = parse_filter(&"a[".repeat(1000)).expect_err("nested value paths");
    assert_eq!(err.kind(), InvalidAttrPath);
}

#[test]
fn longest_chains_parse_and_print() {
    // Chains are not depth-limited, only length-limited; they must still round-trip.
    for keyword in ["and", "or"] {
        let term = format!("a pr {keyword} ");
        let count = (MAX_FILTER_LENGTH - 4) / term.len();
        let input = format!("{}a pr", term.repeat(count));
        let filter = parse_filter(&input).expect("long chain");
        assert_eq!(filter.to_string(), input);
    }
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        9 => "[a-zA-Z][a-zA-Z0-9_-]{0,8}",
        1 => prop::sample::select(vec!["$ref", "not", "and", "or", "pr", "eq", "true", "urn"]).prop_map(String::from),
    ]
}

fn abs_path() -> impl Strategy<Value = AttrPath> {
    let urn = (
        "urn|URN|Urn",
        prop::collection::vec("[a-zA-Z0-9][a-zA-Z0-9.-]{0,5}", 2..5),
    )
        .prop_map(|(scheme, parts)| format!("{scheme}:{}", parts.join(":")));
    (
        proptest::option::of(urn),
        name(),
        proptest::option::of(name()),
    )
        .prop_map(|(urn, name, sub_attr)| AttrPath {
            urn,
            name,
            sub_attr,
        })
}

fn value() -> impl Strategy<Value = CompValue> {
    // Every finite double: parsing is correctly rounded (serde_json's float_roundtrip), so each
    // prints to text that parses back to itself.
    let float = any::<f64>().prop_filter_map("finite", Number::from_f64);
    let number = prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        float
    ];
    let string = prop_oneof![
        any::<String>(),
        r#"[\\"/\x00-\x1fa-z \x7f\x{e9}\x{1F600}\x{FFFF}]{0,8}"#
    ];
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        number.prop_map(CompValue::Number),
        string.prop_map(CompValue::String),
    ]
}

fn leaf(path: BoxedStrategy<AttrPath>) -> impl Strategy<Value = Filter> {
    let op = prop::sample::select(CompareOp::ALL.to_vec());
    prop_oneof![
        path.clone().prop_map(Filter::Present),
        (path, op, value()).prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
    ]
}

fn logic(leaf: impl Strategy<Value = Filter> + 'static) -> impl Strategy<Value = Filter> {
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| and(a, b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| or(a, b)),
            inner.prop_map(not),
        ]
    })
}

/// Filters valid inside `attr[...]`: plain sub-attribute names only.
pub(crate) fn value_filter() -> impl Strategy<Value = Filter> {
    logic(leaf(name().prop_map(|n| path(&n)).boxed()))
}

pub(crate) fn filter() -> impl Strategy<Value = Filter> {
    let value_path = (abs_path(), value_filter()).prop_map(|(attr, filter)| Filter::ValuePath {
        attr: AttrPath {
            sub_attr: None,
            ..attr
        },
        filter: Box::new(filter),
    });
    logic(prop_oneof![3 => leaf(abs_path().boxed()), 1 => value_path])
}

pub(crate) fn attr_path() -> impl Strategy<Value = AttrPath> {
    abs_path()
}

/// Strings made of filter-ish fragments, to reach deeper error paths than random text.
pub(crate) fn token_soup() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "(",
        ")",
        "[",
        "]",
        " ",
        "\t",
        "not",
        "and",
        "or",
        "pr",
        "eq",
        "GT",
        "true",
        "null",
        "\"x\"",
        "\"",
        "\\",
        "\\u",
        "\\ud83d",
        "d83d",
        "1e5",
        "-",
        "0.5",
        "urn:a:b:c",
        ":",
        ".",
        ".value",
        "emails",
        "name.givenName",
        "$ref",
        "é",
        "\u{0}",
    ]);
    prop::collection::vec(token, 0..40).prop_map(|tokens| tokens.concat())
}

proptest! {
    #[test]
    fn printed_filters_parse_back(filter in filter()) {
        let printed = filter.to_string();
        prop_assert_eq!(parse_filter(&printed), Ok(filter), "printed: {}", printed);
    }

    #[test]
    fn never_panics_on_text(input in any::<String>()) {
        let _ = parse_filter(&input);
    }

    #[test]
    fn never_panics_on_token_soup(input in token_soup()) {
        // Whatever parses must also print back to an equal tree.
        if let Ok(filter) = parse_filter(&input) {
            prop_assert_eq!(parse_filter(&filter.to_string()), Ok(filter));
        }
    }
}

#[test]
fn limits_other_than_the_defaults_are_kept() {
    let limits = FilterLimits {
        max_length: 12,
        max_depth: 2,
    };
    assert!(parse_filter_within("((a pr))", limits).is_ok());
    let deep = parse_filter_within("(((a pr)))", limits).map_err(|e| e.kind());
    assert_eq!(deep, Err(TooDeep));
    let long = parse_filter_within("a pr and b pr", limits).map_err(|e| e.to_string());
    assert_eq!(
        long,
        Err("filter is 13 bytes long; the limit is 12".to_string())
    );
}
