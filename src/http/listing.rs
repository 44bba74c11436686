//! Running a listing: in SQL when the filter and order have columns behind them, otherwise by
//! scanning the SQL prefilter's candidates in batches and evaluating the rest in Rust. Both
//! give the same resources, the same exact `totalResults` and the same order.

use super::documents::{self, related};
use super::router::AppState;
use crate::scim::error::ScimError;
use crate::scim::filter::eval::resource_matches;
use crate::scim::filter::sql::column_of;
use crate::scim::filter::Filter;
use crate::scim::list::cursor;
use crate::scim::list::sort::{order, Place};
use crate::scim::list::statements::{by_positions, groups_in_rows, Order, Statements};
use crate::scim::list::{list_response, ListQuery, Paging};
use crate::scim::schema::ResourceType;
use crate::store::key_confirmation::{self, WithKeyGeneration};
use projections::db::{Record, Sql};
use projections::scim_groups::GroupRecord;
use projections::scim_users::{UserRecord, UserWithGroups};
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::HashMap;

/// Candidates read per round trip when the filter is evaluated in Rust.
const SCAN_BATCH: i64 = 500;

/// A rendered resource and where it stands in the listing.
struct Found {
    resource_type: ResourceType,
    place: Place,
    document: Value,
}

/// One page of the resources of the types in `scope` that `query` asks for, as a ListResponse.
pub async fn list(
    state: &AppState,
    instance_id: &str,
    base: &str,
    scope: &[ResourceType],
    query: &ListQuery,
) -> Result<Value, ScimError> {
    if let [resource_type] = scope {
        let statements = Statements::new(
            *resource_type,
            state.provisioning.store().db.dialect(),
            instance_id,
            query.filter.as_ref(),
        );
        if let Some(order) = sql_order(*resource_type, query).filter(|_| statements.exact) {
            return in_sql(state, base, *resource_type, query, &statements, order).await;
        }
    }
    in_rust(state, instance_id, base, scope, query).await
}

/// The SQL order of the query, if its `sortBy` has a column.
fn sql_order(resource_type: ResourceType, query: &ListQuery) -> Option<Order> {
    match &query.sort {
        None => Some(Order {
            column: None,
            descending: false,
        }),
        Some(spec) => column_of(resource_type, &spec.path).map(|column| Order {
            column: Some(column),
            descending: spec.descending,
        }),
    }
}

fn place_of(resource_type: ResourceType, query: &ListQuery, position: i64, doc: &Value) -> Place {
    Place {
        key: query
            .sort
            .as_ref()
            .and_then(|spec| spec.key(resource_type, doc)),
        position,
    }
}

async fn in_sql(
    state: &AppState,
    base: &str,
    resource_type: ResourceType,
    query: &ListQuery,
    statements: &Statements,
    order: Order,
) -> Result<Value, ScimError> {
    let with_related = query
        .selection(resource_type)?
        .includes(related(resource_type));
    let (page, start_index) = match &query.paging {
        Paging::Index { start_index } => (
            statements.page(order, None, query.count, start_index - 1, with_related),
            Some(*start_index),
        ),
        Paging::Cursor { after } => (
            statements.page(order, after.as_ref(), query.count + 1, 0, with_related),
            None,
        ),
    };
    let found = documents(state, base, resource_type, &page, with_related, true)
        .await?
        .into_iter()
        .map(|(position, document)| Found {
            resource_type,
            place: place_of(resource_type, query, position, &document),
            document,
        })
        .collect::<Vec<_>>();
    let total = match known_total(&query.paging, query.count, found.len()) {
        Some(total) => total,
        None => state.provisioning.read_total(&statements.count()).await?,
    };
    respond(query, total, start_index, found)
}

/// The total of a listing whose first page holds every match (an IdP's `userName eq`
/// lookup), which then needs no count of its own.
fn known_total(paging: &Paging, count: i64, found: usize) -> Option<i64> {
    let page = usize::try_from(count).ok()?;
    let all_found = match paging {
        // A full page may have more behind it.
        Paging::Index { start_index } => *start_index == 1 && found < page,
        // The page was read with one row more than it shows.
        Paging::Cursor { after } => after.is_none() && found <= page,
    };
    all_found.then(|| i64::try_from(found).unwrap_or(i64::MAX))
}

