//! Listing resources (RFC 7644 §3.4.2): query parameters, the SQL for one page and the total,
//! and the ListResponse envelope.

use crate::scim::error::ScimError;
use crate::scim::filter::sql::SqlFilter;
use crate::scim::filter::{parse_filter, Filter};
use crate::scim::schema::ResourceType;
use crate::scim::select::Selection;
use projections::db::{Dialect, Sql, SqlArg};
use projections::scim_groups::GROUP_COLUMNS;
use projections::scim_users::USER_COLUMNS;
use serde_json::{json, Value};
use std::collections::HashMap;

pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// Largest page served; a larger `count` is clamped, not refused (RFC 7644 §3.4.2.4).
pub const MAX_PAGE_SIZE: i64 = 1000;
/// RFC 7644 leaves an unstated `count` to the server; the largest page lets a client that
/// never pages still see everything in small deployments.
pub const DEFAULT_PAGE_SIZE: i64 = MAX_PAGE_SIZE;

#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    /// 1-based, as in SCIM.
    pub start_index: i64,
    pub count: i64,
    pub selection: Selection,
}

/// The value of a query parameter; names are case-insensitive (RFC 7644 §3.4.2).
pub fn param<'p>(params: &'p HashMap<String, String>, name: &str) -> Option<&'p str> {
    params
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// The `attributes` / `excludedAttributes` a request asks for.
pub fn selection(
    resource_type: ResourceType,
    params: &HashMap<String, String>,
) -> Result<Selection, ScimError> {
    Selection::parse(
        resource_type,
        param(params, "attributes"),
        param(params, "excludedAttributes"),
    )
}

/// Reads `filter`, `startIndex`, `count`, `attributes` and `excludedAttributes`.
pub fn parse_list_query(
    resource_type: ResourceType,
    params: &HashMap<String, String>,
) -> Result<ListQuery, ScimError> {
    let param = |name: &str| param(params, name);
    let integer = |name: &str| -> Result<Option<i64>, ScimError> {
        param(name)
            .map(|text| {
                text.trim().parse::<i64>().map_err(|_| {
                    ScimError::invalid_value(format!("{name} must be an integer, not {text:?}"))
                })
            })
            .transpose()
    };
    let filter = match param("filter") {
        Some(text) if !text.trim().is_empty() => Some(parse_filter(text)?),
        _ => None,
    };
    // RFC 7644 §3.4.2.4: a startIndex below 1 is read as 1, a negative count as 0.
    let start_index = integer("startIndex")?.unwrap_or(1).max(1);
    let count = integer("count")?
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .clamp(0, MAX_PAGE_SIZE);
    Ok(ListQuery {
        filter,
        start_index,
        count,
        selection: selection(resource_type, params)?,
    })
}

/// The statements counting all matches and selecting the requested page, in creation order.
pub fn list_statements(
    resource_type: ResourceType,
    dialect: Dialect,
    instance_id: &str,
    query: &ListQuery,
) -> Result<(Sql, Sql), ScimError> {
    let (table, columns) = match resource_type {
        ResourceType::User => ("scim_users", USER_COLUMNS),
        ResourceType::Group => ("scim_groups", GROUP_COLUMNS),
    };
    let mut args = vec![SqlArg::from(instance_id)];
    let condition = match &query.filter {
        Some(filter) => {
            let condition = SqlFilter::new(resource_type, dialect, &mut args).condition(filter)?;
            format!(" AND {condition}")
        }
        None => String::new(),
    };
    let with_args = |text: String| {
        args.iter()
            .cloned()
            .fold(Sql::new(text), |sql, arg| sql.bind(arg))
    };
    let count = with_args(format!(
        "SELECT count(*) AS total FROM {table} WHERE instance_id = $1{condition}"
    ));
    // Bound, not pasted, so that every page of a listing reuses one prepared statement.
    let (limit, offset) = (args.len() + 1, args.len() + 2);
    let page = with_args(format!(
        "SELECT {columns} FROM {table} WHERE instance_id = $1{condition}
          ORDER BY created_position LIMIT ${limit} OFFSET ${offset}"
    ))
    .bind(query.count)
    .bind(query.start_index - 1);
    Ok((count, page))
}

pub fn list_response(total: i64, start_index: i64, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn paging_parameters_are_read_case_insensitively_and_bounded() {
        let query = parse_list_query(
            ResourceType::User,
            &params(&[("STARTINDEX", "0"), ("Count", "5000")]),
        );
        assert_eq!(
            query.as_ref().map(|q| (q.start_index, q.count)),
            Ok((1, MAX_PAGE_SIZE))
        );
        let query = parse_list_query(ResourceType::User, &params(&[("count", "-3")]));
        assert_eq!(query.map(|q| q.count), Ok(0));
    }

    #[test]
    fn a_non_numeric_count_is_refused() {
        assert!(parse_list_query(ResourceType::User, &params(&[("count", "ten")])).is_err());
    }

    #[test]
    fn excluded_members_are_recognised() {
        let query = parse_list_query(
            ResourceType::Group,
            &params(&[("excludedAttributes", "displayName, Members")]),
        );
        assert!(query.is_ok_and(|q| !q.selection.includes("members")));
    }

    #[test]
    fn the_page_query_uses_the_filter_and_the_offset() {
        let query = parse_list_query(
            ResourceType::User,
            &params(&[
                ("filter", r#"userName eq "a""#),
                ("startIndex", "11"),
                ("count", "10"),
            ]),
        );
        let statements =
            query.and_then(|q| list_statements(ResourceType::User, Dialect::Sqlite, "i1", &q));
        let (count, page) = statements.unwrap_or_else(|_| (Sql::new(""), Sql::new("")));
        assert!(count
            .text()
            .ends_with("WHERE instance_id = $1 AND (user_name_key = $2)"));
        assert!(page.text().contains("LIMIT $3 OFFSET $4"));
        assert_eq!(
            &page.args()[2..],
            &[SqlArg::from(10i64), SqlArg::from(10i64)]
        );
    }
}
