//! API keys this process has verified, held in memory so that a request with a key admitted
//! before is admitted again without the store's join. Only what the store holds is held (the
//! secret's digest, never the secret): the presented secret is hashed and compared again.
//!
//! Why a held key is never admitted after it was revoked, by this process or any other (the
//! CLI, another replica): every change of `api_keys` or `instances` moves the store's key
//! generation on, by triggers, in the change's own transaction (migrations `0015`), so no
//! writer can change a key without it. Every request first reads the generation (one row by
//! its primary key), and held keys are used only while it is the generation they were held
//! at: a key is held at a generation read before its row was, so its row is at least as new
//! as that generation, and an unchanged generation means nothing changed since. A request that
//! reads another generation empties the held keys and starts over at that one. So a change
//! committed before a request starts is seen by that request, as a lookup of the row would.
//!
//! Only admitted keys are held: an unknown key id, a wrong secret or a revoked key is looked
//! up in the store every time, as before. The digests are compared in constant time
//! (`PresentedKey::matches`).

use super::tenancy::KeyCredential;
use crate::api_key::PresentedKey;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

#[derive(Default)]
pub struct VerifiedKeys {
    held: Mutex<Held>,
}

/// Keys verified at one generation, by key id. Bounded by the live keys of the store: a key is
/// held only once its secret was verified.
#[derive(Default)]
struct Held {
    generation: Option<i64>,
    keys: HashMap<String, KeyCredential>,
}

impl Held {
    /// The keys held at `generation`: none if they were held at another.
    fn at(&mut self, generation: i64) -> &mut HashMap<String, KeyCredential> {
        if self.generation != Some(generation) {
            self.keys.clear();
            self.generation = Some(generation);
        }
        &mut self.keys
    }
}

impl VerifiedKeys {
    /// The credential of `presented`, if it is a key held at `generation`, the store's key
    /// generation read by this request, and its secret matches the held digest.
    pub fn admit(&self, generation: i64, presented: &PresentedKey) -> Option<KeyCredential> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let credential = held.at(generation).get(presented.key_id)?;
        presented
            .matches(&credential.secret_sha256)
            .then(|| credential.clone())
    }

    /// The credential of `presented` and the generation it was held at, if it is held at all
    /// and its secret matches: admitted for a request whose own first read of the store
    /// confirms that generation (see `http::auth`).
    pub fn admit_held(&self, presented: &PresentedKey) -> Option<(i64, KeyCredential)> {
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let generation = held.generation?;
        let credential = held.keys.get(presented.key_id)?;
        presented
            .matches(&credential.secret_sha256)
            .then(|| (generation, credential.clone()))
    }

    /// The instance of the key `key_id`, if this process admitted it at some generation: a key
    /// never moves to another instance, so this holds whatever the generation is now.
    pub fn instance_of(&self, key_id: &str) -> Option<String> {
        let held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.keys
            .get(key_id)
            .map(|credential| credential.instance_id.clone())
    }

    /// Holds `credential`, a live key read after the store's key generation was read as
    /// `generation`.
    pub fn hold(&self, generation: i64, credential: &KeyCredential) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.at(generation)
            .insert(credential.id.clone(), credential.clone());
    }
}
