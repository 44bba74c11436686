//! The SCIM filter syntax tree (RFC 7644 §3.4.2.2) and its canonical printer.
//!
//! Pure: no schema knowledge, no I/O. Names keep the spelling the client used;
//! resolving them (case-insensitively) against schemas, type-checking values and
//! evaluating filters happen elsewhere. Printing must stay the exact inverse of
//! [`parse_filter`] for every tree the parser can produce.

use std::fmt;

pub mod eval;
pub(crate) mod lex;
pub(crate) mod parse;
pub mod resolve;
pub mod sql;

pub use parse::{parse_filter, parse_filter_within, FilterError, FilterErrorKind};

/// Deepest nesting of `(`, `not (` and `[` a filter may use by default. Filters come
/// from untrusted HTTP clients, and this bounds the parser's recursion.
pub const MAX_FILTER_DEPTH: usize = 64;

/// Longest filter (and PATCH path) accepted by default, in bytes. It also bounds the
/// length of `and`/`or` chains, which the parser builds iteratively.
pub const MAX_FILTER_LENGTH: usize = 16 * 1024;

/// How long and how deeply nested a filter may be; the server's settings choose them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterLimits {
    /// In bytes.
    pub max_length: usize,
    /// Levels of `(`, `not (` and `[`.
    pub max_depth: usize,
}

impl Default for FilterLimits {
    fn default() -> Self {
        Self {
            max_length: MAX_FILTER_LENGTH,
            max_depth: MAX_FILTER_DEPTH,
        }
    }
}

/// An attribute reference as written: `[URN ":"] name ["." subAttr]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub name: String,
    pub sub_attr: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: CompValue,
    },
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `emails[type eq "work" and value co "@corp"]`: `attr` has no sub_attr; the inner filter's
    /// paths are relative to the attribute (plain sub-attribute names, no URN).
    ValuePath {
        attr: AttrPath,
        filter: Box<Filter>,
    },
}

impl CompareOp {
    pub const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    /// The canonical (lower-case) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// Looks an operator up ignoring case: RFC 7644 §3.4.2.2 makes operators case-insensitive.
    pub fn from_keyword(word: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(word))
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write!(f, "{n}"),
            // serde_json's escaping is valid JSON and so re-parses to the same string.
            CompValue::String(s) => {
                f.write_str(&serde_json::to_string(s.as_str()).map_err(|_| fmt::Error)?)
            }
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::ValuePath { attr, filter } => write!(f, "{attr}[{filter}]"),
            Filter::And(..) | Filter::Or(..) => self.fmt_chain(f),
        }
    }
}

impl Filter {
    /// The operands of the run of one logical operator at the top of this filter, left to
    /// right: `a and (b and c) and d` gives a, b, c, d; a filter that is not an `and` or an
    /// `or` is its own one operand. A chain nests as deep as it is long (the length limit allows
    /// about 1,800 terms), so whoever walks a filter takes chains from here, without recursing
    /// once per term, and recurses only into nesting, which `FilterLimits::max_depth` bounds.
    pub fn operands(&self) -> Vec<&Filter> {
        let is_and = match self {
            Filter::And(..) => true,
            Filter::Or(..) => false,
            single => return vec![single],
        };
        let mut operands = Vec::new();
        let mut pending = vec![self];
        while let Some(filter) = pending.pop() {
            match filter {
                Filter::And(left, right) if is_and => pending.extend([right.as_ref(), left]),
                Filter::Or(left, right) if !is_and => pending.extend([right.as_ref(), left]),
                operand => operands.push(operand),
            }
        }
        operands
    }