async fn in_rust(
    state: &AppState,
    instance_id: &str,
    base: &str,
    types: &[ResourceType],
    query: &ListQuery,
) -> Result<Value, ScimError> {
    let dialect = state.provisioning.store().db.dialect();
    let mut matches: Vec<(ResourceType, Place)> = Vec::new();
    for resource_type in types {
        let statements =
            Statements::new(*resource_type, dialect, instance_id, query.filter.as_ref());
        let attribute = related(*resource_type);
        let needs_related = query
            .filter
            .as_ref()
            .is_some_and(|f| mentions(f, attribute))
            || query
                .sort
                .as_ref()
                .is_some_and(|spec| spec.path.name.eq_ignore_ascii_case(attribute));
        let mut after = 0;
        loop {
            let batch = statements.scan(after, SCAN_BATCH, needs_related);
            let candidates =
                documents(state, base, *resource_type, &batch, needs_related, false).await?;
            let exhausted = i64::try_from(candidates.len()).unwrap_or(i64::MAX) < SCAN_BATCH;
            for (position, document) in candidates {
                after = position;
                let matched = query
                    .filter
                    .as_ref()
                    .is_none_or(|filter| resource_matches(filter, *resource_type, &document));
                if matched {
                    let place = place_of(*resource_type, query, position, &document);
                    matches.push((*resource_type, place));
                }
            }
            if exhausted {
                break;
            }
        }
    }
    let descending = query.sort.as_ref().is_some_and(|spec| spec.descending);
    matches.sort_by(|(_, a), (_, b)| order(a, b, descending));
    let total = i64::try_from(matches.len()).unwrap_or(i64::MAX);
    let count = usize::try_from(query.count).unwrap_or_default();
    let (window, start_index): (Vec<_>, _) = match &query.paging {
        Paging::Index { start_index } => {
            let skip = usize::try_from(start_index - 1).unwrap_or(usize::MAX);
            (
                matches.into_iter().skip(skip).take(count).collect(),
                Some(*start_index),
            )
        }
        Paging::Cursor { after } => (
            matches
                .into_iter()
                .filter(|(_, place)| {
                    after
                        .as_ref()
                        .is_none_or(|after| order(place, after, descending) == Ordering::Greater)
                })
                .take(count + 1)
                .collect(),
            None,
        ),
    };
    let found = fetch_window(state, instance_id, base, query, window).await?;
    respond(query, total, start_index, found)
}

/// The rendered resources at the window's places, in the window's order.
async fn fetch_window(
    state: &AppState,
    instance_id: &str,
    base: &str,
    query: &ListQuery,
    window: Vec<(ResourceType, Place)>,
) -> Result<Vec<Found>, ScimError> {
    let mut rendered: HashMap<i64, Value> = HashMap::new();
    for resource_type in ResourceType::ALL {
        let positions: Vec<i64> = window
            .iter()
            .filter(|(kind, _)| *kind == resource_type)
            .map(|(_, place)| place.position)
            .collect();
        if positions.is_empty() {
            continue;
        }
        let with_related = query
            .selection(resource_type)?
            .includes(related(resource_type));
        let dialect = state.provisioning.store().db.dialect();
        let sql = by_positions(
            resource_type,
            dialect,
            instance_id,
            &positions,
            with_related,
        );
        let found = documents(state, base, resource_type, &sql, with_related, false).await?;
        rendered.extend(found);
    }
    // A resource deleted since the scan is left out rather than shown stale.
    Ok(window
        .into_iter()
        .filter_map(|(resource_type, place)| {
            rendered.remove(&place.position).map(|document| Found {
                resource_type,
                place,
                document,
            })
        })
        .collect())
}

