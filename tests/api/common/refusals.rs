//! Writes the store refuses, as a full disk or a lost connection would: a trigger that fails
//! the inserts into one table, all of them or those a condition picks.

use super::TestApp;
use projections::db::{Dialect, Sql};

/// Makes `table` refuse inserts: all, or those for which `condition` (an SQL condition on
/// `NEW`, in the store's dialect) holds. `name` names the trigger, for `allow_inserts`.
pub async fn refuse_inserts(app: &TestApp, name: &str, table: &str, condition: Option<&str>) {
    let db = &app.store.db;
    let mut statements = Vec::new();
    let create = match db.dialect() {
        Dialect::Sqlite => {
            let when = condition.map(|condition| format!("WHEN {condition}"));
            format!(
                "CREATE TRIGGER {name} BEFORE INSERT ON {table} {}
                 BEGIN SELECT RAISE(ABORT, 'refused for the test'); END",
                when.unwrap_or_default()
            )
        }
        Dialect::Postgres => {
            statements.push(Sql::new(
                "CREATE OR REPLACE FUNCTION refused_for_the_test() RETURNS trigger
                 LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused for the test'; END $$",
            ));
            let when = condition.map(|condition| format!("WHEN ({condition})"));
            format!(
                "CREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW {}
                 EXECUTE FUNCTION refused_for_the_test()",
                when.unwrap_or_default()
            )
        }
    };
    statements.push(Sql::new(create));
    for statement in statements {
        db.execute(&statement)
            .await
            .expect("the trigger is created");
    }
}

/// Lets `table` take the inserts the trigger `name` refused.
pub async fn allow_inserts(app: &TestApp, name: &str, table: &str) {
    let drop = match app.store.db.dialect() {
        Dialect::Sqlite => format!("DROP TRIGGER {name}"),
        Dialect::Postgres => format!("DROP TRIGGER {name} ON {table}"),
    };
    app.store
        .db
        .execute(&Sql::new(drop))
        .await
        .expect("the trigger is dropped");
}
