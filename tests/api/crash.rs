//! SIGKILL in the middle of a write load, as a power cut or an OOM kill would stop scimd:
//! after a restart, every create and PATCH that was answered with success is there, a request
//! cut off by the kill is either whole or absent, and the read models, the hash chain and the
//! change history agree with the event log.

use crate::common::audit_trail::assert_audit_trail_is_complete_and_ordered;
use crate::common::cli::database_with_instance;
use crate::common::server::{new_key, Server};
use crate::common::{write_load, StoreKind};
use crate::on_both_store_kinds;

on_both_store_kinds!(a_kill_under_load_keeps_every_acknowledged_change);

async fn a_kill_under_load_keeps_every_acknowledged_change(kind: StoreKind) {
    let (url, _dir) = database_with_instance(kind, "acme").await;
    let token = new_key(&url, "acme", "okta").await;
    let mut server = Server::start(&url).await;
    let load = write_load::start(&server.base, &token);
    write_load::under_way(&load).await;
    server.signal("KILL").await;
    let outcomes = write_load::finish(load).await;

    let mut server = Server::start(&url).await;
    write_load::assert_survived(&outcomes, &server.base, &token).await;
    let exit = server.signal("TERM").await;
    assert!(exit.success(), "{exit:?}");
    assert_audit_trail_is_complete_and_ordered(&url).await;
}