    /// Prints a run of one logical operator. The parser is left-associative, so
    /// `a or b or c …` nests on the left as deeply as the input is long; walking
    /// that spine in a loop keeps printing's recursion bounded by the nesting depth.
    fn fmt_chain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let is_and = matches!(self, Filter::And(..));
        let mut rights = Vec::new();
        let mut leftmost = self;
        loop {
            let (left, right) = match leftmost {
                Filter::And(l, r) if is_and => (l, r),
                Filter::Or(l, r) if !is_and => (l, r),
                _ => break,
            };
            rights.push(right.as_ref());
            leftmost = left;
        }
        // `and` binds tighter than `or`, so an `or` under an `and` needs parentheses; so
        // does a right operand using the chain's own operator, or it would re-parse
        // left-nested.
        let needs_parens = |child: &Filter, right: bool| match child {
            Filter::Or(..) => is_and || right,
            Filter::And(..) => is_and && right,
            _ => false,
        };
        write_operand(f, leftmost, needs_parens(leftmost, false))?;
        let keyword = if is_and { " and " } else { " or " };
        for right in rights.iter().rev() {
            f.write_str(keyword)?;
            write_operand(f, right, needs_parens(right, true))?;
        }
        Ok(())
    }
}

fn write_operand(f: &mut fmt::Formatter<'_>, operand: &Filter, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({operand})")
    } else {
        write!(f, "{operand}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pr(name: &str) -> Box<Filter> {
        Box::new(Filter::Present(AttrPath {
            urn: None,
            name: name.to_owned(),
            sub_attr: None,
        }))
    }

    #[test]
    fn prints_minimal_parentheses() {
        use Filter::{And, Not, Or};
        let cases = [
            (And(pr("a"), pr("b")), "a pr and b pr"),
            (
                And(Box::new(And(pr("a"), pr("b"))), pr("c")),
                "a pr and b pr and c pr",
            ),
            (
                And(pr("a"), Box::new(And(pr("b"), pr("c")))),
                "a pr and (b pr and c pr)",
            ),
            (
                Or(pr("a"), Box::new(And(pr("b"), pr("c")))),
                "a pr or b pr and c pr",
            ),
            (
                Or(Box::new(And(pr("a"), pr("b"))), pr("c")),
                "a pr and b pr or c pr",
            ),
            (
                And(Box::new(Or(pr("a"), pr("b"))), pr("c")),
                "(a pr or b pr) and c pr",
            ),
            (
                Or(pr("a"), Box::new(Or(pr("b"), pr("c")))),
                "a pr or (b pr or c pr)",
            ),
            (Not(Box::new(Or(pr("a"), pr("b")))), "not (a pr or b pr)"),
        ];
        for (filter, want) in cases {
            assert_eq!(filter.to_string(), want);
        }
    }

    #[test]
    fn chains_give_their_operands_in_order_however_they_nest() {
        use Filter::{And, Not, Or};
        let names = |filter: &Filter| -> Vec<String> {
            filter.operands().iter().map(|f| f.to_string()).collect()
        };
        let left = And(Box::new(And(pr("a"), pr("b"))), pr("c"));
        assert_eq!(names(&left), ["a pr", "b pr", "c pr"]);
        let right = And(pr("a"), Box::new(And(pr("b"), pr("c"))));
        assert_eq!(names(&right), ["a pr", "b pr", "c pr"]);
        let mixed = Or(
            Box::new(And(pr("a"), pr("b"))),
            Box::new(Or(pr("c"), pr("d"))),
        );
        assert_eq!(names(&mixed), ["a pr and b pr", "c pr", "d pr"]);
        assert_eq!(names(&Not(pr("a"))), ["not (a pr)"]);
        let mut long = *pr("t");
        // More terms than the longest filter can hold.
        for _ in 0..MAX_FILTER_LENGTH / 4 {
            long = Or(Box::new(long), pr("t"));
        }
        assert_eq!(long.operands().len(), MAX_FILTER_LENGTH / 4 + 1);
    }

    #[test]
    fn prints_values_as_json() {
        let cases = [
            (CompValue::Null, "null"),
            (CompValue::Bool(true), "true"),
            (CompValue::Number((-12).into()), "-12"),
            (
                CompValue::String("a\"b\\c\n\u{1}é".into()),
                r#""a\"b\\c\n\u0001é""#,
            ),
        ];
        for (value, want) in cases {
            assert_eq!(value.to_string(), want);
        }
    }
}
