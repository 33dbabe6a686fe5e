//! Addresses as JavaScript passes them (a dotted quad and a port number) and as the kernel returns them.
use std::net::{Ipv4Addr, SocketAddrV4};

use nix::libc;
use nix::sys::socket::SockaddrIn;

use crate::error::{Code, NativeError, Result};

/// An IPv4 literal. Names are refused: resolving is the caller's decision, not a side effect in a netns.
pub fn ipv4(host: &str) -> Result<Ipv4Addr> {
    host.parse().map_err(|_| {
        NativeError::new(
            Code::Argument,
            format!("host must be an IPv4 address, got {host:?}"),
        )
    })
}

/// `port` arrives as a JavaScript number, so the range is checked here rather than trusted.
pub fn endpoint(host: &str, port: u32) -> Result<SocketAddrV4> {
    let port = u16::try_from(port)
        .map_err(|_| NativeError::new(Code::Argument, format!("port must be 0-65535, got {port}")))?;
    Ok(SocketAddrV4::new(ipv4(host)?, port))
}

/// A kernel `sockaddr_in` (network byte order) as an endpoint.
pub fn from_sockaddr(raw: libc::sockaddr_in) -> SocketAddrV4 {
    SockaddrIn::from(raw).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_dotted_quad_and_port() {
        let parsed = endpoint("10.255.0.9", 80).unwrap();
        assert_eq!(parsed, SocketAddrV4::new(Ipv4Addr::new(10, 255, 0, 9), 80));
    }

    #[test]
    fn refuses_names_ipv6_and_out_of_range_ports() {
        for (host, port) in [
            ("localhost", 80),
            ("::1", 80),
            ("10.0.0.1", 65_536),
            ("10.0.0", 80),
        ] {
            assert_eq!(
                endpoint(host, port).unwrap_err().code(),
                Code::Argument,
                "{host}:{port}"
            );
        }
    }

    #[test]
    fn reads_network_byte_order() {
        // SAFETY: sockaddr_in is plain old data; all-zero bytes are a valid value of it.
        let mut raw: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        raw.sin_family = libc::AF_INET as libc::sa_family_t;
        raw.sin_port = 15_001u16.to_be();
        raw.sin_addr.s_addr = u32::from(Ipv4Addr::new(10, 255, 0, 9)).to_be();
        assert_eq!(
            from_sockaddr(raw),
            SocketAddrV4::new(Ipv4Addr::new(10, 255, 0, 9), 15_001)
        );
    }

    #[test]
    fn round_trips_through_the_kernel_form() {
        let original = SocketAddrV4::new(Ipv4Addr::new(169, 254, 7, 127), 8080);
        assert_eq!(from_sockaddr(*SockaddrIn::from(original).as_ref()), original);
    }
}
