//! Tokenizer and recursive-descent parser for SCIM filters (RFC 7644 §3.4.2.2);
//! the PATCH path parser reuses it for `attr[valFilter]`.
//!
//! Pure: no schema knowledge, no I/O. Input comes straight from HTTP clients, so
//! nothing here may panic, slice unchecked or recurse without bound: length is
//! capped by `MAX_FILTER_LENGTH` and nesting by `MAX_FILTER_DEPTH`. Error messages
//! reach clients verbatim as the `detail` of an `invalidFilter` error, so each names
//! the problem and the character offset where it was found.

use std::fmt::{self, Display};
use std::str::{CharIndices, FromStr};

use serde_json::Number;

use super::{AttrPath, CompValue, CompareOp, Filter, MAX_FILTER_DEPTH, MAX_FILTER_LENGTH};
use FilterErrorKind::*;

/// What kind of mistake a [`FilterError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FilterErrorKind {
    /// Nothing but whitespace.
    Empty,
    /// Longer than `MAX_FILTER_LENGTH` bytes.
    TooLong,
    /// `(`, `not (` or `[` nested deeper than `MAX_FILTER_DEPTH`.
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

/// Parses a SCIM filter expression, e.g. the `filter` query parameter.
pub fn parse_filter(input: &str) -> Result<Filter, FilterError> {
    check_length(input, "filter")?;
    let mut p = Parser::new(input);
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
pub(crate) fn check_length(input: &str, what: &str) -> Result<(), FilterError> {
    if input.len() <= MAX_FILTER_LENGTH {
        return Ok(());
    }
    let (len, offset) = (input.len(), Parser::new(input).offset(MAX_FILTER_LENGTH));
    let message = format!("{what} is {len} bytes long; the limit is {MAX_FILTER_LENGTH}");
    Err(FilterError {
        kind: TooLong,
        offset,
        message,
    })
}

#[derive(Debug)]
pub(crate) enum Tok<'a> {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    /// A maximal run of anything but whitespace, `()[]` and `"`: attribute path,
    /// keyword, operator, number or literal, told apart by the parser from context.
    Word(&'a str),
    Str(String),
    End,
}

/// How a token is named in "found …" messages.
impl Display for Tok<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Open => f.write_str("'('"),
            Tok::Close => f.write_str("')'"),
            Tok::OpenBracket => f.write_str("'['"),
            Tok::CloseBracket => f.write_str("']'"),
            Tok::Word(w) => f.write_str(&quote(w)),
            Tok::Str(s) => write!(f, "the string {}", quote(s)),
            Tok::End => f.write_str("end of input"),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Token<'a> {
    pub(crate) tok: Tok<'a>,
    /// Byte offset of the token's first character.
    pub(crate) at: usize,
}

/// Quotes client text for a message, escaped and truncated so that a hostile
/// input cannot bloat or garble the error response.
pub(crate) fn quote(s: &str) -> String {
    const MAX_CHARS: usize = 40;
    match s.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{:?}...", s.get(..cut).unwrap_or_default()),
        None => format!("{s:?}"),
    }
}

