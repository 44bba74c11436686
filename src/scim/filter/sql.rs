//! Translating a filter tree into a SQL condition on the read-model tables.
//!
//! Each attribute path resolves through one map to an indexed column; values are always bound.
//! Comparisons are written so that they are never NULL (SQL's third truth value would make
//! `not (externalId eq "x")` skip resources without an externalId, which RFC 7644 counts as
//! not equal). Case-insensitive attributes are compared on key columns that hold the value
//! lower-cased by scimd, with the filter value lower-cased the same way.

use super::{AttrPath, CompValue, CompareOp, Filter};
use crate::scim::error::{ScimError, ScimType};
use crate::scim::schema::{ResourceType, GROUP_SCHEMA, USER_SCHEMA};
use aggregates::values::case_insensitive_key;
use projections::db::{Dialect, SqlArg};
use projections::metadata::timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColumnKind {
    CaseExactText,
    /// Holds `case_insensitive_key` of the value.
    FoldedText,
    Boolean,
    /// RFC 3339 text in scimd's fixed-width format.
    Timestamp,
}

#[derive(Debug, Clone, Copy)]
struct Column {
    name: &'static str,
    kind: ColumnKind,
    nullable: bool,
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

fn resolve(resource_type: ResourceType, path: &AttrPath) -> Option<Target> {
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

    pub fn condition(&mut self, filter: &Filter) -> Result<String, ScimError> {
        Ok(match filter {
            Filter::And(left, right) => {
                format!("({} AND {})", self.condition(left)?, self.condition(right)?)
            }
            Filter::Or(left, right) => {
                format!("({} OR {})", self.condition(left)?, self.condition(right)?)
            }
            Filter::Not(inner) => format!("(NOT {})", self.condition(inner)?),
            Filter::Present(path) => match self.target(path)? {
                Target::Column(column) => present(column),
                Target::MemberValue => {
                    "(id IN (SELECT group_id FROM scim_group_members))".to_string()
                }
            },
            Filter::Compare { path, op, value } => match self.target(path)? {
                Target::Column(column) => self.compare(column, path, *op, value)?,
                Target::MemberValue => self.member_compare(path, *op, value)?,
            },
            Filter::ValuePath { attr, filter } => self.value_path(attr, filter)?,
        })
    }

    fn target(&self, path: &AttrPath) -> Result<Target, ScimError> {
        resolve(self.resource_type, path).ok_or_else(|| {
            ScimError::bad_request(
                ScimType::InvalidFilter,
                format!(
                    "filtering {} resources on {path} is not supported",
                    self.resource_type.name()
                ),
            )
        })
    }

    fn bind(&mut self, arg: impl Into<SqlArg>) -> String {
        self.args.push(arg.into());
        format!("${}", self.args.len())
    }

    fn compare(
        &mut self,
        column: Column,
        path: &AttrPath,
        op: CompareOp,
        value: &CompValue,
    ) -> Result<String, ScimError> {
        let name = column.name;
        if let CompValue::Null = value {
            return match op {
                CompareOp::Eq => Ok(format!("({name} IS NULL)")),
                CompareOp::Ne => Ok(format!("({name} IS NOT NULL)")),
                _ => Err(invalid(format!("{path} {op} null compares with nothing"))),
            };
        }
        let operand = self.operand(column, path, op, value)?;
        let comparison = match op {
            CompareOp::Eq => format!("{name} = {operand}"),
            CompareOp::Ne => return Ok(format!("({name} IS NULL OR {name} <> {operand})")),
            CompareOp::Co | CompareOp::Sw | CompareOp::Ew => match self.dialect {
                Dialect::Sqlite => format!("{name} GLOB {operand}"),
                Dialect::Postgres => format!("{name} LIKE {operand} ESCAPE '\\'"),
            },
            ordering => {
                let symbol = match ordering {
                    CompareOp::Gt => ">",
                    CompareOp::Ge => ">=",
                    CompareOp::Lt => "<",
                    _ => "<=",
                };
                // Byte order on both stores, whatever PostgreSQL's database collation is.
                let collate = match self.dialect {
                    Dialect::Postgres => " COLLATE \"C\"",
                    Dialect::Sqlite => "",
                };
                format!("{name}{collate} {symbol} {operand}")
            }
        };
        Ok(if column.nullable {
            format!("({name} IS NOT NULL AND {comparison})")
        } else {
            format!("({comparison})")
        })
    }

    /// The bound operand, shaped for the column and operator.
    fn operand(
        &mut self,
        column: Column,
        path: &AttrPath,
        op: CompareOp,
        value: &CompValue,
    ) -> Result<String, ScimError> {
        match column.kind {
            ColumnKind::Boolean => {
                let flag = match value {
                    CompValue::Bool(flag) => *flag,
                    CompValue::String(text) if text.eq_ignore_ascii_case("true") => true,
                    CompValue::String(text) if text.eq_ignore_ascii_case("false") => false,
                    _ => return Err(invalid(format!("{path} compares only with true or false"))),
                };
                if !matches!(op, CompareOp::Eq | CompareOp::Ne) {
                    return Err(invalid(format!("{path} supports only eq and ne")));
                }
                Ok(self.bind(flag))
            }
            ColumnKind::Timestamp => {
                let CompValue::String(text) = value else {
                    return Err(invalid(format!(
                        "{path} compares only with a date-time string"
                    )));
                };
                let at = chrono::DateTime::parse_from_rfc3339(text).map_err(|_| {
                    invalid(format!("{path} needs an RFC 3339 date-time, not {text:?}"))
                })?;
                if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
                    return Err(invalid(format!("{path} cannot be compared with {op}")));
                }
                Ok(self.bind(timestamp(at.with_timezone(&chrono::Utc))))
            }
            ColumnKind::CaseExactText | ColumnKind::FoldedText => {
                let CompValue::String(text) = value else {
                    return Err(invalid(format!("{path} compares only with a string")));
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
                Ok(self.bind(operand))
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

    fn member_compare(
        &mut self,
        path: &AttrPath,
        op: CompareOp,
        value: &CompValue,
    ) -> Result<String, ScimError> {
        let CompValue::String(id) = value else {
            return Err(invalid(format!("{path} compares only with a string")));
        };
        let membership = match op {
            CompareOp::Eq => "",
            CompareOp::Ne => "NOT ",
            _ => return Err(invalid(format!("{path} supports only eq and ne"))),
        };
        let placeholder = self.bind(id.as_str());
        Ok(format!(
            "({membership}id IN (SELECT group_id FROM scim_group_members WHERE member_id = {placeholder}))"
        ))
    }

    /// `members[value eq "id"]` is the one value path with a column behind it.
    fn value_path(&mut self, attr: &AttrPath, filter: &Filter) -> Result<String, ScimError> {
        let is_members = self.resource_type == ResourceType::Group
            && attr.urn.is_none()
            && attr.name.eq_ignore_ascii_case("members");
        match filter {
            Filter::Compare { path, op, value }
                if is_members
                    && path.name.eq_ignore_ascii_case("value")
                    && path.sub_attr.is_none() =>
            {
                self.member_compare(path, *op, value)
            }
            _ => Err(invalid(format!(
                "filtering {} resources on {attr}[{filter}] is not supported",
                self.resource_type.name()
            ))),
        }
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

fn invalid(detail: String) -> ScimError {
    ScimError::bad_request(ScimType::InvalidFilter, detail)
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

    fn translate(
        resource_type: ResourceType,
        dialect: Dialect,
        filter: &str,
    ) -> Result<(String, Vec<SqlArg>), ScimError> {
        let filter = parse_filter(filter)?;
        let mut args = vec![SqlArg::from("instance")];
        let condition = SqlFilter::new(resource_type, dialect, &mut args).condition(&filter)?;
        Ok((condition, args))
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
    fn unsupported_attributes_are_invalid_filters() {
        let error = translate(ResourceType::User, Dialect::Sqlite, r#"nickName eq "x""#).err();
        assert_eq!(
            error.and_then(|e| e.scim_type),
            Some(ScimType::InvalidFilter)
        );
        let error = translate(ResourceType::User, Dialect::Sqlite, r#"active gt true"#).err();
        assert_eq!(
            error.and_then(|e| e.scim_type),
            Some(ScimType::InvalidFilter)
        );
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
