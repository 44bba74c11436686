//! Translating a filter tree into a SQL condition on the read-model tables.
//!
//! Paths with an indexed column behind them translate exactly; the rest do not translate at
//! all, and the condition becomes a prefilter: a superset of the matches that the Rust
//! evaluator then narrows (the filter has been checked against the schema before). Values are
//! always bound. Comparisons are written so that they are never NULL (SQL's third truth value
//! would make `not (externalId eq "x")` skip resources without an externalId, which RFC 7644
//! counts as not equal). Case-insensitive attributes are compared on key columns that hold the
//! value lower-cased by scimd, with the filter value lower-cased the same way.

use super::{AttrPath, CompValue, CompareOp, Filter};
use crate::scim::schema::{ResourceType, GROUP_SCHEMA, USER_SCHEMA};
use aggregates::values::case_insensitive_key;
use projections::db::{Dialect, SqlArg};
use projections::metadata::timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    CaseExactText,
    /// Holds `case_insensitive_key` of the value.
    FoldedText,
    Boolean,
    /// RFC 3339 text in scimd's fixed-width format.
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: ColumnKind,
    pub nullable: bool,
}

const fn column(name: &'static str, kind: ColumnKind, nullable: bool) -> Column {
    Column {
        name,
        kind,
        nullable,
    }
}

/// What a filter path can stand for: a column, or membership of a group.
enum Target {
    Column(Column),
    MemberValue,
}

/// The column holding the single value `path` names, for sorting and comparing in SQL.
pub fn column_of(resource_type: ResourceType, path: &AttrPath) -> Option<Column> {
    match target(resource_type, path)? {
        Target::Column(column) => Some(column),
        Target::MemberValue => None,
    }
}

fn target(resource_type: ResourceType, path: &AttrPath) -> Option<Target> {
    let core = match resource_type {
        ResourceType::User => USER_SCHEMA,
        ResourceType::Group => GROUP_SCHEMA,
    };
    if path
        .urn
        .as_deref()
        .is_some_and(|urn| !urn.eq_ignore_ascii_case(core))
    {
        return None;
    }
    let name = path.name.to_ascii_lowercase();
    let sub = path.sub_attr.as_deref().map(str::to_ascii_lowercase);
    use ColumnKind::*;
    let target = match (resource_type, name.as_str(), sub.as_deref()) {
        (_, "id", None) => Target::Column(column("id", CaseExactText, false)),
        (_, "externalid", None) => Target::Column(column("external_id", CaseExactText, true)),
        (_, "meta", Some("created")) => Target::Column(column("created_at", Timestamp, false)),
        (_, "meta", Some("lastmodified")) => {
            Target::Column(column("last_modified", Timestamp, false))
        }
        (ResourceType::User, "username", None) => {
            Target::Column(column("user_name_key", FoldedText, false))
        }
        (ResourceType::User, "displayname", None) => {
            Target::Column(column("display_name_key", FoldedText, true))
        }
        (ResourceType::User, "active", None) => Target::Column(column("active", Boolean, true)),
        (ResourceType::Group, "displayname", None) => {
            Target::Column(column("display_name_key", FoldedText, false))
        }
        (ResourceType::Group, "members", None | Some("value")) => Target::MemberValue,
        _ => return None,
    };
    Some(target)
}

/// A condition, and whether it selects exactly the filter's matches or only a superset.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    /// `None`: nothing could be translated; every resource is a candidate.
    pub condition: Option<String>,
    pub exact: bool,
}

impl Translation {
    fn exact(condition: String) -> Self {
        Self {
            condition: Some(condition),
            exact: true,
        }
    }

    fn nothing() -> Self {
        Self {
            condition: None,
            exact: false,
        }
    }
}

/// Builds the condition; placeholders are numbered on from the arguments already in `args`.
pub struct SqlFilter<'a> {
    resource_type: ResourceType,
    dialect: Dialect,
    args: &'a mut Vec<SqlArg>,
}

