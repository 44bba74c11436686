//! Writes a PostgreSQL transaction holds back until it next reads or commits, and then sends
//! at once.
//!
//! The projector's writes need no answer, so a transaction collects them instead of waiting
//! for each in turn. (On SQLite, where a statement is a call on the same thread, they run at
//! once; see `sqlite`.)

use super::Sql;

/// Statements held back, and when to stop holding more: SQLite binds at most 32,766 values
/// in one call, and a very long list would only be prepared for a single use.
#[derive(Debug, Default)]
pub struct Deferred {
    statements: Vec<Sql>,
    values: usize,
}

const MAX_STATEMENTS: usize = 64;
pub(super) const MAX_VALUES: usize = 2_000;

impl Deferred {
    pub fn push(&mut self, sql: Sql) {
        self.values += sql.args().len();
        self.statements.push(sql);
    }

    pub fn is_full(&self) -> bool {
        self.statements.len() >= MAX_STATEMENTS || self.values >= MAX_VALUES
    }

    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    pub fn take(&mut self) -> Vec<Sql> {
        self.values = 0;
        std::mem::take(&mut self.statements)
    }
}

/// `text` with every placeholder `$N` outside quotes made `$N+by`.
pub(super) fn shift_placeholders(text: &str, by: usize) -> String {
    if by == 0 {
        return text.to_string();
    }
    map_placeholders(text, |number| format!("${}", number.saturating_add(by)))
}

/// `text` with every placeholder `$N` outside quotes replaced by `with(N)`.
pub(super) fn map_placeholders(text: &str, with: impl Fn(usize) -> String) -> String {
    let mut mapped = String::with_capacity(text.len() + 8);
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(open) => {
                if c == open {
                    quote = None;
                }
                mapped.push(c);
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                mapped.push(c);
            }
            None if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) => {
                let mut digits = String::new();
                while let Some(digit) = chars.next_if(char::is_ascii_digit) {
                    digits.push(digit);
                }
                // Digits only, so the parse cannot fail short of overflow.
                mapped.push_str(&with(digits.parse().unwrap_or(usize::MAX)));
            }
            None => mapped.push(c),
        }
    }
    mapped
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dollars_in_quotes_and_without_digits_stay() {
        assert_eq!(
            shift_placeholders("SELECT '$1', \"$2\", json_extract(a, '$.b'), $3, $", 10),
            "SELECT '$1', \"$2\", json_extract(a, '$.b'), $13, $"
        );
    }

    #[test]
    fn the_deferred_list_fills_up_by_statements_or_values() {
        let mut deferred = Deferred::default();
        for _ in 0..MAX_STATEMENTS - 1 {
            deferred.push(Sql::new("DELETE FROM t WHERE a = $1").bind(1i64));
        }
        assert!(!deferred.is_full());
        deferred.push(Sql::new("DELETE FROM t"));
        assert!(deferred.is_full());
        assert_eq!(deferred.take().len(), MAX_STATEMENTS);
        assert!(deferred.is_empty() && !deferred.is_full());
        let mut wide = Sql::new("INSERT INTO t VALUES ($1)");
        for _ in 0..MAX_VALUES {
            wide.push_arg(1i64);
        }
        deferred.push(wide);
        assert!(deferred.is_full());
    }

    proptest! {
        /// Shifting by zero changes nothing, and shifting twice adds up.
        #[test]
        fn shifts_compose(text in "[a-z$0-9 '(),]{0,60}", a in 0usize..100, b in 0usize..100) {
            prop_assert_eq!(shift_placeholders(&text, 0), text.clone());
            prop_assert_eq!(
                shift_placeholders(&shift_placeholders(&text, a), b),
                shift_placeholders(&text, a + b)
            );
        }
    }
}
