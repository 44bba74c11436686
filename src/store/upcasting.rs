//! Stored events are never edited; events stored in an older shape are read in the current one
//! (the shapes themselves are the domain's: see `aggregates::user::upcast_payload`).

use aggregates::user::upcast_payload;
use cqrs_es::persist::{EventUpcaster, SerializedEvent};

/// Reads every stored user event through the domain's upcast, which leaves current shapes
/// alone.
pub struct UserEventShapes;

impl EventUpcaster for UserEventShapes {
    fn can_upcast(&self, _event_type: &str, _event_version: &str) -> bool {
        true
    }

    fn upcast(&self, mut event: SerializedEvent) -> SerializedEvent {
        event.payload = upcast_payload(event.payload);
        event
    }
}

/// The upcasters of the user event store.
pub fn user_upcasters() -> Vec<Box<dyn EventUpcaster>> {
    vec![Box::new(UserEventShapes)]
}
