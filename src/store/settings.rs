//! Each instance's settings (roles, attribute mapping), held in memory so that a write does not
//! replay the settings' events to learn them.
//!
//! Whoever changes them (this process, the CLI, another replica on the same database), the
//! change is an event appended to the settings aggregate, and events are never edited: an
//! aggregate whose last sequence number is unchanged is unchanged. So every request reads that
//! number (one row of the events table's primary key, read backwards: with the key check's
//! statement when the request's key is held, `tenancy::key_generation_and_settings`, otherwise
//! `last_sequence_of`), and
//! uses the held settings only when they were loaded at that very number. The number is read
//! before the settings are loaded and held with them, so held settings are never older than
//! their number says: a change that commits in between makes them newer, and the next request,
//! seeing a different number, loads them again. A change committed before a request starts is
//! seen by that request's read of the number, so it is honoured from the next request on.

use super::{CommandError, Store};
use aggregates::settings::{InstanceSettings, SettingsError};
use cqrs_es::Aggregate;
use projections::event_log::last_sequence_of;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Settings by instance id, each with the sequence number it was loaded at. One entry per
/// instance that wrote since start-up: bounded by the instances table.
#[derive(Default)]
pub struct HeldSettings {
    by_instance: Mutex<HashMap<String, Held>>,
}

struct Held {
    sequence: i64,
    settings: Arc<InstanceSettings>,
}

impl HeldSettings {
    fn at(&self, instance_id: &str, sequence: i64) -> Option<Arc<InstanceSettings>> {
        let held = self
            .by_instance
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        held.get(instance_id)
            .filter(|held| held.sequence == sequence)
            .map(|held| Arc::clone(&held.settings))
    }

    /// Keeps `settings`, loaded at `sequence` or later, unless a racing request already holds
    /// some loaded at a later sequence.
    fn hold(&self, instance_id: &str, sequence: i64, settings: &Arc<InstanceSettings>) {
        let mut held = self
            .by_instance
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if held
            .get(instance_id)
            .is_some_and(|held| held.sequence > sequence)
        {
            return;
        }
        let settings = Arc::clone(settings);
        held.insert(instance_id.to_string(), Held { sequence, settings });
    }
}

impl Store {
    /// The current settings of an instance, loaded from its events only when they changed
    /// since this process last loaded them. `known`: the last sequence of the instance's
    /// settings, read by the request after it arrived (with its key check, so that a write
    /// spends no round trip on it); read here when not given.
    pub async fn current_settings(
        &self,
        instance_id: &str,
        known: Option<i64>,
    ) -> Result<Arc<InstanceSettings>, CommandError<SettingsError>> {
        let sequence = match known {
            Some(sequence) => sequence,
            None => last_sequence_of(&self.db, InstanceSettings::TYPE, instance_id)
                .await
                .map_err(|error| CommandError::Store(error.to_string()))?,
        };
        if let Some(settings) = self.held_settings.at(instance_id, sequence) {
            return Ok(settings);
        }
        self.metrics.settings_loads.inc();
        let settings = Arc::new(self.commands.settings(instance_id).await?);
        self.held_settings.hold(instance_id, sequence, &settings);
        Ok(settings)
    }
}
