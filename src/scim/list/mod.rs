//! Listing resources (RFC 7644 §3.4.2, §3.4.3; RFC 9865): the query a client asks, from the
//! query string or a SearchRequest body, and the ListResponse envelope. Planning and running
//! the query is `statements` (SQL) and the HTTP layer's listing (SQL, then Rust for the rest).

pub mod cursor;
pub mod sort;
pub mod statements;

use crate::scim::error::{ScimError, ScimType};
use crate::scim::filter::resolve::check_in_any;
use crate::scim::filter::{parse_filter_within, Filter, FilterLimits};
use crate::scim::schema::ResourceType;
use crate::scim::select::Selection;
use serde_json::{json, Value};
use sort::{Place, SortSpec};
use std::collections::HashMap;

pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// Largest page served by default; a larger `count` is clamped, not refused (RFC 7644
/// §3.4.2.4).
pub const MAX_PAGE_SIZE: i64 = 1000;

/// What a listing may ask for; the server's settings choose them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListLimits {
    pub filter: FilterLimits,
    /// The largest page; also the page served when `count` is not given, since RFC 7644
    /// leaves that to the server and it lets a client that never pages still see everything
    /// in small deployments.
    pub max_page_size: i64,
}

impl Default for ListLimits {
    fn default() -> Self {
        Self {
            filter: FilterLimits::default(),
            max_page_size: MAX_PAGE_SIZE,
        }
    }
}

/// Index paging (RFC 7644) or cursor paging (RFC 9865).
#[derive(Debug, Clone, PartialEq)]
pub enum Paging {
    /// 1-based, as in SCIM.
    Index { start_index: i64 },
    /// `after`: where the previous page ended; `None` for the first page.
    Cursor { after: Option<Place> },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    pub sort: Option<SortSpec>,
    pub paging: Paging,
    pub count: i64,
    /// The query's identity for its cursors.
    pub fingerprint: String,
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

impl ListQuery {
    /// The attributes to show of each resource of `resource_type`.
    pub fn selection(&self, resource_type: ResourceType) -> Result<Selection, ScimError> {
        Selection::parse(
            resource_type,
            self.attributes.as_deref(),
            self.excluded_attributes.as_deref(),
        )
    }

    /// Whether the filter and `sortBy` make sense for the resource types in `scope`.
    fn check(&self, scope: &[ResourceType]) -> Result<(), ScimError> {
        if let Some(filter) = &self.filter {
            check_in_any(scope, filter)?;
        }
        if let Some(sort) = &self.sort {
            sort.check(scope)?;
        }
        Ok(())
    }
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

/// Reads the listing parameters for resources of the types in `scope`: `filter`, `sortBy`,
/// `sortOrder`, `startIndex` or `cursor`, `count`, `attributes`, `excludedAttributes`.
pub fn parse_list_query(
    scope: &[ResourceType],
    params: &HashMap<String, String>,
    limits: ListLimits,
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
        Some(text) if !text.trim().is_empty() => Some(parse_filter_within(text, limits.filter)?),
        _ => None,
    };
    let sort = SortSpec::parse(param("sortBy"), param("sortOrder"))?;
    let scope_name: Vec<&str> = scope.iter().map(|kind| kind.name()).collect();
    let fingerprint = cursor::fingerprint(&scope_name.join(","), filter.as_ref(), sort.as_ref());
    // RFC 7644 §3.4.2.4: a startIndex below 1 is read as 1, a negative count as 0.
    let start_index = integer("startIndex")?;
    let paging = match (param("cursor"), start_index) {
        (Some(_), Some(_)) => {
            return Err(ScimError::invalid_value(
                "startIndex and cursor are two ways of paging; send one of them",
            ))
        }
        (Some(text), None) if text.trim().is_empty() => Paging::Cursor { after: None },
        (Some(text), None) => Paging::Cursor {
            after: Some(cursor::decode(text, &fingerprint)?),
        },
        (None, start_index) => Paging::Index {
            start_index: start_index.unwrap_or(1).max(1),
        },
    };
    let count = integer("count")?
        .unwrap_or(limits.max_page_size)
        .clamp(0, limits.max_page_size);
    let query = ListQuery {
        filter,
        sort,
        paging,
        count,
        fingerprint,
        attributes: param("attributes").map(str::to_string),
        excluded_attributes: param("excludedAttributes").map(str::to_string),
    };
    for resource_type in scope {
        query.selection(*resource_type)?;
    }
    query.check(scope)?;
    Ok(query)
}

/// The parameters of a SearchRequest (RFC 7644 §3.4.3), as the query string would carry them.
pub fn search_params(body: &Value) -> Result<HashMap<String, String>, ScimError> {
    let Value::Object(request) = body else {
        return Err(ScimError::bad_request(
            ScimType::InvalidSyntax,
            "a search request is a JSON object",
        ));
    };
    if let Some(schemas) = request.get("schemas") {
        let names_search = schemas.as_array().is_some_and(|list| {
            list.iter()
                .any(|s| s.as_str() == Some(SEARCH_REQUEST_SCHEMA))
        });
        if !names_search {
            return Err(ScimError::bad_request(
                ScimType::InvalidSyntax,
                format!("a search request's schemas must be [\"{SEARCH_REQUEST_SCHEMA}\"]"),
            ));
        }
    }
    let mut params = HashMap::new();
    for (name, value) in request {
        let text = match value {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            Value::Array(items) if name != "schemas" => {
                let names: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
                names
                    .ok_or_else(|| {
                        ScimError::invalid_value(format!("{name} must be a list of names"))
                    })?
                    .join(",")
            }
            Value::Null => continue,
            _ if name == "schemas" => continue,
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "{name} has a value of the wrong type"
                )))
            }
        };
        params.insert(name.clone(), text);
    }
    Ok(params)
}

