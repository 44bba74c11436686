//! CSV cells that a spreadsheet opens as text, never as a formula. A userName, a User-Agent or
//! an error detail in an export comes from whoever sent the request; a spreadsheet evaluates a
//! cell that starts with `=`, `+`, `-` or `@` (and, after its import trims them, with a tab or
//! a carriage return) as a formula, which can compute, fetch or run things on the operator's
//! machine. Such cells get a leading `'`, as the OWASP guidance on CSV injection advises.
//!
//! The console's CSV export (`csvField` in console/assets/pages/history.js) applies the same
//! rule: both exports must stay identical byte for byte.

use std::borrow::Cow;

/// The characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `cell`, with a `'` in front if a spreadsheet would otherwise evaluate it.
pub fn inert(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cells_a_spreadsheet_would_evaluate_are_prefixed() {
        let cases = [
            ("=1+2", "'=1+2"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("alice@corp.example", "alice@corp.example"),
            ("a=1", "a=1"),
            ("{\"title\": \"-\"}", "{\"title\": \"-\"}"),
            ("", ""),
        ];
        for (cell, written) in cases {
            assert_eq!(inert(cell), written, "{cell:?}");
        }
    }
}
