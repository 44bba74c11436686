//! Per-key rate limiting of SCIM requests: after authentication, each API key may send
//! `per_second` requests a second on average and `burst` at once; more get 429 with
//! `Retry-After`. The buckets live in this process's memory, so each replica applies the limit
//! on its own.
//!
//! Keyed by key id, never by the presented token: only keys that authenticated get a bucket,
//! so the number of buckets is bounded by the keys issued, not by what clients send.

use crate::admin::Principal;
use crate::scim::error::ScimError;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// How fast one key may call; the default limits nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests a second a key may sustain; 0: no limit.
    pub per_second: u32,
    /// Requests a key may send at once after a quiet spell; 0: one second's worth.
    pub burst: u32,
    /// How long one request's worth takes to come back, in place of `1 / per_second`, for a
    /// pace slower than one a second: tests need a bucket that does not refill while they run,
    /// however slowly they run. `per_second` still turns the limit on.
    pub refill_every: Option<Duration>,
}

impl RateLimit {
    fn quota(self) -> Option<Quota> {
        let rate = NonZeroU32::new(self.per_second)?;
        let burst = NonZeroU32::new(self.burst).unwrap_or(rate);
        let quota = match self.refill_every {
            Some(every) => Quota::with_period(every)?,
            None => Quota::per_second(rate),
        };
        Some(quota.allow_burst(burst))
    }
}

/// The buckets of this process, one per key id; `None` when no limit is set.
#[derive(Clone)]
pub struct KeyLimiter(Option<Arc<DefaultKeyedRateLimiter<String>>>);

impl KeyLimiter {
    pub fn new(limit: RateLimit) -> Self {
        Self(
            limit
                .quota()
                .map(|quota| Arc::new(RateLimiter::keyed(quota))),
        )
    }

    /// Takes one request from the key's bucket, or says how long until it holds one.
    fn admit(&self, key_id: &str) -> Result<(), Duration> {
        let Some(limiter) = &self.0 else {
            return Ok(());
        };
        limiter
            .check_key(&key_id.to_string())
            .map_err(|not_until| not_until.wait_time_from(limiter.clock().now()))
    }
}

/// Whole seconds to wait, rounded up: a client that waits `Retry-After` (RFC 9110 §10.2.3,
/// seconds only) must find its bucket refilled, and 0 would invite an immediate retry.
pub(super) fn retry_after_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// `response` (a 429) with its `Retry-After` of `seconds`.
pub(super) fn with_retry_after(mut response: Response, seconds: u64) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// Middleware behind `require_key`: refuses a request of a key that is over its limit.
/// Requests that carry no principal never get here (authentication answered them).
pub async fn limit_per_key(
    State(limiter): State<KeyLimiter>,
    request: Request,
    next: Next,
) -> Response {
    let Some(principal) = request.extensions().get::<Principal>() else {
        return next.run(request).await;
    };
    let Err(wait) = limiter.admit(&principal.key_id) else {
        return next.run(request).await;
    };
    let seconds = retry_after_seconds(wait);
    // RFC 7644 §3.12 has no scimType for this; the status says it all.
    let response = ScimError::new(
        StatusCode::TOO_MANY_REQUESTS,
        None,
        format!("this API key is over its rate limit; retry in {seconds} s"),
    )
    .into_response();
    with_retry_after(response, seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_burst_then_waits_and_other_keys_do_not() {
        let limiter = KeyLimiter::new(RateLimit {
            per_second: 1,
            burst: 3,
            ..RateLimit::default()
        });
        for _ in 0..3 {
            assert_eq!(limiter.admit("a"), Ok(()));
        }
        let wait = limiter.admit("a").err();
        assert!(
            wait.is_some_and(|wait| wait > Duration::ZERO && wait <= Duration::from_secs(1)),
            "{wait:?}"
        );
        assert_eq!(limiter.admit("b"), Ok(()));
    }

    #[test]
    fn zero_per_second_limits_nothing() {
        let limiter = KeyLimiter::new(RateLimit {
            per_second: 0,
            burst: 1,
            ..RateLimit::default()
        });
        for _ in 0..1000 {
            assert_eq!(limiter.admit("a"), Ok(()));
        }
    }

    #[test]
    fn without_a_burst_a_key_gets_one_seconds_worth() {
        let limiter = KeyLimiter::new(RateLimit {
            per_second: 5,
            burst: 0,
            ..RateLimit::default()
        });
        let admitted = (0..10).filter(|_| limiter.admit("a").is_ok()).count();
        assert_eq!(admitted, 5);
    }

    #[test]
    fn a_refill_period_paces_a_key_slower_than_one_a_second() {
        let limiter = KeyLimiter::new(RateLimit {
            per_second: 1,
            burst: 2,
            refill_every: Some(Duration::from_secs(3600)),
        });
        let admitted = (0..10).filter(|_| limiter.admit("a").is_ok()).count();
        assert_eq!(admitted, 2);
        let wait = limiter.admit("a").err();
        assert!(
            wait.is_some_and(|wait| wait > Duration::from_secs(3000)),
            "{wait:?}"
        );
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_secs(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1001)), 2);
    }
}
