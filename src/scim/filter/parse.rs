//! Recursive-descent parser for SCIM filters (RFC 7644 §3.4.2.2), over the tokens
//! of `lex`; the PATCH path parser reuses it for `attr[valFilter]`.
//!
//! Pure: no schema knowledge, no I/O. Input comes straight from HTTP clients, so
//! nothing here may panic, slice unchecked or recurse without bound: length is
//! capped by `FilterLimits::max_length` and nesting by `FilterLimits::max_depth`. Error messages
//! reach clients verbatim as the `detail` of an `invalidFilter` error, so each names
//! the problem and the character offset where it was found.

use std::fmt::Display;
use std::str::FromStr;

use serde_json::Number;

use super::lex::{is_keyword, quote, Tok, Token};
use super::{AttrPath, CompValue, CompareOp, Filter, FilterLimits};
use FilterErrorKind::*;

/// What kind of mistake a [`FilterError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FilterErrorKind {
    /// Nothing but whitespace.
    Empty,
    /// Longer than `FilterLimits::max_length` bytes.
    TooLong,
    /// `(`, `not (` or `[` nested deeper than `FilterLimits::max_depth`.
    TooDeep,
    /// A missing, misplaced or unbalanced token.
    Syntax,
    /// A word in operator position that is not an RFC 7644 operator.
    UnknownOperator,
    /// A malformed attribute name or URN, or a path not allowed where it stands.
    InvalidAttrPath,
    /// A comparison value that is not a JSON string, number, `true`, `false` or `null`.
    InvalidValue,
    /// An unterminated string, bad escape, lone surrogate or raw control character.
    InvalidString,
}

/// Why a filter was rejected. `Display` is the client-facing message; offsets
/// count characters (not bytes) from 0.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FilterError {
    kind: FilterErrorKind,
    offset: usize,
    message: String,
}

impl FilterError {
    pub fn kind(&self) -> FilterErrorKind {
        self.kind
    }