impl<'a> SqlFilter<'a> {
    pub fn new(resource_type: ResourceType, dialect: Dialect, args: &'a mut Vec<SqlArg>) -> Self {
        Self {
            resource_type,
            dialect,
            args,
        }
    }

    /// Translates a filter that has passed [`super::resolve::check_in_any`]. Arguments of parts that
    /// end up untranslated are taken back, so placeholders always match the arguments bound.
    pub fn translate(&mut self, filter: &Filter) -> Translation {
        let mark = self.args.len();
        let translation = self.translate_part(filter);
        if translation.condition.is_none() {
            self.args.truncate(mark);
        }
        translation
    }

    fn translate_part(&mut self, filter: &Filter) -> Translation {
        match filter {
            Filter::And(..) => {
                let parts = self.translate_each(filter.operands());
                let exact = parts.iter().all(|part| part.exact);
                // Operands without a condition drop out: the rest select a superset.
                let conditions: Vec<String> = parts
                    .into_iter()
                    .filter_map(|part| part.condition)
                    .collect();
                Translation {
                    condition: balanced(&conditions, "AND"),
                    exact,
                }
            }
            Filter::Or(..) => {
                let mark = self.args.len();
                let parts = self.translate_each(filter.operands());
                let exact = parts.iter().all(|part| part.exact);
                let conditions: Option<Vec<String>> =
                    parts.into_iter().map(|part| part.condition).collect();
                match conditions {
                    Some(conditions) => Translation {
                        condition: balanced(&conditions, "OR"),
                        exact,
                    },
                    // One operand that could be anything makes the whole `or` anything.
                    None => {
                        self.args.truncate(mark);
                        Translation::nothing()
                    }
                }
            }
            Filter::Not(inner) => match self.translate(inner) {
                Translation {
                    condition: Some(condition),
                    exact: true,
                } => Translation::exact(format!("(NOT {condition})")),
                _ => Translation::nothing(),
            },
            Filter::Present(path) => match target(self.resource_type, path) {
                Some(Target::Column(column)) => Translation::exact(present(column)),
                Some(Target::MemberValue) => Translation::exact(
                    "(id IN (SELECT group_id FROM scim_group_members))".to_string(),
                ),
                None => Translation::nothing(),
            },
            Filter::Compare { path, op, value } => {
                let condition = match target(self.resource_type, path) {
                    Some(Target::Column(column)) => self.compare(column, *op, value),
                    Some(Target::MemberValue) => self.member_compare(*op, value),
                    None => None,
                };
                condition.map_or_else(Translation::nothing, Translation::exact)
            }
            Filter::ValuePath { attr, filter } => self
                .value_path(attr, filter)
                .map_or_else(Translation::nothing, Translation::exact),
        }
    }

    /// The operands' translations, in order, so that placeholders are numbered in order.
    fn translate_each(&mut self, operands: Vec<&Filter>) -> Vec<Translation> {
        operands
            .into_iter()
            .map(|operand| self.translate(operand))
            .collect()
    }

    fn bind(&mut self, arg: impl Into<SqlArg>) -> String {
        self.args.push(arg.into());
        format!("${}", self.args.len())
    }

    fn compare(&mut self, column: Column, op: CompareOp, value: &CompValue) -> Option<String> {
        let name = column.name;
        if let CompValue::Null = value {
            return match op {
                CompareOp::Eq => Some(format!("({name} IS NULL)")),
                CompareOp::Ne => Some(format!("({name} IS NOT NULL)")),
                _ => None,
            };
        }
        let operand = self.operand(column, op, value)?;
        let comparison = match op {
            CompareOp::Eq => format!("{name} = {operand}"),
            CompareOp::Ne => return Some(format!("({name} IS NULL OR {name} <> {operand})")),
            CompareOp::Co | CompareOp::Sw | CompareOp::Ew => match self.dialect {
                Dialect::Sqlite => format!("{name} GLOB {operand}"),
                Dialect::Postgres => format!("{name} LIKE {operand} ESCAPE '\\'"),
            },
            ordering => format!(
                "{name}{} {} {operand}",
                byte_order(self.dialect),
                ordering_symbol(ordering)
            ),
        };
        Some(if column.nullable {
            format!("({name} IS NOT NULL AND {comparison})")
        } else {
            format!("({comparison})")
        })
    }

