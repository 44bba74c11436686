//! Cursors of RFC 9865: where the previous page ended, and which query it belonged to.
//!
//! A cursor is the last resource's place (sort key and creation position), so a page is a
//! keyset query and costs the same at the millionth user as at the first; it never expires.
//! It also carries a fingerprint of the query, because a place means nothing in another order
//! or another filter. It is not secret: it only ever reads the caller's own instance.

use super::sort::{Place, SortSpec};
use crate::scim::error::{ScimError, ScimType};
use crate::scim::filter::Filter;
use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use projections::hex::to_hex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Serialize, Deserialize)]
struct CursorData {
    #[serde(rename = "q")]
    query: String,
    #[serde(flatten)]
    after: Place,
}

/// What a cursor must agree with: the endpoint, the filter and the order.
pub fn fingerprint(scope: &str, filter: Option<&Filter>, sort: Option<&SortSpec>) -> String {
    let filter = filter.map(ToString::to_string).unwrap_or_default();
    let order = sort
        .map(|spec| format!("{} {}", spec.path, spec.descending))
        .unwrap_or_default();
    let digest = Sha256::digest(format!("{scope}\n{filter}\n{order}").as_bytes());
    to_hex(&digest[..8])
}

pub fn encode(fingerprint: &str, after: &Place) -> String {
    let data = CursorData {
        query: fingerprint.to_string(),
        after: after.clone(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&data).unwrap_or_default())
}

/// The place a cursor names, if this server issued it for a query with this fingerprint.
pub fn decode(cursor: &str, fingerprint: &str) -> Result<Place, ScimError> {
    let invalid = |detail: &str| {
        ScimError::new(
            StatusCode::BAD_REQUEST,
            Some(ScimType::InvalidCursor),
            detail,
        )
    };
    let data: CursorData = URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| invalid("the cursor is not one scimd issued; start again without it"))?;
    if data.query != fingerprint {
        return Err(invalid(
            "the cursor belongs to another query (filter or sort order); start again without it",
        ));
    }
    Ok(data.after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::list::sort::SortKey;

    #[test]
    fn a_cursor_round_trips_only_for_its_own_query() {
        let place = Place {
            key: Some(SortKey::Text("bob".into())),
            position: 42,
        };
        let query = fingerprint("User", None, None);
        let cursor = encode(&query, &place);
        assert_eq!(decode(&cursor, &query).ok(), Some(place));
        let other = fingerprint("Group", None, None);
        assert_eq!(
            decode(&cursor, &other).err().and_then(|e| e.scim_type),
            Some(ScimType::InvalidCursor)
        );
        assert_eq!(
            decode("not a cursor", &query)
                .err()
                .and_then(|e| e.scim_type),
            Some(ScimType::InvalidCursor)
        );
    }

    #[test]
    fn keys_of_every_kind_survive_encoding() {
        let query = fingerprint("User", None, None);
        for key in [
            None,
            Some(SortKey::Bool(true)),
            Some(SortKey::Number(1.5)),
            Some(SortKey::Text("true".into())),
        ] {
            let place = Place { key, position: 7 };
            assert_eq!(decode(&encode(&query, &place), &query).ok(), Some(place));
        }
    }
}
