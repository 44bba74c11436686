//! Per client address limiting of failed authentications: a missing, unknown, revoked or wrong
//! SCIM key, admin token or metrics token costs its address one unit of `burst`, refilled at
//! `per_minute`; past it, the refusal is a 429 with `Retry-After` instead of a 401, and is not
//! written to the provisioning log. A refused request of a known key id would otherwise write
//! a log entry at whatever rate a client can send.
//!
//! Only failures are counted, and only after authentication: a request with a valid credential
//! is never limited here, even from an address that failed (an IdP behind the same proxy or
//! NAT as the one that fails). The buckets live in this process's memory, keyed by address
//! (an IPv6 client by its /64, which one host usually holds whole).

use super::connections::Peer;
use super::rate_limit::{retry_after_seconds, with_retry_after};
use crate::metrics::{AuthMetrics, Credential};
use crate::scim::error::ScimError;
use axum::http::{Extensions, StatusCode};
use axum::response::{IntoResponse, Response};
use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// Failed authentications an address may sustain a minute unless told otherwise.
pub const FAILED_AUTH_PER_MINUTE: u32 = 60;
/// Failed authentications an address may make at once unless told otherwise: an IdP set up
/// with a wrong key sees its errors before it is limited.
pub const FAILED_AUTH_BURST: u32 = 30;
/// Buckets kept before the full ones are forgotten.
const BUCKETS_BEFORE_CLEANUP: usize = 10_000;

/// How often one client address may fail to authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedAuthLimit {
    /// Failures a minute an address may sustain; 0: no limit.
    pub per_minute: u32,
    /// Failures an address may make at once after a quiet spell; 0: one minute's worth.
    pub burst: u32,
}

impl Default for FailedAuthLimit {
    fn default() -> Self {
        Self {
            per_minute: FAILED_AUTH_PER_MINUTE,
            burst: FAILED_AUTH_BURST,
        }
    }
}

impl FailedAuthLimit {
    fn quota(self) -> Option<Quota> {
        let rate = NonZeroU32::new(self.per_minute)?;
        let burst = NonZeroU32::new(self.burst).unwrap_or(rate);
        Some(Quota::per_minute(rate).allow_burst(burst))
    }
}

/// The buckets of this process, and the counters of what they decided.
#[derive(Clone)]
pub struct FailedAuthLimiter {
    buckets: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    metrics: AuthMetrics,
}

impl FailedAuthLimiter {
    pub fn new(limit: FailedAuthLimit, metrics: AuthMetrics) -> Self {
        Self {
            buckets: limit
                .quota()
                .map(|quota| Arc::new(RateLimiter::keyed(quota))),
            metrics,
        }
    }

    /// Notes that a request from `client` failed to present `credential`: `Ok` to refuse it
    /// as usual, or how long the address must wait before it is answered again.
    pub fn fail(&self, client: Option<IpAddr>, credential: Credential) -> Result<(), Duration> {
        self.metrics.failed(credential);
        let (Some(buckets), Some(client)) = (&self.buckets, client) else {
            return Ok(());
        };
        if buckets.len() > BUCKETS_BEFORE_CLEANUP {
            buckets.retain_recent();
        }
        let checked = buckets
            .check_key(&address_of(client))
            .map_err(|not_until| not_until.wait_time_from(buckets.clock().now()));
        if checked.is_err() {
            self.metrics.limited(credential);
        }
        checked
    }
}

/// The client address of a request, when it came through `connections::serve`.
pub fn client_of(extensions: &Extensions) -> Option<IpAddr> {
    extensions.get::<Peer>().map(|peer| peer.client.ip())
}

/// The whole seconds of `Retry-After` for `wait`, and the response `refusal` makes of them.
pub fn too_many(wait: Duration, refusal: impl FnOnce(u64) -> Response) -> Response {
    let seconds = retry_after_seconds(wait);
    with_retry_after(refusal(seconds), seconds)
}

/// The 429 of the SCIM API and `/metrics`, a SCIM error (RFC 7644 §3.12 has no scimType for
/// it).
pub fn scim_too_many(wait: Duration) -> Response {
    too_many(wait, |seconds| {
        ScimError::new(
            StatusCode::TOO_MANY_REQUESTS,
            None,
            format!(
                "too many failed authentications from this address; a valid credential is \
                 accepted now, any other in {seconds} s"
            ),
        )
        .into_response()
    })
}

/// The key of a client's bucket: an IPv4 address, or the /64 of an IPv6 one.
fn address_of(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let [a, b, c, d, ..] = v6.segments();
            IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
        }
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(client, IpAddr::V4),
        IpAddr::V4(_) => client,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn limiter(per_minute: u32, burst: u32) -> FailedAuthLimiter {
        FailedAuthLimiter::new(
            FailedAuthLimit { per_minute, burst },
            AuthMetrics::default(),
        )
    }

    const HOME: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));

    #[test]
    fn an_address_fails_its_burst_then_waits_and_others_do_not() {
        let limiter = limiter(1, 3);
        for _ in 0..3 {
            assert_eq!(limiter.fail(Some(HOME), Credential::ScimKey), Ok(()));
        }
        let wait = limiter.fail(Some(HOME), Credential::AdminToken).err();
        assert!(
            wait.is_some_and(|wait| wait > Duration::ZERO && wait <= Duration::from_secs(60)),
            "{wait:?}"
        );
        let other = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        assert_eq!(limiter.fail(Some(other), Credential::ScimKey), Ok(()));
    }

    #[test]
    fn zero_per_minute_or_no_address_limits_nothing() {
        let off = limiter(0, 1);
        let unknown = limiter(1, 1);
        for _ in 0..100 {
            assert_eq!(off.fail(Some(HOME), Credential::ScimKey), Ok(()));
            assert_eq!(unknown.fail(None, Credential::ScimKey), Ok(()));
        }
    }

    #[test]
    fn an_ipv6_host_is_one_client_across_its_64() {
        let limiter = limiter(1, 1);
        let first: IpAddr = "2001:db8:1:2::1".parse().expect("an address");
        let same_64: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("an address");
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().expect("an address");
        assert_eq!(limiter.fail(Some(first), Credential::ScimKey), Ok(()));
        assert!(limiter.fail(Some(same_64), Credential::ScimKey).is_err());
        assert_eq!(address_of(mapped), HOME);
    }
}
