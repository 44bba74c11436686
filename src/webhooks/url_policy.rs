//! Which URLs a webhook may be sent to: `https://` only, so that deliveries (personal data of
//! provisioned users) are not readable on the way; plain `http://` and loopback hosts only
//! when the operator allows them for development and tests (`--webhook-allow-loopback`).
//! Decided once, when an endpoint is created; deliveries never follow a redirect, so the URL
//! checked is the URL called. Pure.

use reqwest::Url;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The longest URL accepted: more than any real receiver needs, less than servers refuse.
pub const MAX_URL_CHARS: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    #[error("the webhook URL is not an absolute URL: {0:?}")]
    Malformed(String),
    #[error("the webhook URL is longer than {MAX_URL_CHARS} characters")]
    TooLong,
    #[error("webhook URLs must use https:// (http:// only when scimd serve runs with --webhook-allow-loopback): {0:?}")]
    NotHttps(String),
    #[error("webhook URLs may not name a loopback host (only when scimd serve runs with --webhook-allow-loopback): {0:?}")]
    Loopback(String),
    #[error("webhook URLs may not carry a user name or password: {0:?}")]
    Credentials(String),
}

/// `url` as deliveries will call it, or why it is refused.
pub fn check(url: &str, allow_loopback: bool) -> Result<Url, UrlRefused> {
    let url = url.trim();
    if url.chars().count() > MAX_URL_CHARS {
        return Err(UrlRefused::TooLong);
    }
    let parsed = Url::parse(url).map_err(|_| UrlRefused::Malformed(url.to_string()))?;
    let Some(host) = parsed.host_str().filter(|host| !host.is_empty()) else {
        return Err(UrlRefused::Malformed(url.to_string()));
    };
    // Credentials in the URL would be shown by every listing of endpoints.
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(UrlRefused::Credentials(url.to_string()));
    }
    match parsed.scheme() {
        "https" => {}
        "http" if allow_loopback => {}
        _ => return Err(UrlRefused::NotHttps(url.to_string())),
    }
    if is_loopback(host) && !allow_loopback {
        return Err(UrlRefused::Loopback(url.to_string()));
    }
    Ok(parsed)
}

/// `localhost` and its subdomains (RFC 6761 §6.3), 127.0.0.0/8, `::1`, and the unspecified
/// address (which connects to this machine).
fn is_loopback(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback() || ip == Ipv4Addr::UNSPECIFIED,
        Ok(IpAddr::V6(ip)) => {
            ip.is_loopback()
                || ip == Ipv6Addr::UNSPECIFIED
                || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_urls_to_other_hosts_are_accepted() {
        for good in [
            "https://hooks.example.com/scimd",
            "https://example.com:8443/a?b=c",
            "https://203.0.113.9/hook",
            "  https://example.com/padded  ",
        ] {
            assert!(check(good, false).is_ok(), "{good}");
        }
    }

    #[test]
    fn plain_http_is_refused_unless_allowed() {
        let url = "http://hooks.example.com/scimd";
        assert!(matches!(check(url, false), Err(UrlRefused::NotHttps(_))));
        assert!(check(url, true).is_ok());
    }

    #[test]
    fn loopback_hosts_are_refused_unless_allowed() {
        for loopback in [
            "https://localhost/x",
            "https://LOCALHOST./x",
            "https://api.localhost/x",
            "https://127.0.0.1/x",
            "https://127.8.9.10:9000/x",
            "https://[::1]/x",
            "https://[::ffff:127.0.0.1]/x",
            "https://0.0.0.0/x",
        ] {
            assert!(
                matches!(check(loopback, false), Err(UrlRefused::Loopback(_))),
                "{loopback}"
            );
            assert!(check(loopback, true).is_ok(), "{loopback}");
        }
        assert!(check("http://127.0.0.1:4000/hook", true).is_ok());
    }

    #[test]
    fn other_schemes_and_malformed_urls_are_refused() {
        for bad in [
            "ftp://example.com/x",
            "file:///etc/passwd",
            "javascript:alert(1)",
        ] {
            assert!(check(bad, true).is_err(), "{bad}");
        }
        for bad in ["", "example.com/hook", "https://", "not a url"] {
            assert!(
                matches!(check(bad, true), Err(UrlRefused::Malformed(_))),
                "{bad}"
            );
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_CHARS));
        assert_eq!(check(&long, false), Err(UrlRefused::TooLong));
        assert!(matches!(
            check("https://user:pw@example.com/x", false),
            Err(UrlRefused::Credentials(_))
        ));
    }
}
