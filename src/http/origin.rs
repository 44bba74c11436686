//! The origin (`scheme://host[:port]`) resource locations start with when no public URL is
//! configured: taken from the request's `Host` and `X-Forwarded-Proto`, which any client
//! writes. They end up in `Location`, `meta.location` and `$ref`, and in the provisioning log
//! the console shows, so only a syntactically valid `host[:port]` and a scheme of exactly
//! `http` or `https` are used; any other Host falls back to `http://` and the address the
//! connection was accepted on, any other scheme to `http`. (A fallback rather than a 400: an IdP
//! behind a proxy that sends odd headers still gets served, with locations that name this
//! server.)
//!
//! A syntactically valid Host is still the client's to choose: behind a proxy, set the public
//! URL (docs/deployment.md).

use axum::http::{header, HeaderMap};
use std::net::SocketAddr;

/// `scheme://host[:port]` for a request with these headers, accepted on `local` (when known).
pub fn origin(headers: &HeaderMap, local: Option<SocketAddr>) -> String {
    let text = |name| headers.get(name).and_then(|value| value.to_str().ok());
    let Some(host) = text(header::HOST.as_str()).filter(|host| is_host_and_port(host)) else {
        // The listening address speaks plain HTTP, whatever the client says.
        let local = local.map_or_else(|| "localhost".to_string(), |local| local.to_string());
        return format!("http://{local}");
    };
    let scheme = match text("x-forwarded-proto") {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

/// Whether `text` is `host[:port]`: a DNS name or IPv4 address (letters, digits, `-` and `.`),
/// or an IPv6 address in brackets, then optionally a port.
fn is_host_and_port(text: &str) -> bool {
    if let Some(bracketed) = text.strip_prefix('[') {
        let Some((address, rest)) = bracketed.split_once(']') else {
            return false;
        };
        let port_ok = rest.is_empty() || rest.strip_prefix(':').is_some_and(is_port);
        return port_ok && address.parse::<std::net::Ipv6Addr>().is_ok();
    }
    let (host, port_ok) = match text.split_once(':') {
        Some((host, port)) => (host, is_port(port)),
        None => (text, true),
    };
    port_ok
        && !host.is_empty()
        && host.len() <= 253
        && !host.starts_with(['.', '-'])
        && host
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.')
}

/// Whether `text` is a port: 1 to 5 digits, at most 65535.
fn is_port(text: &str) -> bool {
    (1..=5).contains(&text.len())
        && text.bytes().all(|byte| byte.is_ascii_digit())
        && text.parse::<u16>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn origin_of(host: Option<&str>, proto: Option<&str>) -> String {
        let mut headers = HeaderMap::new();
        if let Some(host) = host {
            headers.insert(header::HOST, HeaderValue::from_str(host).expect("a header"));
        }
        if let Some(proto) = proto {
            let value = HeaderValue::from_str(proto).expect("a header");
            headers.insert("x-forwarded-proto", value);
        }
        let local = SocketAddr::from(([127, 0, 0, 1], 8080));
        origin(&headers, Some(local))
    }

    #[test]
    fn a_valid_host_and_scheme_are_used() {
        for (host, proto, expected) in [
            (
                "scim.example.com",
                Some("https"),
                "https://scim.example.com",
            ),
            (
                "scim.example.com:8443",
                None,
                "http://scim.example.com:8443",
            ),
            ("10.0.0.1:80", Some("http"), "http://10.0.0.1:80"),
            ("[::1]:8080", None, "http://[::1]:8080"),
            ("[2001:db8::1]", Some("https"), "https://[2001:db8::1]"),
        ] {
            assert_eq!(origin_of(Some(host), proto), expected, "{host}");
        }
    }

    #[test]
    fn anything_else_falls_back_to_the_listening_address_and_http() {
        for host in [
            "javascript:alert(1)//",
            "evil.example/path",
            "user@evil.example",
            "evil.example:80:80",
            "evil.example:99999",
            "evil.example:",
            "[::1",
            "[::1]:",
            "[::1]x",
            "[not-v6]:80",
            "a b",
            "",
            ".evil",
        ] {
            let fallback = "http://127.0.0.1:8080";
            assert_eq!(origin_of(Some(host), Some("https")), fallback, "{host}");
        }
        for proto in ["javascript:alert(1)//", "HTTPS", "https, http", "ftp", ""] {
            assert_eq!(
                origin_of(Some("scim.example.com"), Some(proto)),
                "http://scim.example.com",
                "{proto}"
            );
        }
        assert_eq!(origin_of(None, None), "http://127.0.0.1:8080");
    }
}