/// The ListResponse of a page; in cursor paging, `found` holds one resource more than the
/// page when there is a next page.
fn respond(
    query: &ListQuery,
    total: i64,
    start_index: Option<i64>,
    mut found: Vec<Found>,
) -> Result<Value, ScimError> {
    let count = usize::try_from(query.count).unwrap_or_default();
    let next_cursor = match query.paging {
        Paging::Cursor { .. } if found.len() > count => {
            found.truncate(count);
            found
                .last()
                .map(|last| cursor::encode(&query.fingerprint, &last.place))
        }
        _ => None,
    };
    // Parsed once per resource type, not once per resource.
    let users = query.selection(ResourceType::User)?;
    let groups = query.selection(ResourceType::Group)?;
    let resources = found
        .into_iter()
        .map(|item| {
            let selection = match item.resource_type {
                ResourceType::User => &users,
                ResourceType::Group => &groups,
            };
            selection.apply(item.resource_type, item.document)
        })
        .collect();
    Ok(list_response(total, start_index, next_cursor, resources))
}

/// The rows `sql` selects, rendered (with their related attribute when asked), with their
/// creation positions. `with_key_generation`: `sql` selects the key generation too
/// (`Statements::page`), which is noted for the request (`key_confirmation`).
async fn documents(
    state: &AppState,
    base: &str,
    resource_type: ResourceType,
    sql: &Sql,
    with_related: bool,
    with_key_generation: bool,
) -> Result<Vec<(i64, Value)>, ScimError> {
    let provisioning = &state.provisioning;
    let dialect = provisioning.store().db.dialect();
    let (positions, rendered): (Vec<i64>, Vec<Value>) = match resource_type {
        ResourceType::User if groups_in_rows(resource_type, dialect, with_related) => {
            let rows: Vec<UserWithGroups> = read(state, sql, with_key_generation).await?;
            let mut groups = HashMap::with_capacity(rows.len());
            for row in &rows {
                let listed = row.groups().map_err(|error| ScimError::internal(&error))?;
                groups.insert(row.user.id.clone(), listed);
            }
            let records: Vec<UserRecord> = rows.into_iter().map(|row| row.user).collect();
            let rendered = documents::render_users(&records, base, Some(&groups));
            (
                records.iter().map(|r| r.created_position).collect(),
                rendered,
            )
        }
        ResourceType::User => {
            let records: Vec<UserRecord> = read(state, sql, with_key_generation).await?;
            let rendered = documents::users(state, &records, base, with_related).await?;
            (
                records.iter().map(|r| r.created_position).collect(),
                rendered,
            )
        }
        ResourceType::Group => {
            let records: Vec<GroupRecord> = read(state, sql, with_key_generation).await?;
            let rendered = documents::groups(state, &records, base, with_related).await?;
            (
                records.iter().map(|r| r.created_position).collect(),
                rendered,
            )
        }
    };
    Ok(positions.into_iter().zip(rendered).collect())
}

async fn read<T: Record>(
    state: &AppState,
    sql: &Sql,
    with_key_generation: bool,
) -> Result<Vec<T>, ScimError> {
    let provisioning = &state.provisioning;
    if !with_key_generation {
        return Ok(provisioning.read(sql).await?);
    }
    let rows: Vec<WithKeyGeneration<T>> = provisioning.read(sql).await?;
    Ok(key_confirmation::observed(rows))
}

/// Whether the filter names the top-level attribute `name` anywhere.
fn mentions(filter: &Filter, name: &str) -> bool {
    match filter {
        Filter::And(..) | Filter::Or(..) => filter
            .operands()
            .into_iter()
            .any(|operand| mentions(operand, name)),
        Filter::Not(inner) => mentions(inner, name),
        Filter::Present(path) | Filter::Compare { path, .. } => {
            path.name.eq_ignore_ascii_case(name)
        }
        Filter::ValuePath { attr, .. } => attr.name.eq_ignore_ascii_case(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_page_that_is_not_full_gives_the_total() {
        let first = Paging::Index { start_index: 1 };
        assert_eq!(known_total(&first, 100, 1), Some(1));
        assert_eq!(known_total(&first, 100, 0), Some(0));
        assert_eq!(known_total(&first, 100, 100), None);
        assert_eq!(known_total(&first, 0, 0), None);
        assert_eq!(known_total(&Paging::Index { start_index: 2 }, 100, 0), None);
        let cursor = Paging::Cursor { after: None };
        assert_eq!(known_total(&cursor, 100, 100), Some(100));
        assert_eq!(known_total(&cursor, 100, 101), None);
        assert_eq!(known_total(&cursor, 0, 0), Some(0));
    }
}