    /// Character offset into the input where the problem was found.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

/// Parses a SCIM filter expression within the default limits.
pub fn parse_filter(input: &str) -> Result<Filter, FilterError> {
    parse_filter_within(input, FilterLimits::default())
}

/// Parses a SCIM filter expression, e.g. the `filter` query parameter, refusing one longer
/// or more deeply nested than `limits` allow.
pub fn parse_filter_within(input: &str, limits: FilterLimits) -> Result<Filter, FilterError> {
    check_length_within(input, "filter", limits.max_length)?;
    let mut p = Parser::within(input, limits);
    if matches!(p.peek()?, Tok::End) {
        let message = "filter is empty".into();
        return Err(FilterError {
            kind: Empty,
            offset: 0,
            message,
        });
    }
    let filter = p.or_expr(None)?;
    p.expect_end()?;
    Ok(filter)
}

/// Rejects oversized input before any work is done on it; `what` names it in the message.
pub(crate) fn check_length_within(input: &str, what: &str, max: usize) -> Result<(), FilterError> {
    if input.len() <= max {
        return Ok(());
    }
    let (len, offset) = (input.len(), Parser::new(input).offset(max));
    let message = format!("{what} is {len} bytes long; the limit is {max}");
    Err(FilterError {
        kind: TooLong,
        offset,
        message,
    })
}

pub(crate) struct Parser<'a> {
    pub(super) src: &'a str,
    /// Byte offset of the next unread character.
    pub(super) pos: usize,
    pub(super) peeked: Option<Token<'a>>,
    depth: usize,
    max_depth: usize,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Self::within(src, FilterLimits::default())
    }

    /// A parser that refuses nesting deeper than `limits` allows.
    pub(crate) fn within(src: &'a str, limits: FilterLimits) -> Self {
        Parser {
            src,
            pos: 0,
            peeked: None,
            depth: 0,
            max_depth: limits.max_depth,
        }
    }

    /// Character offset of byte offset `at`, as clients count.
    pub(crate) fn offset(&self, at: usize) -> usize {
        self.src.char_indices().take_while(|&(i, _)| i < at).count()
    }

    /// An error reading "{problem} at offset N{detail}" for byte offset `at`.
    pub(crate) fn fail(
        &self,
        kind: FilterErrorKind,
        at: usize,
        problem: impl Display,
        detail: impl Display,
    ) -> FilterError {
        let offset = self.offset(at);
        let message = format!("{problem} at offset {offset}{detail}");
        FilterError {
            kind,
            offset,
            message,
        }
    }

    fn enter(&mut self, at: usize) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth <= self.max_depth {
            return Ok(());
        }
        let max = self.max_depth;
        let detail = format!(": at most {max} levels of '(', 'not (' and '[' are allowed");
        Err(self.fail(TooDeep, at, "filter is nested too deeply", detail))
    }

    /// `FILTER` with `or` as the loosest, left-associative operator (RFC 7644 §3.4.2.2).
    /// `inner` names the attribute whose `[...]` value filter is being parsed, if any.
    fn or_expr(&mut self, inner: Option<&str>) -> Result<Filter, FilterError> {
        let mut left = self.and_expr(inner)?;
        while self.peek_keyword("or")? {
            self.next()?;
            let right = self.and_expr(inner)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self, inner: Option<&str>) -> Result<Filter, FilterError> {
        let mut left = self.unary(inner)?;
        while self.peek_keyword("and")? {
            self.next()?;
            let right = self.unary(inner)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, inner: Option<&str>) -> Result<Filter, FilterError> {
        let token = self.next()?;
        match token.tok {
            Tok::Open => self.group(token.at, inner),
            // `not` is a keyword only before '(' (RFC 7644: `"not" "(" FILTER ")"`), so an
            // attribute that happens to be called "not" still parses.
            Tok::Word(w) if is_keyword(w, "not") && matches!(self.peek()?, Tok::Open) => {
                let open = self.next()?;
                Ok(Filter::Not(Box::new(self.group(open.at, inner)?)))
            }
            Tok::Word(w) => self.attr_exp(w, token.at, inner),
            other => Err(self.missing_operand(token.at, other)),
        }
    }

    fn missing_operand(&self, at: usize, found: impl Display) -> FilterError {
        let problem = "expected an attribute path, '(' or 'not'";
        self.fail(Syntax, at, problem, format!(", found {found}"))
    }

    /// The rest of a parenthesised filter whose '(' is at `open`.
    fn group(&mut self, open: usize, inner: Option<&str>) -> Result<Filter, FilterError> {
        self.enter(open)?;
        let filter = self.or_expr(inner)?;
        self.expect_closer(Tok::Close, open)?;
        self.depth -= 1;
        Ok(filter)
    }

    /// The rest of `attr[valFilter]` once the '[' at `open` is consumed.
    pub(crate) fn value_filter(
        &mut self,
        attr: &AttrPath,
        open: usize,
    ) -> Result<Filter, FilterError> {
        self.check_filterable(attr, open)?;
        self.enter(open)?;
        let filter = self.or_expr(Some(&attr.name))?;
        self.expect_closer(Tok::CloseBracket, open)?;
        self.depth -= 1;
        Ok(filter)
    }

    /// Only a whole attribute takes `[...]` (RFC 7644 §3.4.2.2 `valuePath`), never `a.b[...]`.
    pub(crate) fn check_filterable(&self, attr: &AttrPath, at: usize) -> Result<(), FilterError> {
        if attr.sub_attr.is_none() {
            return Ok(());
        }
        let detail = format!(
            " must follow a multi-valued attribute, not the sub-attribute {}",
            quote(&attr.to_string())
        );
        Err(self.fail(InvalidAttrPath, at, "a value filter '['", detail))
    }

    fn expect_closer(&mut self, closer: Tok<'_>, open: usize) -> Result<(), FilterError> {
        let token = self.next()?;
        if std::mem::discriminant(&token.tok) == std::mem::discriminant(&closer) {
            return Ok(());
        }
        let opener = match closer {
            Tok::Close => "'('",
            _ => "'['",
        };
        let problem = format!("expected 'and', 'or' or {closer}");
        let detail = format!(
            " to close the {opener} at offset {}, found {}",
            self.offset(open),
            token.tok
        );
        Err(self.fail(Syntax, token.at, problem, detail))
    }

    fn expect_end(&mut self) -> Result<(), FilterError> {
        let token = self.next()?;
        let found = &token.tok;
        let (problem, detail) = match found {
            Tok::End => return Ok(()),
            Tok::Close | Tok::CloseBracket => (format!("unmatched {found}"), String::new()),
            // `emails[type eq "work"].value` is a PATCH path (RFC 7644 §3.5.2), not a filter.
            Tok::Word(w) if w.starts_with('.') => (
                format!("unexpected {found}"),
                ": '[...].subAttr' is only valid in PATCH paths, not in filters".into(),
            ),
            _ => (
                "expected 'and', 'or' or end of filter".into(),
                format!(", found {found}"),
            ),
        };
        Err(self.fail(Syntax, token.at, problem, detail))
    }

    /// `attrExp` or `valuePath`, after the attribute path `word` at byte `at`.
    fn attr_exp(
        &mut self,
        word: &'a str,
        at: usize,
        inner: Option<&str>,
    ) -> Result<Filter, FilterError> {
        let path = self.attr_path(word, at, inner)?;
        if let Tok::OpenBracket = self.peek()? {
            let token = self.next()?;
            if let Some(parent) = inner {
                let problem = "value filters cannot be nested: '['";
                let detail = format!(" is inside the value filter of {}", quote(parent));
                return Err(self.fail(InvalidAttrPath, token.at, problem, detail));
            }
            let filter = self.value_filter(&path, token.at)?;
            let filter = Box::new(self.value_path_sub_attr(&path, filter)?);
            return Ok(Filter::ValuePath { attr: path, filter });
        }
        self.attr_exp_after_path(word, at, path)
    }

    /// The operator and value of an `attrExp` whose path has been read.
    fn attr_exp_after_path(
        &mut self,
        word: &str,
        at: usize,
        path: AttrPath,
    ) -> Result<Filter, FilterError> {
        let token = self.next()?;
        let op = match token.tok {
            Tok::Word(w) if is_keyword(w, "pr") => return Ok(Filter::Present(path)),
            Tok::Word(w) => CompareOp::from_keyword(w),
            _ => None,
        };
        match op {
            Some(op) => Ok(Filter::Compare {
                path,
                op,
                value: self.comp_value(op)?,
            }),
            None => Err(self.bad_operator(word, at, &token)),
        }
    }

    /// Entra ID filters on `emails[type eq "work"].value eq "x"`, which RFC 7644's grammar
    /// lacks (it is a PATCH path form): it means `emails[type eq "work" and value eq "x"]`, and
    /// is read as that.
    fn value_path_sub_attr(
        &mut self,
        attr: &AttrPath,
        filter: Filter,
    ) -> Result<Filter, FilterError> {
        let Tok::Word(word) = self.peek()? else {
            return Ok(filter);
        };
        let Some(name) = word.strip_prefix('.') else {
            return Ok(filter);
        };
        let token = self.next()?;
        let sub_attr = self.attr_path(name, token.at + 1, Some(&attr.name))?;
        let condition = self.attr_exp_after_path(name, token.at + 1, sub_attr)?;
        Ok(Filter::And(Box::new(filter), Box::new(condition)))
    }

    fn bad_operator(&self, word: &str, at: usize, token: &Token<'_>) -> FilterError {
        let found = &token.tok;
        // A keyword here almost always means a missing operand or a `not` without
        // parentheses; say that rather than "unknown operator".
        if is_keyword(word, "not") {
            let detail = format!(", found {found} (not applies only to a parenthesised filter)");
            return self.fail(Syntax, token.at, "expected '(' after 'not'", detail);
        }
        if is_keyword(word, "and") || is_keyword(word, "or") {
            return self.missing_operand(at, quote(word));
        }
        match found {
            Tok::Word(w) => {
                let detail = "; expected one of eq, ne, co, sw, ew, gt, ge, lt, le or pr";
                self.fail(
                    UnknownOperator,
                    token.at,
                    format!("unknown operator {}", quote(w)),
                    detail,
                )
            }
            _ => {
                let problem = format!(
                    "expected a comparison operator or 'pr' after {}",
                    quote(word)
                );
                self.fail(Syntax, token.at, problem, format!(", found {found}"))
            }
        }
    }

    fn comp_value(&mut self, op: CompareOp) -> Result<CompValue, FilterError> {
        let token = self.next()?;
        let word = match token.tok {
            Tok::Str(s) => return Ok(CompValue::String(s)),
            Tok::Word(w) => w,
            other => {
                let problem = format!("expected a comparison value after '{op}'");
                return Err(self.fail(Syntax, token.at, problem, format!(", found {other}")));
            }
        };
        // Literals are case-insensitive like the grammar's other keywords.
        for (keyword, value) in [
            ("true", CompValue::Bool(true)),
            ("false", CompValue::Bool(false)),
            ("null", CompValue::Null),
        ] {
            if is_keyword(word, keyword) {
                return Ok(value);
            }
        }
        let invalid = |detail: &str| {
            let problem = format!("invalid comparison value {}", quote(word));
            self.fail(InvalidValue, token.at, problem, format!(": {detail}"))
        };
        if !word.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            return Err(invalid(
                "strings must be in double quotes; other values are numbers, true, false or null",
            ));
        }
        Number::from_str(word).map(CompValue::Number).map_err(|e| {
            // serde_json refuses syntactically valid numbers only for overflow (e.g. 1e400).
            if e.to_string().contains("out of range") {
                invalid("the number is out of range")
            } else {
                invalid("expected a JSON number such as 42, -1.5 or 1e3")
            }
        })
    }

    /// Splits `[URN ":"] name ["." subAttr]` (RFC 7644 §3.10). The URN itself may contain
    /// dots (`…:2.0:User`), so it ends at the last ':' and only the rest is split on '.'.
    /// Inside the value filter of `inner`, only plain sub-attribute names are allowed.
    pub(crate) fn attr_path(
        &self,
        word: &str,
        at: usize,
        inner: Option<&str>,
    ) -> Result<AttrPath, FilterError> {
        if let Some(parent) = inner.filter(|_| word.contains([':', '.'])) {
            let detail = format!(
                " is not allowed inside the value filter of {}: use a plain sub-attribute name \
                 such as \"value\" or \"type\"",
                quote(parent)
            );
            return Err(self.fail(InvalidAttrPath, at, quote(word), detail));
        }
        let has_urn = word.get(..4).is_some_and(|p| is_keyword(p, "urn:"));
        let (urn, rest, rest_at) = match word.rsplit_once(':') {
            Some((urn, rest)) if has_urn => {
                self.check_urn(urn, at)?;
                (Some(urn), rest, at + urn.len() + 1)
            }
            _ => (None, word, at),
        };
        let (name, sub_attr) = match rest.split_once('.') {
            Some((name, sub)) => (name, Some(sub)),
            None => (rest, None),
        };
        self.check_name(name, rest_at, "attribute name")?;
        if let Some(sub) = sub_attr {
            self.check_name(sub, rest_at + name.len() + 1, "sub-attribute name")?;
        }
        Ok(AttrPath {
            urn: urn.map(str::to_owned),
            name: name.to_owned(),
            sub_attr: sub_attr.map(str::to_owned),
        })
    }

    fn check_urn(&self, urn: &str, at: usize) -> Result<(), FilterError> {
        // RFC 8141 characters, less those with a meaning in filters.
        let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~!$&'*+,;=@/%:".contains(c);
        if let Some((i, c)) = urn.char_indices().find(|&(_, c)| !allowed(c)) {
            let problem = format!("invalid character {c:?} in schema URN");
            return Err(self.fail(InvalidAttrPath, at + i, problem, ""));
        }
        if urn.split(':').count() < 3 || urn.split(':').any(str::is_empty) {
            let problem = format!("incomplete schema URN {}", quote(urn));
            let detail = ": expected urn:<namespace>:<name>:attribute";
            return Err(self.fail(InvalidAttrPath, at, problem, detail));
        }
        Ok(())
    }

    /// `ATTRNAME = ALPHA *(nameChar)` (RFC 7644 §3.10), plus `$ref` (RFC 7643 §2.3.7).
    pub(crate) fn check_name(&self, name: &str, at: usize, what: &str) -> Result<(), FilterError> {
        if is_keyword(name, "$ref") {
            return Ok(());
        }
        let mut chars = name.char_indices();
        let (i, problem, detail) = match chars.next() {
            None => (0, format!("expected {what}"), ""),
            Some((_, c)) if !c.is_ascii_alphabetic() => (
                0,
                format!("{what} {}", quote(name)),
                " must start with a letter",
            ),
            _ => match chars.find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')) {
                None => return Ok(()),
                Some((i, '.')) => (
                    i,
                    "unexpected '.'".into(),
                    ": an attribute path has at most one sub-attribute",
                ),
                Some((i, c)) => (
                    i,
                    format!("invalid character {c:?} in {what} {}", quote(name)),
                    "; names contain only letters, digits, '-' and '_'",
                ),
            },
        };
        Err(self.fail(InvalidAttrPath, at + i, problem, detail))
    }
}

#[cfg(test)]
pub(crate) mod tests;
