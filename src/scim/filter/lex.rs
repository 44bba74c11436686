//! Tokenizer for SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths: splits the
//! input into brackets, words and JSON strings, decoding string escapes, and
//! quotes client text for error messages. Which word is a keyword, operator, path
//! or value is the grammar's business (`parse`), not this module's.
//!
//! Pure: no schema knowledge, no I/O. Input comes straight from HTTP clients, so
//! nothing here may panic or slice unchecked, and every error names the problem
//! and the character offset where it was found.

use std::fmt::{self, Display};
use std::str::CharIndices;

use super::parse::Parser;
use super::{FilterError, FilterErrorKind::InvalidString};

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

pub(super) fn is_keyword(word: &str, keyword: &str) -> bool {
    word.eq_ignore_ascii_case(keyword)
}

impl<'a> Parser<'a> {
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

    pub(super) fn peek(&mut self) -> Result<&Tok<'a>, FilterError> {
        let token = self.next()?;
        Ok(&self.peeked.insert(token).tok)
    }

    pub(super) fn peek_keyword(&mut self, keyword: &str) -> Result<bool, FilterError> {
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
}
