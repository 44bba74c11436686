//! A read model that stops moving, as a stuck projector, a rebuild or another replica's new
//! projection version leave it: triggers make every projector batch that would add a user or
//! group fail, while commands go on committing their events.

use super::TestApp;
use projections::db::{Dialect, Sql};

const TABLES: [&str; 2] = ["scim_users", "scim_groups"];

/// Stops the read model from showing new users and groups.
pub async fn stick_read_model(app: &TestApp) {
    let db = &app.store.db;
    let mut statements = Vec::new();
    if db.dialect() == Dialect::Postgres {
        statements.push(Sql::new(
            "CREATE FUNCTION read_model_stuck() RETURNS trigger LANGUAGE plpgsql
             AS $$ BEGIN RAISE EXCEPTION 'read model stuck (test)'; END $$",
        ));
    }
    for table in TABLES {
        statements.push(Sql::new(match db.dialect() {
            Dialect::Sqlite => format!(
                "CREATE TRIGGER {table}_stuck BEFORE INSERT ON {table}
                 BEGIN SELECT RAISE(ABORT, 'read model stuck (test)'); END"
            ),
            Dialect::Postgres => format!(
                "CREATE TRIGGER {table}_stuck BEFORE INSERT ON {table}
                 FOR EACH ROW EXECUTE FUNCTION read_model_stuck()"
            ),
        }));
    }
    for statement in statements {
        db.execute(&statement)
            .await
            .expect("the trigger is created");
    }
}

/// Lets the read model move again, and brings it up to date.
pub async fn unstick_read_model(app: &TestApp) {
    let db = &app.store.db;
    for table in TABLES {
        let drop = match db.dialect() {
            Dialect::Sqlite => format!("DROP TRIGGER {table}_stuck"),
            Dialect::Postgres => format!("DROP TRIGGER {table}_stuck ON {table}"),
        };
        db.execute(&Sql::new(drop))
            .await
            .expect("the trigger is dropped");
    }
    app.store
        .projector
        .catch_up()
        .await
        .expect("the read model catches up");
}
