//! Row inserts held back and sent as multi-row `INSERT`s: many rows of one statement in one
//! statement. On PostgreSQL, whose protocol runs one statement with bound values per round
//! trip, that is what turns a projector batch's hundreds of history and chain rows into one
//! round trip per table: there each column's values go as one array, expanded with `UNNEST`,
//! so the text is the same whatever the number of rows and is prepared once. Elsewhere (the
//! events an append writes) the rows go in one `VALUES` list.
//!
//! Only for rows that no other write of the transaction depends on, and that depend on none:
//! they may go out before or after the writes deferred around them.

use super::deferred::{map_placeholders, shift_placeholders};
use super::set_based::Kind;
use super::{Sql, SqlArg};
use std::borrow::Cow;

/// Rows in one `INSERT`, at most: whatever their width, well under what either store binds in
/// one statement (32,766 on SQLite, 65,535 on PostgreSQL) for the tables written this way.
const MAX_ROWS: usize = 1_000;

/// Values held for `UNNEST` inserts before they go out: arrays have no limit on their length,
/// so this only bounds what a transaction holds in memory; well above what a projector batch
/// of 500 events writes, so that each table takes one statement per batch.
const MAX_UNNESTED_VALUES: usize = 200_000;

/// `statements` with the rows of each single-row `INSERT` text merged into multi-row ones
/// (`MAX_ROWS` rows at most each), in the order each text first comes; other statements go
/// as they are. For rows that depend on no other statement of the list, nor it on them.
pub fn merged(statements: Vec<Sql>) -> Vec<Sql> {
    let mut rows = Rows::default();
    for statement in statements {
        rows.push(statement);
    }
    rows.take()
}

#[derive(Debug, Default)]
pub struct Rows {
    /// Each statement text, in the order it first came, with the values of each of its rows.
    statements: Vec<(Cow<'static, str>, Vec<Vec<SqlArg>>)>,
    values: usize,
}

impl Rows {
    pub fn push(&mut self, sql: Sql) {
        self.values += sql.args().len();
        let (text, args) = sql.into_parts();
        match self.statements.iter_mut().find(|(held, _)| *held == text) {
            Some((_, rows)) => rows.push(args),
            None => self.statements.push((text, vec![args])),
        }
    }

    /// Whether the rows, held for `take_unnested`, should go out now.
    pub fn is_full(&self) -> bool {
        self.values >= MAX_UNNESTED_VALUES
    }

    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// The held rows as PostgreSQL statements: one `INSERT … SELECT … FROM UNNEST(…)` per
    /// statement text, with each value of the tuple bound as an array of every row's; the rows
    /// one by one where the text is not a single-row `INSERT … VALUES (…)`, and a multi-row
    /// `VALUES` where the rows disagree on a value's type.
    pub fn take_unnested(&mut self) -> Vec<Sql> {
        self.values = 0;
        let mut statements = Vec::new();
        for (text, rows) in std::mem::take(&mut self.statements) {
            let unnested = MultiRow::of(&text).and_then(|shape| shape.unnested(&rows));
            match unnested {
                Some(sql) => statements.push(sql),
                None => {
                    let mut held = Rows::default();
                    for args in rows {
                        held.push(args.into_iter().fold(Sql::new(text.clone()), Sql::bind));
                    }
                    statements.extend(held.take());
                }
            }
        }
        statements
    }

    /// The held rows as statements: multi-row `INSERT`s per statement text, or the rows one by
    /// one where the text is not a single-row `INSERT … VALUES (…)`.
    pub fn take(&mut self) -> Vec<Sql> {
        self.values = 0;
        let mut statements = Vec::new();
        for (text, rows) in std::mem::take(&mut self.statements) {
            match MultiRow::of(&text) {
                Some(shape) if rows.iter().all(|row| row.len() == shape.width) => {
                    let mut rows = rows.into_iter().peekable();
                    while rows.peek().is_some() {
                        statements.push(shape.with_rows(rows.by_ref().take(MAX_ROWS).collect()));
                    }
                }
                _ => statements.extend(
                    rows.into_iter()
                        .map(|args| args.into_iter().fold(Sql::new(text.clone()), Sql::bind)),
                ),
            }
        }
        statements
    }
}

/// `INSERT … VALUES (tuple) suffix`, taken apart.
#[derive(Debug, PartialEq)]
struct MultiRow<'t> {
    head: &'t str,
    tuple: &'t str,
    suffix: &'t str,
    /// Values per row: the tuple's placeholders are `$1` to `$width`.
    width: usize,
}

