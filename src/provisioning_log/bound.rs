//! How much of one request's free text an entry keeps. The path, the user agent and the
//! subjects come from the client, before its key is checked (a refused key is logged too), and
//! entries are kept for months: each is cut to a bound with a marker, so that no request can
//! make its entry larger than a few KiB beside its body (which `describe` withholds beyond
//! `STORED_BODY_LIMIT`).

use crate::store::provisioning_log::LogEntry;

/// Bytes of the path and query kept: more than any IdP's request line.
pub const PATH_LIMIT: usize = 2048;
/// Bytes of the `User-Agent` kept.
pub const USER_AGENT_LIMIT: usize = 512;
/// Bytes of a SCIM error's detail kept (it may quote the request).
pub const DETAIL_LIMIT: usize = 4096;
/// Bytes of each userName, externalId and resource id kept.
pub const SUBJECT_LIMIT: usize = 1024;
/// Ends every value that was cut.
pub const MARKER: &str = "…[truncated]";

/// Cuts each free-text field of `entry` to its bound; returns how many were cut.
pub fn bound(entry: &mut LogEntry) -> u64 {
    let mut cut = 0;
    let mut count = |was_cut: bool| cut += u64::from(was_cut);
    count(shorten(&mut entry.path, PATH_LIMIT));
    for (field, limit) in [
        (&mut entry.user_agent, USER_AGENT_LIMIT),
        (&mut entry.detail, DETAIL_LIMIT),
        (&mut entry.resource_id, SUBJECT_LIMIT),
        (&mut entry.user_name, SUBJECT_LIMIT),
        (&mut entry.external_id, SUBJECT_LIMIT),
    ] {
        if let Some(text) = field {
            count(shorten(text, limit));
        }
    }
    for (_, value) in &mut entry.subjects {
        count(shorten(value, SUBJECT_LIMIT));
    }
    cut
}

/// Keeps at most `limit` bytes of `text` (whole characters), then the marker.
fn shorten(text: &mut String, limit: usize) -> bool {
    if text.len() <= limit {
        return false;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(MARKER);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::provisioning_log::SubjectKind;

    fn entry() -> LogEntry {
        LogEntry {
            path: "/Users".into(),
            user_agent: Some("okta".into()),
            ..LogEntry::default()
        }
    }

    #[test]
    fn short_fields_are_kept_as_they_are() {
        let mut kept = entry();
        assert_eq!(bound(&mut kept), 0);
        assert_eq!(kept.path, "/Users");
        assert_eq!(kept.user_agent.as_deref(), Some("okta"));
    }

    #[test]
    fn long_fields_are_cut_with_a_marker() {
        let mut long = entry();
        long.path = format!("/Users?x={}", "a".repeat(100_000));
        long.user_agent = Some("u".repeat(100_000));
        long.subjects = vec![(SubjectKind::UserName, "n".repeat(5000))];
        assert_eq!(bound(&mut long), 3);
        assert_eq!(long.path.len(), PATH_LIMIT + MARKER.len());
        assert!(long.path.ends_with(MARKER));
        let agent = long.user_agent.unwrap_or_default();
        assert_eq!(agent.len(), USER_AGENT_LIMIT + MARKER.len());
        assert_eq!(long.subjects[0].1.len(), SUBJECT_LIMIT + MARKER.len());
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        let mut text = "é".repeat(PATH_LIMIT);
        assert!(shorten(&mut text, PATH_LIMIT + 1));
        assert_eq!(text, format!("{}{MARKER}", "é".repeat(PATH_LIMIT / 2)));
    }
}
