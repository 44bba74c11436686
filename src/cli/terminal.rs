//! Text that came from requests (userNames, paths, User-Agents, error details), shown on an
//! operator's terminal. Every table and line the CLI prints passes its cells through
//! `printable`: anyone who can reach the SCIM endpoint, even without a key, chooses some of that
//! text, and a terminal acts on control characters instead of showing them (a newline forges a
//! row, an escape sequence retitles the window or rewrites what is on screen). JSON Lines and
//! CSV are for programs and keep the text as it is (JSON escapes it; CSV quotes it).

use std::borrow::Cow;

/// `text` with each character a terminal would act on written as a visible escape (`\n`,
/// `\u{1b}`), so that a row stays one line and shows what was sent.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(acts_on_terminal) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if acts_on_terminal(c) {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    Cow::Owned(shown)
}

/// C0 and C1 controls and DEL, line and paragraph separators, and the bidirectional
/// overrides and isolates, which reorder what follows them on the line (a row would show
/// other text than it holds).
fn acts_on_terminal(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_shown_escaped_and_everything_else_as_it_is() {
        let cases = [
            ("alice@corp.example", "alice@corp.example"),
            ("Zoë \\ 名前", "Zoë \\ 名前"),
            ("a\nb\r\tc", "a\\nb\\r\\tc"),
            ("\u{1b}]0;owned\u{7}x", "\\u{1b}]0;owned\\u{7}x"),
            ("\u{9b}31m\u{85}\u{7f}", "\\u{9b}31m\\u{85}\\u{7f}"),
            ("ab\u{202e}cd\u{2066}", "ab\\u{202e}cd\\u{2066}"),
        ];
        for (text, shown) in cases {
            assert_eq!(printable(text), shown, "{text:?}");
        }
    }
}
