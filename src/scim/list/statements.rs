//! The SQL of a listing: count, page (by offset or after a cursor's place), the batched scan
//! that feeds the Rust evaluator, and fetching chosen resources by position.
//!
//! Every statement binds its values, so one prepared statement serves every page.

use super::sort::{Place, SortKey};
use crate::scim::filter::sql::{byte_order, Column, ColumnKind, SqlFilter, Translation};
use crate::scim::filter::Filter;
use crate::scim::schema::ResourceType;
use crate::store::key_confirmation::KEY_GENERATION_COLUMN;
use projections::db::{Dialect, Sql, SqlArg};
use projections::scim_groups::GROUP_COLUMNS;
use projections::scim_users::{user_with_groups_columns, USER_COLUMNS};
use projections::totals;

/// How the rows are ordered: by a column then creation, or by creation alone.
#[derive(Debug, Clone, Copy)]
pub struct Order {
    pub column: Option<Column>,
    pub descending: bool,
}

pub struct Statements {
    dialect: Dialect,
    resource_type: ResourceType,
    table: &'static str,
    /// The instance, then the filter's values.
    args: Vec<SqlArg>,
    /// `" AND (...)"`, or empty.
    condition: String,
    /// Whether the condition selects exactly the filter's matches.
    pub exact: bool,
}

pub fn table_of(resource_type: ResourceType) -> (&'static str, &'static str) {
    match resource_type {
        ResourceType::User => ("scim_users", USER_COLUMNS),
        ResourceType::Group => ("scim_groups", GROUP_COLUMNS),
    }
}

/// Whether rendering rows read with `with_related` finds the users' groups in the same rows
/// (`UserWithGroups`) rather than reading them apart: on SQLite, where it spares a lookup one
/// statement of three. On PostgreSQL the correlated subquery made planning each lookup cost
/// 0.8 ms, more than the second statement it spares (W2 fell from about 5,000 to 4,000/s).
/// A group's members, which can be many, are always read apart.
pub fn groups_in_rows(resource_type: ResourceType, dialect: Dialect, with_related: bool) -> bool {
    resource_type == ResourceType::User && with_related && dialect == Dialect::Sqlite
}

fn rendered_columns(resource_type: ResourceType, dialect: Dialect, with_related: bool) -> String {
    if groups_in_rows(resource_type, dialect, with_related) {
        user_with_groups_columns(dialect)
    } else {
        table_of(resource_type).1.to_string()
    }
}

impl Statements {
    pub fn new(
        resource_type: ResourceType,
        dialect: Dialect,
        instance_id: &str,
        filter: Option<&Filter>,
    ) -> Self {
        let table = table_of(resource_type).0;
        let mut args = vec![SqlArg::from(instance_id)];
        let translation = match filter {
            Some(filter) => SqlFilter::new(resource_type, dialect, &mut args).translate(filter),
            None => Translation {
                condition: None,
                exact: true,
            },
        };
        Self {
            dialect,
            resource_type,
            table,
            args,
            condition: translation
                .condition
                .map(|condition| format!(" AND {condition}"))
                .unwrap_or_default(),
            exact: translation.exact,
        }
    }

    fn statement(&self, text: String, extra: Vec<SqlArg>) -> Sql {
        self.args
            .iter()
            .cloned()
            .chain(extra)
            .fold(Sql::new(text), |sql, arg| sql.bind(arg))
    }

    fn next_placeholder(&self, extra: &[SqlArg]) -> String {
        format!("${}", self.args.len() + extra.len() + 1)
    }

    pub fn count(&self) -> Sql {
        let (table, condition) = (self.table, &self.condition);
        // Unfiltered: the total the projection keeps, not a count of every row (on
        // PostgreSQL that alone took 20 ms a page at 100,000 users).
        if condition.is_empty() {
            let totals = match self.resource_type {
                ResourceType::User => totals::USER_TOTALS,
                ResourceType::Group => totals::GROUP_TOTALS,
            };
            return self.statement(totals::read(totals), vec![]);
        }
        self.statement(
            format!("SELECT count(*) AS total FROM {table} WHERE instance_id = $1{condition}"),
            vec![],
        )
    }

    /// One page in `order`: after `after` if given, else from `offset`; with the related
    /// attribute's rows when `with_related` (see `rendered_columns`), and in every row the
    /// key generation, which confirms a key held in memory without a read of its own
    /// (`key_confirmation`).
    pub fn page(
        &self,
        order: Order,
        after: Option<&Place>,
        limit: i64,
        offset: i64,
        with_related: bool,
    ) -> Sql {
        let mut extra = Vec::new();
        let keyset = after
            .map(|place| format!(" AND {}", self.after(order, place, &mut extra)))
            .unwrap_or_default();
        let limit_at = self.next_placeholder(&extra);
        extra.push(SqlArg::from(limit));
        let offset_at = self.next_placeholder(&extra);
        extra.push(SqlArg::from(offset));
        let columns = rendered_columns(self.resource_type, self.dialect, with_related);
        let (table, condition) = (self.table, &self.condition);
        let order_by = self.order_by(order);
        self.statement(
            format!(
                "SELECT {columns}, {KEY_GENERATION_COLUMN} FROM {table} WHERE instance_id = $1{condition}{keyset}
                  ORDER BY {order_by} LIMIT {limit_at} OFFSET {offset_at}"
            ),
            extra,
        )
    }

