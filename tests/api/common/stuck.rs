//! A read model that stops moving, as a stuck projector, a rebuild or another replica's new
//! projection version leave it: every projector batch that would add a user or group fails,
//! while commands go on committing their events.

use super::refusals::{allow_inserts, refuse_inserts};
use super::TestApp;

const TABLES: [&str; 2] = ["scim_users", "scim_groups"];

fn trigger(table: &str) -> String {
    format!("{table}_stuck")
}

/// Stops the read model from showing new users and groups.
pub async fn stick_read_model(app: &TestApp) {
    for table in TABLES {
        refuse_inserts(app, &trigger(table), table, None).await;
    }
}

/// Lets the read model move again, and brings it up to date.
pub async fn unstick_read_model(app: &TestApp) {
    for table in TABLES {
        allow_inserts(app, &trigger(table), table).await;
    }
    app.store
        .projector
        .catch_up()
        .await
        .expect("the read model catches up");
}
