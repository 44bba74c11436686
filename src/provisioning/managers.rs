//! Linking reports left waiting for a manager that exists. A manager's own request links the
//! reports it finds waiting, and a report looks for its manager after its own commit; but a
//! link that fails, a process that dies between a manager's commit and its links, or a manager
//! that came in without a request (an imported account) leaves a report waiting with nothing
//! to link it later. This sweep finds such reports and links them; the server runs it at
//! start-up and periodically. Each link is the report's own command, which does nothing if
//! the report no longer waits for that reference, so sweeps of several replicas may overlap.

use crate::store::Store;
use aggregates::user::UserCommand;
use aggregates::values::InstanceId;
use chrono::Utc;
use projections::db::DbError;
use projections::directory::reports_with_manager_now;
use projections::metadata::{timestamp, EventMetadata};

/// Who links, in the change history: scimd itself, on no request.
const SWEEP_ACTOR: &str = "scimd";
const SOURCE_SWEEP: &str = "manager-sweep";

/// Links every report whose manager is a user of its instance by now; how many it linked.
/// A link that fails is logged and left to the next sweep.
pub async fn link_waiting_reports(store: &Store) -> Result<usize, DbError> {
    let mut linked = 0;
    for report in reports_with_manager_now(&store.db).await? {
        let metadata = EventMetadata {
            instance_id: report.instance_id.clone(),
            actor: SWEEP_ACTOR.to_string(),
            key_id: None,
            correlation_id: crate::ids::new_id(),
            user_agent: None,
            source: SOURCE_SWEEP.to_string(),
            occurred_at: timestamp(Utc::now()),
        };
        let command = UserCommand::LinkManager {
            instance_id: InstanceId::new(report.instance_id),
            reference: report.manager_reference,
            manager_id: report.manager_id.clone(),
        };
        match store
            .commands
            .execute_user(&report.id, command, &metadata)
            .await
        {
            Ok(()) => {
                tracing::info!(user_id = %report.id, manager = %report.manager_id, "waiting report linked by the sweep");
                linked += 1;
            }
            Err(error) => {
                tracing::warn!(%error, user_id = %report.id, "cannot link a waiting report; the next sweep tries again")
            }
        }
    }
    Ok(linked)
}
