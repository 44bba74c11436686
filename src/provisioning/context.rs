//! Who is asking, on behalf of which instance, in which request: everything an event's
//! metadata records about its origin.

use crate::admin::{Principal, SettingsSequence};
use aggregates::values::InstanceId;
use chrono::Utc;
use projections::metadata::{timestamp, EventMetadata, SOURCE_SCIM};

#[derive(Debug, Clone)]
pub struct RequestContext {
    pub principal: Principal,
    pub correlation_id: String,
    pub user_agent: Option<String>,
    /// The method and path of the request, as the reason of the lifecycle events it causes.
    pub request: String,
    /// The last sequence of the instance's settings, when the key check read it.
    pub settings_sequence: Option<SettingsSequence>,
}

impl RequestContext {
    pub fn instance_id(&self) -> InstanceId {
        InstanceId::new(self.principal.instance_id.clone())
    }

    /// The metadata of events written now for this request.
    pub fn metadata(&self) -> EventMetadata {
        EventMetadata {
            instance_id: self.principal.instance_id.clone(),
            actor: self.principal.integration_user.clone(),
            key_id: Some(self.principal.key_id.clone()),
            correlation_id: self.correlation_id.clone(),
            user_agent: self.user_agent.clone(),
            source: SOURCE_SCIM.to_string(),
            occurred_at: timestamp(Utc::now()),
        }
    }
}
