//! The origin (`scheme://host[:port]`) resource locations start with when no public URL is
//! configured: taken from the request's `Host` (over HTTP/2, its `:authority`) and
//! `X-Forwarded-Proto`, which any client writes; a connection scimd's own TLS serves is
//! `https` whatever the headers say. They end up in `Location`, `meta.location` and `$ref`,
//! and in the provisioning log the console shows, so only a syntactically valid `host[:port]`
//! and a scheme of exactly `http` or `https` are used; any other Host falls back to the scheme
//! scimd serves and the address the connection was accepted on, any other scheme to `http`. (A
//! fallback rather than a 400: an IdP behind a proxy that sends odd headers still gets served,
//! with locations that name this server.)
//!
//! A syntactically valid Host is still the client's to choose: behind a proxy, set the public
//! URL (docs/deployment.md).

use super::connections::Peer;
use axum::http::{header, HeaderMap, Uri};

/// `scheme://host[:port]` for a request to `uri` with these headers, on the connection `peer`
/// (when known).
pub fn origin(headers: &HeaderMap, uri: &Uri, peer: Option<Peer>) -> String {
    let text = |name| headers.get(name).and_then(|value| value.to_str().ok());
    let tls = peer.is_some_and(|peer| peer.tls);
    let host =
        text(header::HOST.as_str()).or_else(|| uri.authority().map(|authority| authority.as_str()));
    let Some(host) = host.filter(|host| is_host_and_port(host)) else {
        // The listening address speaks what scimd serves on it, whatever the client says.
        let scheme = if tls { "https" } else { "http" };
        let local = peer.map_or_else(|| "localhost".to_string(), |peer| peer.local.to_string());
        return format!("{scheme}://{local}");
    };
    let scheme = match text("x-forwarded-proto") {
        _ if tls => "https",
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
    use std::net::SocketAddr;

    fn peer(tls: bool) -> Peer {
        let local = SocketAddr::from(([127, 0, 0, 1], 8080));
        let client = SocketAddr::from(([127, 0, 0, 2], 50000));
        Peer { client, local, tls }
    }

    fn origin_of(host: Option<&str>, proto: Option<&str>) -> String {
        let mut headers = HeaderMap::new();
        if let Some(host) = host {
            headers.insert(header::HOST, HeaderValue::from_str(host).expect("a header"));
        }
        if let Some(proto) = proto {
            let value = HeaderValue::from_str(proto).expect("a header");
            headers.insert("x-forwarded-proto", value);
        }
        origin(
            &headers,
            &Uri::from_static("/scim/v2/Users"),
            Some(peer(false)),
        )
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

    #[test]
    fn a_connection_scimd_serves_over_tls_is_https_whatever_the_headers_say() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::HOST,
            HeaderValue::from_static("scim.example.com:8443"),
        );
        headers.insert("x-forwarded-proto", HeaderValue::from_static("http"));
        let uri = Uri::from_static("/scim/v2/Users");
        let tls = Some(peer(true));
        assert_eq!(origin(&headers, &uri, tls), "https://scim.example.com:8443");
        headers.insert(header::HOST, HeaderValue::from_static("evil.example/path"));
        assert_eq!(origin(&headers, &uri, tls), "https://127.0.0.1:8080");
    }

    #[test]
    fn without_host_the_authority_of_an_http2_request_is_used() {
        let uri = Uri::from_static("https://scim.example.com:8443/scim/v2/Users");
        let origin = origin(&HeaderMap::new(), &uri, Some(peer(true)));
        assert_eq!(origin, "https://scim.example.com:8443");
        let odd = Uri::from_static("https://user@scim.example.com/scim/v2/Users");
        let origin = super::origin(&HeaderMap::new(), &odd, Some(peer(true)));
        assert_eq!(origin, "https://127.0.0.1:8080");
    }
}