impl<'t> MultiRow<'t> {
    /// The shape of `text`, when it inserts one row whose values are all in its `VALUES`
    /// tuple, numbered `$1` on.
    fn of(text: &'t str) -> Option<Self> {
        let start = text.find("VALUES (")? + "VALUES ".len();
        let end = start + closing_paren(&text[start..])?;
        let (head, tuple, suffix) = (&text[..start], &text[start..=end], &text[end + 1..]);
        if !head.trim_start().starts_with("INSERT") || head.contains('$') || suffix.contains('$') {
            return None;
        }
        let width = highest_placeholder(tuple);
        (width > 0).then_some(Self {
            head,
            tuple,
            suffix,
            width,
        })
    }

    /// `INSERT … SELECT tuple FROM UNNEST(…) AS unnested(v1, …) suffix`, the tuple's `$N`
    /// made `unnested.vN`, with value N of every row bound as array N. `None` unless every
    /// row has `width` scalar values, each value of one type in every row.
    fn unnested(&self, rows: &[Vec<SqlArg>]) -> Option<Sql> {
        if rows.iter().any(|row| row.len() != self.width) {
            return None;
        }
        let mut arrays = Vec::with_capacity(self.width);
        let mut types = Vec::with_capacity(self.width);
        for column in 0..self.width {
            let kind = Kind::of(rows.first()?.get(column)?)?;
            arrays.push(kind.array(rows.iter().map(|row| row[column].clone()))?);
            types.push(format!("${}::{}", column + 1, kind.array_type()));
        }
        let names: Vec<String> = (1..=self.width).map(|n| format!("v{n}")).collect();
        let inner = &self.tuple[1..self.tuple.len() - 1];
        let select = map_placeholders(inner, |n| format!("unnested.v{n}"));
        let insert = self.head.trim_end().strip_suffix("VALUES")?;
        let text = format!(
            "{insert}SELECT {select} FROM UNNEST({}) AS unnested({}){}",
            types.join(", "),
            names.join(", "),
            self.suffix
        );
        Some(arrays.into_iter().fold(Sql::new(text), Sql::bind))
    }

    fn with_rows(&self, rows: Vec<Vec<SqlArg>>) -> Sql {
        let tuples: Vec<String> = (0..rows.len())
            .map(|row| shift_placeholders(self.tuple, row * self.width))
            .collect();
        let text = format!("{}{}{}", self.head, tuples.join(", "), self.suffix);
        rows.into_iter().flatten().fold(Sql::new(text), Sql::bind)
    }
}

/// Where the parenthesis opening `text` closes, outside quotes.
fn closing_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (at, c) in text.char_indices() {
        match (quote, c) {
            (Some(open), _) if c == open => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(at);
                }
            }
            (None, _) => {}
        }
    }
    None
}

