//! Who makes an administrative change, from where, and the one correlation id that every
//! effect of that change shares (an "Apply to existing users" that re-maps 19 users is one
//! action: its 19 events carry one id). Every administrative operation takes an `Action`, so
//! the event log says which person changed what, not merely that "the admin" did.

use super::now;
use projections::metadata::EventMetadata;

/// Who the bootstrap token (`SCIMD_ADMIN_TOKEN`) acts as: not a person, and not the
/// integration user of any key, so that its changes are told apart from both.
pub const BOOTSTRAP_ACTOR: &str = "bootstrap admin token";
/// Who changes made by scimd itself on its first start are recorded as made by.
pub const FIRST_START_ACTOR: &str = "scimd first start";
/// Who the CLI acts as when the operating system names no user.
const UNKNOWN_OS_USER: &str = "unknown operating-system user";

/// Where an administrative change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The admin console, told apart by its session cookie (only the console signs in that way).
    Console,
    /// The admin HTTP API with a bearer credential: a script or any other client.
    AdminApi,
    /// `scimd` on the command line.
    Cli,
    /// `scimd import`.
    Import,
    /// scimd itself (a webhook endpoint disabled after days of failure).
    Scimd,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Console => "console",
            Self::AdminApi => "admin-api",
            Self::Cli => "cli",
            Self::Import => "import",
            Self::Scimd => "scimd",
        }
    }
}

/// One administrative action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub actor: String,
    pub source: Source,
    pub correlation_id: String,
}

impl Action {
    /// An action by `actor`; inside a request it takes the request's correlation id (the
    /// `X-Request-Id` the client sees), elsewhere a new one.
    pub fn new(actor: impl Into<String>, source: Source) -> Self {
        Self {
            actor: actor.into(),
            source,
            correlation_id: crate::correlation::current().unwrap_or_else(crate::ids::new_id),
        }
    }

    /// An action of the CLI, by the operating-system user running it.
    pub fn by_os_user(source: Source) -> Self {
        let user = ["USER", "LOGNAME", "USERNAME"]
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .map(|user| user.trim().to_string())
            .find(|user| !user.is_empty() && !user.chars().any(char::is_control))
            .unwrap_or_else(|| UNKNOWN_OS_USER.to_string());
        Self::new(user, source)
    }

    /// The metadata of an event this action causes in `instance_id`, stamped now.
    pub fn metadata(&self, instance_id: &str) -> EventMetadata {
        EventMetadata {
            instance_id: instance_id.to_string(),
            actor: self.actor.clone(),
            key_id: None,
            correlation_id: self.correlation_id.clone(),
            user_agent: None,
            source: self.source.as_str().to_string(),
            occurred_at: now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_of_one_action_shares_its_correlation_id() {
        let action = Action::new("ada", Source::Console);
        let first = action.metadata("i1");
        let second = action.metadata("i2");
        assert_eq!(first.correlation_id, second.correlation_id);
        assert_eq!(first.actor, "ada");
        assert_eq!(first.source, "console");
        assert_ne!(
            Action::new("ada", Source::Console).correlation_id,
            action.correlation_id
        );
    }
}