pub(crate) fn is_space(c: char) -> bool {
    // RFC 7644 asks for single SPs; clients send runs of blanks, tabs and newlines too.
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_delimiter(c: char) -> bool {
    is_space(c) || matches!(c, '(' | ')' | '[' | ']' | '"')
}

fn is_keyword(word: &str, keyword: &str) -> bool {
    word.eq_ignore_ascii_case(keyword)
}

pub(crate) struct Parser<'a> {
    src: &'a str,
    /// Byte offset of the next unread character.
    pos: usize,
    peeked: Option<Token<'a>>,
    depth: usize,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Parser {
            src,
            pos: 0,
            peeked: None,
            depth: 0,
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

    /// The unread input; only meaningful when no token is peeked.
    pub(crate) fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or_default()
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn next(&mut self) -> Result<Token<'a>, FilterError> {
        match self.peeked.take() {
            Some(token) => Ok(token),
            None => self.lex(),
        }
    }

    fn peek(&mut self) -> Result<&Tok<'a>, FilterError> {
        let token = self.next()?;
        Ok(&self.peeked.insert(token).tok)
    }

    fn peek_keyword(&mut self, keyword: &str) -> Result<bool, FilterError> {
        Ok(matches!(self.peek()?, Tok::Word(w) if is_keyword(w, keyword)))
    }

    fn lex(&mut self) -> Result<Token<'a>, FilterError> {
        let rest = self.rest();
        let trimmed = rest.trim_start_matches(is_space);
        let at = self.pos + (rest.len() - trimmed.len());
        self.pos = at + 1;
        let tok = match trimmed.chars().next() {
            None => {
                self.pos = at;
                Tok::End
            }
            Some('(') => Tok::Open,
            Some(')') => Tok::Close,
            Some('[') => Tok::OpenBracket,
            Some(']') => Tok::CloseBracket,
            Some('"') => Tok::Str(self.lex_string(at)?),
            Some(_) => {
                let word = trimmed.split(is_delimiter).next().unwrap_or_default();
                self.pos = at + word.len();
                Tok::Word(word)
            }
        };
        Ok(Token { tok, at })
    }

    /// Decodes a JSON string (RFC 8259 §7) whose opening quote is at `start`.
    fn lex_string(&mut self, start: usize) -> Result<String, FilterError> {
        let base = start + 1;
        let mut chars = self.src.get(base..).unwrap_or_default().char_indices();
        let mut out = String::new();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos = base + i + 1;
                    return Ok(out);
                }
                '\\' => out.push(self.escape(&mut chars, base, base + i)?),
                // RFC 8259 §7: control characters must be escaped.
                c if c < ' ' => {
                    let problem = format!(
                        "control character U+{:04X} must be escaped (as \\u{:04x}) in a string",
                        c as u32, c as u32
                    );
                    return Err(self.fail(InvalidString, base + i, problem, ""));
                }
                c => out.push(c),
            }
        }
        Err(self.fail(InvalidString, start, "unterminated string starting", ""))
    }

    /// Decodes the escape whose backslash is at byte `at`; `base` maps `chars` to `src`.
    fn escape(
        &self,
        chars: &mut CharIndices<'a>,
        base: usize,
        at: usize,
    ) -> Result<char, FilterError> {
        let escaped = match chars.next() {
            Some((_, 'u')) => return self.unicode_escape(chars, base, at),
            Some((_, c)) => c,
            None => {
                let problem = "unterminated string: input ends inside an escape";
                return Err(self.fail(InvalidString, at, problem, ""));
            }
        };
        Ok(match escaped {
            '"' | '\\' | '/' => escaped,
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            other => {
                let problem = format!("invalid escape '\\{}' in string", other.escape_debug());
                let detail = r#" (valid escapes are \" \\ \/ \b \f \n \r \t and \uXXXX)"#;
                return Err(self.fail(InvalidString, at, problem, detail));
            }
        })
    }

    /// `\uXXXX`, where a UTF-16 high surrogate must be followed by a low one.
    fn unicode_escape(
        &self,
        chars: &mut CharIndices<'a>,
        base: usize,
        at: usize,
    ) -> Result<char, FilterError> {
        let unit = self.hex4(chars, at)?;
        let code = match unit {
            0xD800..=0xDBFF => {
                let mut look = chars.clone();
                let low = match (look.next(), look.next()) {
                    (Some((i, '\\')), Some((_, 'u'))) => Some(self.hex4(&mut look, base + i)?),
                    _ => None,
                };
                let Some(low @ 0xDC00..=0xDFFF) = low else {
                    let problem = format!("unpaired UTF-16 high surrogate \\u{unit:04X} in string");
                    let detail = r" (it must be followed by a \uDC00-\uDFFF escape)";
                    return Err(self.fail(InvalidString, at, problem, detail));
                };
                *chars = look;
                0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
            }
            0xDC00..=0xDFFF => {
                let problem = format!("unpaired UTF-16 low surrogate \\u{unit:04X} in string");
                return Err(self.fail(InvalidString, at, problem, ""));
            }
            _ => unit,
        };
        // Surrogates are handled above, so every remaining code is a valid char.
        char::from_u32(code).ok_or_else(|| self.fail(InvalidString, at, "invalid \\u escape", ""))
    }

    fn hex4(&self, chars: &mut CharIndices<'a>, at: usize) -> Result<u32, FilterError> {
        let mut unit = 0;
        for _ in 0..4 {
            let Some(digit) = chars.next().and_then(|(_, c)| c.to_digit(16)) else {
                let (problem, detail) = ("invalid \\u escape in string", ": expected 4 hex digits");
                return Err(self.fail(InvalidString, at, problem, detail));
            };
            unit = unit * 16 + digit;
        }
        Ok(unit)
    }

    fn enter(&mut self, at: usize) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth <= MAX_FILTER_DEPTH {
            return Ok(());
        }
        let detail =
            format!(": at most {MAX_FILTER_DEPTH} levels of '(', 'not (' and '[' are allowed");
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
        let token = self.next()?;
        let op = match token.tok {
            Tok::OpenBracket => {
                if let Some(parent) = inner {
                    let problem = "value filters cannot be nested: '['";
                    let detail = format!(" is inside the value filter of {}", quote(parent));
                    return Err(self.fail(InvalidAttrPath, token.at, problem, detail));
                }
                let filter = Box::new(self.value_filter(&path, token.at)?);
                return Ok(Filter::ValuePath { attr: path, filter });
            }
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
/// Also provides the AST generators that the PATCH path tests reuse.
pub(crate) mod tests {
    use super::*;
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
            (r#"emails[type eq "work"].value eq "x""#, Syntax, 22, "only valid in PATCH paths"),
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
        let float = any::<f64>().prop_filter_map("finite and round-trips", |f| {
            let n = Number::from_f64(f)?;
            (Number::from_str(&n.to_string()).ok()? == n).then_some(n)
        });
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
        let value_path =
            (abs_path(), value_filter()).prop_map(|(attr, filter)| Filter::ValuePath {
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
}
