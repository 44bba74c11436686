//! Whether a request failed and why: the SCIM error of a failed response, or for a Bulk
//! response (200 whatever its operations did) a summary of the failed operations.

use super::field;
use serde_json::Value;

/// Longest error detail kept from a response that is not a SCIM error document.
const DETAIL_CHARS: usize = 500;

/// The `scimType` and `detail` of an error response, the correlation id that the detail
/// quotes left out (the entry has its own column for it).
pub(super) fn error_of(
    document: Option<&Value>,
    raw: Option<&[u8]>,
    correlation_id: &str,
) -> (Option<String>, Option<String>) {
    let text = |name: &str| {
        document
            .and_then(|document| field(document, name))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let detail = text("detail")
        .map(|detail| without_correlation(&detail, correlation_id))
        .or_else(|| {
            raw.map(|raw| {
                String::from_utf8_lossy(raw)
                    .chars()
                    .take(DETAIL_CHARS)
                    .collect()
            })
            .filter(|detail: &String| !detail.trim().is_empty())
        });
    (text("scimType"), detail)
}

fn without_correlation(detail: &str, correlation_id: &str) -> String {
    let suffix = format!(" (correlation id {correlation_id})");
    detail.strip_suffix(&suffix).unwrap_or(detail).to_string()
}

/// For a Bulk response with failed operations: the first failure's `scimType`, and a summary
/// naming the first failure.
pub(super) fn bulk_failures(
    request: Option<&Value>,
    response: Option<&Value>,
    correlation_id: &str,
) -> Option<(Option<String>, Option<String>)> {
    let asked = request
        .and_then(|request| field(request, "Operations"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let reported = response
        .and_then(|response| field(response, "Operations"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let status = |operation: &Value| {
        field(operation, "status")
            .and_then(|status| {
                status
                    .as_str()
                    .and_then(|text| text.parse().ok())
                    .or_else(|| status.as_u64())
            })
            .unwrap_or(0)
    };
    let failures: Vec<(usize, &Value)> = reported
        .iter()
        .enumerate()
        .filter(|(_, operation)| status(operation) >= 400)
        .collect();
    let (index, first) = *failures.first()?;
    // Reported operations keep the request's order but leave out those not run, so an
    // operation's path is found by its bulkId, or by position when all were run.
    let bulk_id = field(first, "bulkId");
    let asked_for = asked
        .iter()
        .find(|operation| bulk_id.is_some() && field(operation, "bulkId") == bulk_id)
        .or_else(|| {
            (asked.len() == reported.len())
                .then(|| asked.get(index))
                .flatten()
        });
    let method = field(first, "method")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let path = asked_for
        .and_then(|operation| field(operation, "path"))
        .and_then(Value::as_str)
        .unwrap_or("?");
    let error = field(first, "response");
    let (scim_type, detail) = error_of(error, None, correlation_id);
    let reason = match (&scim_type, &detail) {
        (Some(scim_type), Some(detail)) => format!(" {scim_type}: {detail}"),
        (Some(only), None) | (None, Some(only)) => format!(" {only}"),
        (None, None) => String::new(),
    };
    let mut summary = format!(
        "{} of {} operations failed; first: {method} {path} {}{reason}",
        failures.len(),
        asked.len().max(reported.len()),
        status(first),
    );
    let not_run = asked.len().saturating_sub(reported.len());
    if not_run > 0 {
        summary.push_str(&format!("; {not_run} not run"));
    }
    Some((scim_type, Some(summary)))
}