pub fn list_response(
    total: i64,
    start_index: Option<i64>,
    next_cursor: Option<String>,
    resources: Vec<Value>,
) -> Value {
    let mut response = json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "itemsPerPage": resources.len(),
    });
    if let Some(start_index) = start_index {
        response["startIndex"] = json!(start_index);
    }
    if let Some(next_cursor) = next_cursor {
        response["nextCursor"] = json!(next_cursor);
    }
    response["Resources"] = Value::Array(resources);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    const USERS: &[ResourceType] = &[ResourceType::User];

    fn users_query(params: &HashMap<String, String>) -> Result<ListQuery, ScimError> {
        parse_list_query(USERS, params, ListLimits::default())
    }

    #[test]
    fn the_page_size_and_filter_follow_the_limits() {
        let limits = ListLimits {
            filter: FilterLimits {
                max_length: 20,
                max_depth: 1,
            },
            max_page_size: 50,
        };
        let query = |pairs: &[(&str, &str)]| parse_list_query(USERS, &params(pairs), limits);
        assert_eq!(query(&[]).map(|q| q.count), Ok(50));
        assert_eq!(query(&[("count", "51")]).map(|q| q.count), Ok(50));
        assert!(query(&[("filter", "(userName pr)")]).is_ok());
        for refused in ["((userName pr))", r#"userName eq "abcdefghij""#] {
            assert_eq!(
                query(&[("filter", refused)])
                    .err()
                    .and_then(|e| e.scim_type),
                Some(ScimType::InvalidFilter),
                "{refused}"
            );
        }
    }

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn paging_parameters_are_read_case_insensitively_and_bounded() {
        let query = users_query(&params(&[("STARTINDEX", "0"), ("Count", "5000")]));
        assert_eq!(
            query.as_ref().map(|q| (q.paging.clone(), q.count)),
            Ok((Paging::Index { start_index: 1 }, MAX_PAGE_SIZE))
        );
        let query = users_query(&params(&[("count", "-3")]));
        assert_eq!(query.map(|q| q.count), Ok(0));
    }

    #[test]
    fn a_non_numeric_count_is_refused() {
        assert!(users_query(&params(&[("count", "ten")])).is_err());
    }

    #[test]
    fn excluded_members_are_recognised() {
        let query = parse_list_query(
            &[ResourceType::Group],
            &params(&[("excludedAttributes", "displayName, Members")]),
            ListLimits::default(),
        );
        let selection = query.and_then(|q| q.selection(ResourceType::Group));
        assert!(selection.is_ok_and(|s| !s.includes("members")));
    }

    #[test]
    fn an_empty_cursor_asks_for_the_first_page_and_excludes_start_index() {
        let query = users_query(&params(&[("cursor", "")]));
        assert_eq!(query.map(|q| q.paging), Ok(Paging::Cursor { after: None }));
        let both = users_query(&params(&[("cursor", ""), ("startIndex", "1")]));
        assert!(both.is_err());
    }

    #[test]
    fn a_cursor_of_another_filter_is_invalid() {
        let first = users_query(&params(&[("filter", r#"userName sw "a""#)]));
        let place = Place {
            key: None,
            position: 3,
        };
        let cursor = first
            .map(|q| cursor::encode(&q.fingerprint, &place))
            .unwrap_or_default();
        let same = parse_list_query(
            USERS,
            &params(&[("filter", r#"userName sw "a""#), ("cursor", &cursor)]),
            ListLimits::default(),
        );
        assert_eq!(
            same.map(|q| q.paging),
            Ok(Paging::Cursor { after: Some(place) })
        );
        let other = parse_list_query(
            USERS,
            &params(&[("filter", r#"userName sw "b""#), ("cursor", &cursor)]),
            ListLimits::default(),
        );
        assert_eq!(
            other.err().and_then(|e| e.scim_type),
            Some(ScimType::InvalidCursor)
        );
    }

    #[test]
    fn unknown_filter_attributes_are_refused_for_one_resource_type() {
        let query = users_query(&params(&[("filter", r#"members pr"#)]));
        assert_eq!(
            query.err().and_then(|e| e.scim_type),
            Some(ScimType::InvalidFilter)
        );
    }

    #[test]
    fn a_search_request_becomes_query_parameters() {
        let body = json!({
            "schemas": [SEARCH_REQUEST_SCHEMA],
            "attributes": ["userName", "emails"],
            "filter": "userName sw \"a\"",
            "startIndex": 1,
            "count": 10,
        });
        let params = search_params(&body).unwrap_or_default();
        assert_eq!(param(&params, "attributes"), Some("userName,emails"));
        assert_eq!(param(&params, "count"), Some("10"));
        assert!(search_params(&json!({"schemas": ["urn:x"], "filter": "a pr"})).is_err());
    }
}
