//! Identifiers scimd makes for what it stores (users, groups, correlation ids): UUIDs whose
//! leading bits are the moment they were made (version 7). Rows made one after the other then
//! sit side by side in every index keyed by them, so a group commit dirties a few pages at the
//! end of each index instead of a random page of each per row (as version 4 ids did), and
//! writes that many fewer pages to the log. The ids stay opaque to clients; the moment they
//! reveal is the resource's `meta.created` anyway.

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