    /// The bound operand, shaped for the column and operator; `None` for a comparison the
    /// column cannot answer (the schema check has refused those already).
    fn operand(&mut self, column: Column, op: CompareOp, value: &CompValue) -> Option<String> {
        let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
        match column.kind {
            ColumnKind::Boolean => {
                let flag = match value {
                    CompValue::Bool(flag) => *flag,
                    CompValue::String(text) if text.eq_ignore_ascii_case("true") => true,
                    CompValue::String(text) if text.eq_ignore_ascii_case("false") => false,
                    _ => return None,
                };
                matches!(op, CompareOp::Eq | CompareOp::Ne).then(|| self.bind(flag))
            }
            ColumnKind::Timestamp => {
                let CompValue::String(text) = value else {
                    return None;
                };
                let at = chrono::DateTime::parse_from_rfc3339(text).ok()?;
                (!substring).then(|| self.bind(timestamp(at.with_timezone(&chrono::Utc))))
            }
            ColumnKind::CaseExactText | ColumnKind::FoldedText => {
                let CompValue::String(text) = value else {
                    return None;
                };
                let text = if column.kind == ColumnKind::FoldedText {
                    case_insensitive_key(text)
                } else {
                    text.clone()
                };
                let operand = match op {
                    CompareOp::Co => self.pattern(&text, true, true),
                    CompareOp::Sw => self.pattern(&text, false, true),
                    CompareOp::Ew => self.pattern(&text, true, false),
                    _ => text,
                };
                Some(self.bind(operand))
            }
        }
    }

    /// A match pattern with the value's own wildcard characters escaped: GLOB on SQLite
    /// (case-sensitive, unlike its LIKE), LIKE on PostgreSQL.
    fn pattern(&self, text: &str, any_before: bool, any_after: bool) -> String {
        let (wildcard, escaped) = match self.dialect {
            Dialect::Sqlite => ("*", escape_glob(text)),
            Dialect::Postgres => ("%", escape_like(text)),
        };
        let before = if any_before { wildcard } else { "" };
        let after = if any_after { wildcard } else { "" };
        format!("{before}{escaped}{after}")
    }

    fn member_compare(&mut self, op: CompareOp, value: &CompValue) -> Option<String> {
        let CompValue::String(id) = value else {
            return None;
        };
        let membership = match op {
            CompareOp::Eq => "",
            CompareOp::Ne => "NOT ",
            _ => return None,
        };
        let placeholder = self.bind(id.as_str());
        Some(format!(
            "({membership}id IN (SELECT group_id FROM scim_group_members WHERE member_id = {placeholder}))"
        ))
    }

    /// `members[value eq "id"]` is the one value path with a column behind it.
    fn value_path(&mut self, attr: &AttrPath, filter: &Filter) -> Option<String> {
        let is_members = self.resource_type == ResourceType::Group
            && attr.urn.is_none()
            && attr.name.eq_ignore_ascii_case("members");
        match filter {
            Filter::Compare { path, op, value }
                if is_members
                    && path.name.eq_ignore_ascii_case("value")
                    && path.sub_attr.is_none() =>
            {
                self.member_compare(*op, value)
            }
            _ => None,
        }
    }
}

