//! When a failed delivery is tried again: exponential backoff with full jitter (the delay is
//! drawn uniformly between nothing and a ceiling that doubles with each failure, up to a cap),
//! as the Standard Webhooks specification recommends, so that receivers coming back after an
//! outage are not hit by every sender at the same moment. Pure: the random draw is passed in.

use std::time::Duration;

/// The retry schedule's scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling after the first failure; it doubles after each further one.
    pub base: Duration,
    /// The largest ceiling.
    pub cap: Duration,
    /// How long an endpoint may keep failing before it is disabled.
    pub give_up_after: Duration,
}

/// Seconds of the default base: a blip is retried within seconds.
pub const BASE_MS: u64 = 5_000;
/// The longest wait between two attempts, four hours: over three days an endpoint that stays
/// down is still tried a couple of dozen times.
pub const CAP: Duration = Duration::from_secs(4 * 60 * 60);
/// Three days, as the issue and the specification's example schedule ask.
pub const GIVE_UP_AFTER_SECS: u64 = 3 * 24 * 60 * 60;

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(BASE_MS),
            cap: CAP,
            give_up_after: Duration::from_secs(GIVE_UP_AFTER_SECS),
        }
    }
}

impl Backoff {
    /// The ceiling of the wait after the `failures`-th failure in a row (1 for the first).
    pub fn ceiling(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(32);
        self.base
            .checked_mul(1u32 << doublings.min(31))
            .unwrap_or(self.cap)
            .min(self.cap)
    }

    /// The wait after the `failures`-th failure in a row; `draw` is uniform in `[0, 1)`.
    pub fn delay(&self, failures: u32, draw: f64) -> Duration {
        self.ceiling(failures).mul_f64(draw.clamp(0.0, 1.0))
    }

    /// Whether an endpoint failing for `failing_for` is given up on.
    pub fn gives_up(&self, failing_for: Duration) -> bool {
        failing_for >= self.give_up_after
    }
}

/// A uniform draw in `[0, 1)` from the operating system's generator; the middle of the range
/// if it fails (a retry is then merely less spread out).
pub fn draw() -> f64 {
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        // The top 53 bits: every value is exactly representable.
        Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_ceiling_doubles_from_the_base_up_to_the_cap() {
        let backoff = Backoff::default();
        let secs: Vec<u64> = (1..=14).map(|n| backoff.ceiling(n).as_secs()).collect();
        assert_eq!(
            secs,
            [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 14400, 14400]
        );
        assert_eq!(backoff.ceiling(u32::MAX), CAP);
        assert_eq!(backoff.ceiling(0), backoff.base);
    }

    #[test]
    fn the_draw_places_the_delay_under_the_ceiling() {
        let backoff = Backoff::default();
        assert_eq!(backoff.delay(3, 0.0), Duration::ZERO);
        assert_eq!(backoff.delay(3, 0.5), Duration::from_secs(10));
        assert_eq!(backoff.delay(3, 2.0), Duration::from_secs(20));
    }

    #[test]
    fn an_endpoint_is_given_up_on_after_three_days_of_failure() {
        let backoff = Backoff::default();
        let day = Duration::from_secs(24 * 60 * 60);
        assert!(!backoff.gives_up(3 * day - Duration::from_secs(1)));
        assert!(backoff.gives_up(3 * day));
    }

    #[test]
    fn draws_are_in_the_unit_interval() {
        for _ in 0..1000 {
            let value = draw();
            assert!((0.0..1.0).contains(&value), "{value}");
        }
    }

    proptest! {
        #[test]
        fn delays_never_exceed_the_cap_nor_shrink_as_failures_grow(
            failures in 1u32..100, draw in 0.0f64..1.0
        ) {
            let backoff = Backoff::default();
            prop_assert!(backoff.delay(failures, draw) <= CAP);
            prop_assert!(backoff.ceiling(failures) <= backoff.ceiling(failures + 1));
        }
    }
}
