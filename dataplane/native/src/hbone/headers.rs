//! The CONNECT request on the wire, as `dataplane/hbone/src/connect-headers.ts` writes and reads it:
//! `:authority` is the original destination `ip:port`; `forwarded`, `baggage` and `traceparent` ride along.
//! Pure functions; no I/O.
use std::net::{IpAddr, SocketAddr};

use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Uri};

pub const FORWARDED: HeaderName = HeaderName::from_static("forwarded");
pub const BAGGAGE: HeaderName = HeaderName::from_static("baggage");
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// Header values an HBONE server passes on to its decision, as received (first value of each).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectHeaders {
    /// RFC 7239, e.g. `for=10.0.0.7`: the original source address.
    pub forwarded: Option<String>,
    /// W3C baggage (Istio carries workload metadata here).
    pub baggage: Option<String>,
    /// W3C trace context.
    pub traceparent: Option<String>,
}

/// What a server makes of one inbound request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundRequest {
    Connect {
        authority: SocketAddr,
        headers: ConnectHeaders,
    },
    /// Answered 400 (DESIGN §8), never with a stream refusal.
    Refuse { reason: String },
}

/// `ip:port`, or `[v6]:port`. Host names, zone ids and port 0 are refused: HBONE addresses are IPs.
pub fn parse_address(text: &str) -> Option<SocketAddr> {
    if text.contains('%') {
        return None;
    }
    let addr: SocketAddr = text.parse().ok()?;
    // The port must be 1-5 digits as written (Rust accepts any number of leading zeros).
    let port_digits = &text[text.rfind(':')? + 1..];
    if addr.port() == 0 || port_digits.len() > 5 {
        return None;
    }
    Some(addr)
}

/// `forwarded` for a source IP (RFC 7239 §6: an IPv6 node is quoted and bracketed).
pub fn format_forwarded_for(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("for={v4}"),
        IpAddr::V6(v6) => format!("for=\"[{v6}]\""),
    }
}

fn first_value(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Reads an inbound request: a CONNECT (no `:protocol`, so not extended CONNECT) to an `ip:port` authority is
/// HBONE; anything else is a 400.
pub fn parse_inbound(method: &Method, uri: &Uri, has_protocol: bool, headers: &HeaderMap) -> InboundRequest {
    if method != Method::CONNECT || has_protocol {
        return InboundRequest::Refuse {
            reason: format!("method {method} is not CONNECT"),
        };
    }
    let authority = uri.authority().map_or("", |a| a.as_str());
    let Some(parsed) = parse_address(authority) else {
        return InboundRequest::Refuse {
            reason: format!("authority {authority:?} is not ip:port"),
        };
    };
    InboundRequest::Connect {
        authority: parsed,
        headers: ConnectHeaders {
            forwarded: first_value(headers, &FORWARDED),
            baggage: first_value(headers, &BAGGAGE),
            traceparent: first_value(headers, &TRACEPARENT),
        },
    }
}

/// The CONNECT request a client sends: `:method CONNECT`, `:authority` (h2 sends no `:scheme`/`:path` for it),
/// and each header that is set. Fails on a header value that cannot go on the wire (control characters).
pub fn connect_request(authority: SocketAddr, headers: &ConnectHeaders) -> Result<Request<()>, String> {
    let uri: Uri = authority
        .to_string()
        .parse()
        .map_err(|e| format!("authority {authority}: {e}"))?;
    let mut request = Request::builder()
        .method(Method::CONNECT)
        .uri(uri)
        .body(())
        .map_err(|e| e.to_string())?;
    for (name, value) in [
        (FORWARDED, &headers.forwarded),
        (BAGGAGE, &headers.baggage),
        (TRACEPARENT, &headers.traceparent),
    ] {
        if let Some(value) = value {
            let value =
                HeaderValue::from_str(value).map_err(|_| format!("{name} is not a valid header value"))?;
            request.headers_mut().insert(name, value);
        }
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_ip_and_port_only() {
        assert_eq!(
            parse_address("10.0.0.1:8080"),
            Some("10.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(
            parse_address("[fd00::1]:443"),
            Some("[fd00::1]:443".parse().unwrap())
        );
        for bad in [
            "",
            "10.0.0.1",
            "10.0.0.1:0",
            "10.0.0.1:65536",
            "10.0.0.1:000080",
            "example.com:80",
            "user@10.0.0.1:80",
            "010.0.0.1:80",
            "fd00::1:80",
            "[fe80::1%1]:80",
            "10.0.0.1:80/",
        ] {
            assert_eq!(parse_address(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn forwarded_is_written_as_the_typescript_client_writes_it() {
        assert_eq!(format_forwarded_for("10.1.2.3".parse().unwrap()), "for=10.1.2.3");
        assert_eq!(
            format_forwarded_for("fd00::7".parse().unwrap()),
            "for=\"[fd00::7]\""
        );
    }

    fn inbound(request: &Request<()>) -> InboundRequest {
        parse_inbound(request.method(), request.uri(), false, request.headers())
    }

    #[test]
    fn a_built_request_parses_back() {
        let headers = ConnectHeaders {
            forwarded: Some("for=10.0.0.7".into()),
            baggage: Some("k8s.namespace.name=default".into()),
            traceparent: None,
        };
        let authority: SocketAddr = "10.0.0.9:9080".parse().unwrap();
        let request = connect_request(authority, &headers).unwrap();
        assert_eq!(request.method(), Method::CONNECT);
        assert_eq!(request.uri().to_string(), "10.0.0.9:9080");
        assert!(request.uri().scheme().is_none() && request.uri().path_and_query().is_none());
        assert_eq!(inbound(&request), InboundRequest::Connect { authority, headers });
    }

    #[test]
    fn header_values_with_line_breaks_are_refused() {
        let headers = ConnectHeaders {
            baggage: Some("a=b\r\nx: y".into()),
            ..ConnectHeaders::default()
        };
        assert!(connect_request("10.0.0.9:80".parse().unwrap(), &headers).is_err());
    }

    #[test]
    fn anything_but_a_plain_connect_to_ip_port_is_a_400() {
        let get = Request::get("https://10.0.0.1:80/").body(()).unwrap();
        assert!(matches!(inbound(&get), InboundRequest::Refuse { reason } if reason.contains("GET")));
        let connect = Request::builder()
            .method(Method::CONNECT)
            .uri("10.0.0.1:80")
            .body(())
            .unwrap();
        assert!(matches!(
            parse_inbound(connect.method(), connect.uri(), true, connect.headers()),
            InboundRequest::Refuse { .. }
        ));
        let by_name = Request::builder()
            .method(Method::CONNECT)
            .uri("example.com:80")
            .body(())
            .unwrap();
        assert!(
            matches!(inbound(&by_name), InboundRequest::Refuse { reason } if reason.contains("example.com"))
        );
    }
}