    /// The next batch of candidates in creation order, for evaluation in Rust; with the
    /// related attribute's rows when the filter needs them.
    pub fn scan(&self, after_position: i64, limit: i64, with_related: bool) -> Sql {
        let after_at = self.next_placeholder(&[]);
        let limit_at = format!("${}", self.args.len() + 2);
        let columns = rendered_columns(self.resource_type, self.dialect, with_related);
        let (table, condition) = (self.table, &self.condition);
        self.statement(
            format!(
                "SELECT {columns} FROM {table} WHERE instance_id = $1{condition}
                  AND created_position > {after_at} ORDER BY created_position LIMIT {limit_at}"
            ),
            vec![SqlArg::from(after_position), SqlArg::from(limit)],
        )
    }

    fn order_by(&self, order: Order) -> String {
        let direction = if order.descending { "DESC" } else { "ASC" };
        match order.column {
            None => format!("created_position {direction}"),
            Some(column) => {
                let collate = self.collation(column);
                let name = column.name;
                // A column that is never NULL skips the NULLs-last term, so that an index in
                // (column, created_position) order serves the page.
                let nulls_last = if column.nullable {
                    format!("({name} IS NULL) {direction}, ")
                } else {
                    String::new()
                };
                format!("{nulls_last}{name}{collate} {direction}, created_position {direction}")
            }
        }
    }

    fn collation(&self, column: Column) -> &'static str {
        match column.kind {
            ColumnKind::Boolean => "",
            _ => byte_order(self.dialect),
        }
    }

    /// Rows strictly after `place` in `order` (see `sort::order`: no value sorts last).
    fn after(&self, order: Order, place: &Place, extra: &mut Vec<SqlArg>) -> String {
        let position_at = self.next_placeholder(extra);
        extra.push(SqlArg::from(place.position));
        let later = if order.descending { "<" } else { ">" };
        let Some(column) = order.column else {
            return format!("created_position {later} {position_at}");
        };
        let name = column.name;
        let collate = self.collation(column);
        let key = match &place.key {
            Some(SortKey::Text(text)) => Some(SqlArg::from(text.as_str())),
            Some(SortKey::Bool(flag)) => Some(SqlArg::from(*flag)),
            Some(SortKey::Number(_)) | None => None,
        };
        match (key, order.descending) {
            (None, false) => format!("({name} IS NULL AND created_position > {position_at})"),
            (None, true) => format!(
                "(({name} IS NULL AND created_position < {position_at}) OR {name} IS NOT NULL)"
            ),
            (Some(key), descending) => {
                let key_at = self.next_placeholder(extra);
                extra.push(key);
                // A row comparison, which both stores can answer from a (column, position) index.
                let beyond = format!(
                    "({name}{collate}, created_position) {later} ({key_at}, {position_at})"
                );
                match (column.nullable, descending) {
                    (false, _) => beyond,
                    (true, true) => format!("({name} IS NOT NULL AND {beyond})"),
                    (true, false) => format!("({name} IS NULL OR {beyond})"),
                }
            }
        }
    }
}

/// The resources of `instance_id` created at these positions, with the related attribute's
/// rows when `with_related` (see `rendered_columns`).
pub fn by_positions(
    resource_type: ResourceType,
    dialect: Dialect,
    instance_id: &str,
    positions: &[i64],
    with_related: bool,
) -> Sql {
    let table = table_of(resource_type).0;
    let columns = rendered_columns(resource_type, dialect, with_related);
    let placeholders: Vec<String> = (0..positions.len())
        .map(|index| format!("${}", index + 2))
        .collect();
    let list = if placeholders.is_empty() {
        "NULL".to_string()
    } else {
        placeholders.join(", ")
    };
    positions.iter().fold(
        Sql::new(format!(
            "SELECT {columns} FROM {table} WHERE instance_id = $1 AND created_position IN ({list})"
        ))
        .bind(instance_id),
        |sql, position| sql.bind(*position),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::parse_filter;
    use crate::scim::filter::sql::column_of;

    fn statements(filter: &str) -> Statements {
        let filter = parse_filter(filter).ok();
        Statements::new(ResourceType::User, Dialect::Postgres, "i1", filter.as_ref())
    }

    #[test]
    fn a_page_after_a_place_numbers_its_placeholders_after_the_filter() {
        let statements = statements(r#"userName sw "a""#);
        let column = parse_filter("displayName pr")
            .ok()
            .and_then(|filter| match filter {
                Filter::Present(path) => column_of(ResourceType::User, &path),
                _ => None,
            });
        let order = Order {
            column,
            descending: false,
        };
        let place = Place {
            key: Some(SortKey::Text("bob".into())),
            position: 9,
        };
        let page = statements.page(order, Some(&place), 10, 0, false);
        assert!(page.text().contains(
            r#"(display_name_key IS NULL OR (display_name_key COLLATE "C", created_position) > ($4, $3))"#
        ), "{}", page.text());
        assert!(page.text().contains("LIMIT $5 OFFSET $6"));
        assert_eq!(page.args().len(), 6);
        assert!(statements.exact);
    }

    #[test]
    fn an_untranslatable_filter_scans_in_creation_order() {
        let statements = statements(r#"nickName eq "x""#);
        assert!(!statements.exact);
        let scan = statements.scan(0, 500, false);
        assert!(scan.text().contains("created_position > $2"));
        assert!(scan.text().contains("LIMIT $3"));
    }
}