/// The highest `$N` in `text`, 0 if none (quotes are not looked into: a tuple of values has
/// no quoted dollar signs that matter here, and a wrong guess only loses the merge).
fn highest_placeholder(text: &str) -> usize {
    let mut highest = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            continue;
        }
        let mut digits = String::new();
        while let Some(digit) = chars.next_if(char::is_ascii_digit) {
            digits.push(digit);
        }
        highest = highest.max(digits.parse().unwrap_or(0));
    }
    highest
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn row(a: i64, b: &str) -> Sql {
        Sql::new("INSERT INTO t (a, b) VALUES ($1, lower($2)) ON CONFLICT (a) DO NOTHING")
            .bind(a)
            .bind(b)
    }

    #[test]
    fn rows_of_one_statement_become_one_multi_row_insert() {
        let mut rows = Rows::default();
        rows.push(row(1, "x"));
        rows.push(Sql::new("INSERT INTO u (c) VALUES ($1)").bind(7i64));
        rows.push(row(2, "y"));
        let statements = rows.take();
        assert_eq!(statements.len(), 2);
        assert_eq!(
            statements[0].text(),
            "INSERT INTO t (a, b) VALUES ($1, lower($2)), ($3, lower($4)) ON CONFLICT (a) DO NOTHING"
        );
        assert_eq!(
            statements[0].args(),
            [1i64.into(), "x".into(), 2i64.into(), "y".into()]
        );
        assert_eq!(statements[1].text(), "INSERT INTO u (c) VALUES ($1)");
        assert!(rows.is_empty());
    }

    #[test]
    fn postgres_rows_of_one_statement_become_one_unnest_of_arrays() {
        let mut rows = Rows::default();
        rows.push(row(1, "x"));
        rows.push(Sql::new("INSERT INTO u (c) VALUES ($1)").bind(7i64));
        rows.push(row(2, "y"));
        let statements = rows.take_unnested();
        assert_eq!(statements.len(), 2);
        assert_eq!(
            statements[0].text(),
            "INSERT INTO t (a, b) SELECT unnested.v1, lower(unnested.v2) \
             FROM UNNEST($1::bigint[], $2::text[]) AS unnested(v1, v2) ON CONFLICT (a) DO NOTHING"
        );
        assert_eq!(
            statements[0].args(),
            [
                SqlArg::Ints(vec![Some(1), Some(2)]),
                SqlArg::Texts(vec![Some("x".into()), Some("y".into())])
            ]
        );
        assert_eq!(
            statements[1].text(),
            "INSERT INTO u (c) SELECT unnested.v1 FROM UNNEST($1::bigint[]) AS unnested(v1)"
        );
        // Rows disagreeing on a value's type keep the multi-row VALUES.
        rows.push(row(1, "x"));
        rows.push(
            Sql::new(row(2, "y").text().to_string())
                .bind(2i64)
                .bind(3i64),
        );
        let statements = rows.take_unnested();
        assert_eq!(statements.len(), 1);
        assert!(statements[0]
            .text()
            .contains("VALUES ($1, lower($2)), ($3, lower($4))"));
    }

    #[test]
    fn other_shapes_go_one_by_one() {
        for text in [
            "UPDATE t SET a = $1",
            "INSERT INTO t (a) SELECT $1",
            "INSERT INTO t (a) VALUES ($1) ON CONFLICT (a) DO UPDATE SET a = $1 + 1",
            "INSERT INTO t (a) VALUES (1)",
        ] {
            assert_eq!(MultiRow::of(text), None, "{text}");
            let mut rows = Rows::default();
            rows.push(Sql::new(text).bind(1i64));
            rows.push(Sql::new(text).bind(2i64));
            let statements = rows.take();
            assert_eq!(statements.len(), 2, "{text}");
            assert_eq!(statements[1].text(), text);
            assert_eq!(statements[1].args(), [2i64.into()]);
        }
    }

    #[test]
    fn the_tuple_ends_at_its_own_parenthesis() {
        let shape =
            MultiRow::of("INSERT INTO t (a, b) VALUES (coalesce($1, ')'), ($2)) RETURNING a");
        assert_eq!(
            shape.map(|shape| (shape.tuple, shape.suffix, shape.width)),
            Some(("(coalesce($1, ')'), ($2))", " RETURNING a", 2))
        );
    }

    #[test]
    fn held_rows_fill_up_by_values() {
        let mut rows = Rows::default();
        for n in 0..MAX_UNNESTED_VALUES / 2 - 1 {
            rows.push(row(n as i64, "x"));
        }
        assert!(!rows.is_full());
        rows.push(row(0, "x"));
        assert!(rows.is_full());
    }

    proptest! {
        /// However many rows of whatever width, the merged statement numbers every value once,
        /// in order, and binds the rows' values in the same order.
        #[test]
        fn merged_rows_number_every_value_once(width in 1usize..8, count in 1usize..20) {
            let columns: Vec<String> = (1..=width).map(|n| format!("c{n}")).collect();
            let values: Vec<String> = (1..=width).map(|n| format!("${n}")).collect();
            let text = format!(
                "INSERT INTO t ({}) VALUES ({}) ON CONFLICT DO NOTHING",
                columns.join(", "),
                values.join(", ")
            );
            let mut rows = Rows::default();
            for row in 0..count {
                let args = (0..width).map(|column| (row * width + column) as i64);
                rows.push(args.fold(Sql::new(text.clone()), Sql::bind));
            }
            let statements = rows.take();
            prop_assert_eq!(statements.len(), 1);
            let merged = &statements[0];
            let expected: Vec<SqlArg> = (0..(count * width) as i64).map(SqlArg::from).collect();
            prop_assert_eq!(merged.args(), expected.as_slice());
            let numbers: Vec<usize> = merged
                .text()
                .split('$')
                .skip(1)
                .map(|rest| rest.chars().take_while(char::is_ascii_digit).collect::<String>())
                .filter_map(|digits| digits.parse().ok())
                .collect();
            prop_assert_eq!(numbers, (1..=count * width).collect::<Vec<_>>());
            prop_assert!(merged.text().ends_with(") ON CONFLICT DO NOTHING"));
        }

        /// On PostgreSQL the text is the same whatever the number of rows, and array N holds
        /// value N of every row, in order.
        #[test]
        fn unnested_text_does_not_depend_on_the_rows(width in 1usize..8, count in 1usize..40) {
            let values: Vec<String> = (1..=width).map(|n| format!("${n}")).collect();
            let text = format!("INSERT INTO t VALUES ({})", values.join(", "));
            let held = |count: usize| {
                let mut rows = Rows::default();
                for row in 0..count {
                    let args = (0..width).map(|column| (row * width + column) as i64);
                    rows.push(args.fold(Sql::new(text.clone()), Sql::bind));
                }
                rows.take_unnested()
            };
            let (one, all) = (held(1), held(count));
            prop_assert_eq!(all.len(), 1);
            prop_assert_eq!(one[0].text(), all[0].text());
            for (column, array) in all[0].args().iter().enumerate() {
                let expected: Vec<Option<i64>> =
                    (0..count).map(|row| Some((row * width + column) as i64)).collect();
                prop_assert_eq!(array, &SqlArg::Ints(expected));
            }
        }
    }
}