/// `conditions` joined by `keyword` as a balanced tree of parentheses: a chain as long as the
/// filter allows stays a few levels deep, where a flat or left-nested one is as deep as it is
/// long, and SQLite refuses an expression tree deeper than 1,000 levels.
fn balanced(conditions: &[String], keyword: &str) -> Option<String> {
    match conditions {
        [] => None,
        [only] => Some(only.clone()),
        _ => {
            let (left, right) = conditions.split_at(conditions.len().div_ceil(2));
            let (left, right) = (balanced(left, keyword)?, balanced(right, keyword)?);
            Some(format!("({left} {keyword} {right})"))
        }
    }
}

/// Text compared and sorted in byte order on both stores, whatever PostgreSQL's database
/// collation is, as Rust compares strings.
pub fn byte_order(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => " COLLATE \"C\"",
        Dialect::Sqlite => "",
    }
}

fn ordering_symbol(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        _ => "<=",
    }
}

fn present(column: Column) -> String {
    match (column.nullable, column.kind) {
        (false, _) | (true, ColumnKind::Boolean | ColumnKind::Timestamp) => {
            format!("({} IS NOT NULL)", column.name)
        }
        (true, _) => format!("({0} IS NOT NULL AND {0} <> '')", column.name),
    }
}

fn escape_glob(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '*' | '?' | '[' => {
                escaped.push('[');
                escaped.push(c);
                escaped.push(']');
            }
            _ => escaped.push(c),
        }
    }
    escaped
}

fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::parse_filter;

    /// The exact translation of a filter, if it has one.
    fn translate(
        resource_type: ResourceType,
        dialect: Dialect,
        filter: &str,
    ) -> Option<(String, Vec<SqlArg>)> {
        let (translation, args) = partially(resource_type, dialect, filter)?;
        translation
            .exact
            .then_some(())
            .and(translation.condition)
            .map(|condition| (condition, args))
    }

    fn partially(
        resource_type: ResourceType,
        dialect: Dialect,
        filter: &str,
    ) -> Option<(Translation, Vec<SqlArg>)> {
        let filter = parse_filter(filter).ok()?;
        let mut args = vec![SqlArg::from("instance")];
        let translation = SqlFilter::new(resource_type, dialect, &mut args).translate(&filter);
        Some((translation, args))
    }

    #[test]
    fn user_name_lookups_compare_the_lower_cased_key() {
        let (sql, args) = translate(
            ResourceType::User,
            Dialect::Sqlite,
            r#"userName eq "Alice@Corp""#,
        )
        .unwrap_or_default();
        assert_eq!(sql, "(user_name_key = $2)");
        assert_eq!(args[1], SqlArg::from("alice@corp"));
    }

    #[test]
    fn conjunctions_nest_with_parentheses_and_number_placeholders_in_order() {
        let (sql, args) = translate(
            ResourceType::User,
            Dialect::Postgres,
            r#"externalId eq "e1" and (userName eq "a" or active eq false)"#,
        )
        .unwrap_or_default();
        assert_eq!(
            sql,
            "((external_id IS NOT NULL AND external_id = $2) AND ((user_name_key = $3) OR (active IS NOT NULL AND active = $4)))"
        );
        assert_eq!(args.len(), 4);
    }

    #[test]
    fn chains_become_balanced_conditions_with_placeholders_in_order() {
        let (sql, args) = translate(
            ResourceType::User,
            Dialect::Sqlite,
            r#"id eq "1" and id eq "2" and id eq "3" and (id eq "4" and id eq "5")"#,
        )
        .unwrap_or_default();
        assert_eq!(
            sql,
            "((((id = $2) AND (id = $3)) AND (id = $4)) AND ((id = $5) AND (id = $6)))"
        );
        assert_eq!(args.len(), 6);
        assert_eq!(args[5], SqlArg::from("5"));
    }

    /// SQLite refuses expression trees deeper than 1,000 levels.
    #[test]
    fn a_chain_as_long_as_a_filter_may_be_nests_logarithmically() {
        for keyword in ["and", "or"] {
            let terms = vec![r#"id eq "x""#; 1000].join(&format!(" {keyword} "));
            let (sql, args) =
                translate(ResourceType::User, Dialect::Sqlite, &terms).unwrap_or_default();
            assert_eq!(args.len(), 1001);
            let deepest = sql
                .chars()
                .scan(0i32, |depth, c| {
                    *depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    Some(*depth)
                })
                .max();
            assert_eq!(deepest, Some(11), "{keyword}");
        }
    }

    #[test]
    fn not_equal_includes_resources_without_the_attribute() {
        let (sql, _) = translate(ResourceType::User, Dialect::Sqlite, r#"externalId ne "x""#)
            .unwrap_or_default();
        assert_eq!(sql, "(external_id IS NULL OR external_id <> $2)");
    }

    #[test]
    fn substring_operators_escape_wildcards_per_dialect() {
        let (sqlite, sqlite_args) =
            translate(ResourceType::User, Dialect::Sqlite, r#"userName co "a*b""#)
                .unwrap_or_default();
        assert_eq!(sqlite, "(user_name_key GLOB $2)");
        assert_eq!(sqlite_args[1], SqlArg::from("*a[*]b*"));
        let (postgres, postgres_args) = translate(
            ResourceType::User,
            Dialect::Postgres,
            r#"userName sw "a_%""#,
        )
        .unwrap_or_default();
        assert_eq!(postgres, "(user_name_key LIKE $2 ESCAPE '\\')");
        assert_eq!(postgres_args[1], SqlArg::from("a\\_\\%%"));
    }

    #[test]
    fn timestamps_are_normalised_before_comparison() {
        let (sql, args) = translate(
            ResourceType::Group,
            Dialect::Sqlite,
            r#"meta.lastModified gt "2026-01-31T13:00:00+01:00""#,
        )
        .unwrap_or_default();
        assert_eq!(sql, "(last_modified > $2)");
        assert_eq!(args[1], SqlArg::from("2026-01-31T12:00:00.000000Z"));
    }

    #[test]
    fn group_membership_filters_use_the_membership_table() {
        let (sql, _) = translate(
            ResourceType::Group,
            Dialect::Sqlite,
            r#"id eq "g1" and members[value eq "u1"]"#,
        )
        .unwrap_or_default();
        assert_eq!(
            sql,
            "((id = $2) AND (id IN (SELECT group_id FROM scim_group_members WHERE member_id = $3)))"
        );
    }

    #[test]
    fn attributes_without_a_column_leave_a_superset_and_take_their_arguments_back() {
        let cases = [
            (r#"nickName eq "x""#, None, 1),
            (
                r#"userName eq "a" and nickName eq "x""#,
                Some("(user_name_key = $2)"),
                2,
            ),
            (r#"userName eq "a" or nickName eq "x""#, None, 1),
            (
                r#"(userName eq "a" and nickName eq "x") or userName eq "b""#,
                Some("((user_name_key = $2) OR (user_name_key = $3))"),
                3,
            ),
            (r#"not (userName eq "a" and nickName eq "x")"#, None, 1),
        ];
        for (filter, want, arg_count) in cases {
            let (translation, args) = partially(ResourceType::User, Dialect::Sqlite, filter)
                .unwrap_or((
                    Translation {
                        condition: Some("unparsed".into()),
                        exact: true,
                    },
                    vec![],
                ));
            assert!(!translation.exact, "{filter}");
            assert_eq!(translation.condition.as_deref(), want, "{filter}");
            assert_eq!(args.len(), arg_count, "{filter}");
        }
    }

    #[test]
    fn attribute_names_and_the_core_urn_are_case_insensitive() {
        let (sql, _) = translate(
            ResourceType::User,
            Dialect::Sqlite,
            r#"URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:USERNAME eq "a""#,
        )
        .unwrap_or_default();
        assert_eq!(sql, "(user_name_key = $2)");
    }
}
