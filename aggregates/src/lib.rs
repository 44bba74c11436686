//! The domain of scimd: the `User` and `Group` aggregates and each instance's settings (custom
//! fields, attribute mapping, roles), as cqrs-es aggregates with their commands, events,
//! errors and value types.
//!
//! This crate decides what happens; it knows nothing of HTTP, SQL, clocks or randomness. Time,
//! actor and identifiers arrive from outside (in commands or event metadata), and anything the
//! domain must look up elsewhere (a group's current members) goes through a trait defined here.

pub mod attributes;
pub mod group;
pub mod settings;
pub mod user;
pub mod values;

/// The `event_version` of every event type this build writes. Raise it, with an upcaster, when
/// an event's shape changes; stored events are never edited.
pub const EVENT_VERSION: &str = "1";
