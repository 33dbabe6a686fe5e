//! Outbound connections from inside a namespace, as the ztunnel makes them on a pod's behalf: marked so the
//! pod's own redirect rules let them pass (DESIGN §7, mark 0x539), and, on inbound delivery, from the
//! original client's address so the workload sees who called.
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{SockaddrIn, bind, getsockopt, sockopt};

use super::{set_option, tcp_socket};
use crate::error::{Code, NativeError, Result};
use crate::netns;

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Connect {
    pub netns: Option<String>,
    pub addr: SocketAddrV4,
    /// SO_MARK on every packet of the connection.
    pub mark: Option<u32>,
    /// Bind to this (usually non-local) address with IP_TRANSPARENT before connecting.
    pub transparent_source: Option<Ipv4Addr>,
    /// Bind to this local address (no IP_TRANSPARENT) before connecting; ignored with `transparent_source`.
    pub source: Option<Ipv4Addr>,
    pub timeout: Duration,
}

/// A connected socket. It is created, marked and bound on the namespace thread; the connect itself waits on
/// the calling thread (a libuv worker), since the socket already belongs to the namespace.
pub fn connect(request: &Connect) -> Result<OwnedFd> {
    let deadline = Instant::now() + request.timeout;
    let fd = prepare(request)?;
    match nix::sys::socket::connect(fd.as_raw_fd(), &SockaddrIn::from(request.addr)) {
        Ok(()) => Ok(fd),
        Err(Errno::EINPROGRESS) => wait_connected(fd, request.addr, deadline),
        Err(errno) => Err(connect_error(request.addr, errno)),
    }
}

/// The socket `connect` connects, not yet connected: created, marked and bound on the namespace thread. The
/// native byte path connects it on its own event loop.
pub fn prepare(request: &Connect) -> Result<OwnedFd> {
    netns::run_in(request.netns.as_deref(), || {
        let fd = tcp_socket()?;
        if let Some(mark) = request.mark {
            set_option(&fd, sockopt::Mark, &mark, "SO_MARK")?;
        }
        let local = if let Some(source) = request.transparent_source {
            set_option(&fd, sockopt::IpTransparent, &true, "IP_TRANSPARENT")?;
            Some(SocketAddrV4::new(source, 0))
        } else {
            request.source.map(|source| SocketAddrV4::new(source, 0))
        };
        if let Some(local) = local {
            bind(fd.as_raw_fd(), &SockaddrIn::from(local))
                .map_err(|errno| NativeError::errno(Code::Bind, format_args!("bind {local}"), errno))?;
        }
        Ok(fd)
    })
}

/// The socket is non-blocking, so connect(2) returns at once; poll for writability until the deadline, then
/// read the outcome from SO_ERROR.
fn wait_connected(fd: OwnedFd, addr: SocketAddrV4, deadline: Instant) -> Result<OwnedFd> {
    loop {
        let Some(timeout) = poll_timeout(deadline, Instant::now()) else {
            return Err(connect_error(addr, Errno::ETIMEDOUT));
        };
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLOUT)];
        match poll(&mut fds, timeout) {
            Ok(0) | Err(Errno::EINTR) => continue,
            Ok(_) => break,
            Err(errno) => {
                return Err(NativeError::errno(
                    Code::Connect,
                    format_args!("poll {addr}"),
                    errno,
                ));
            }
        }
    }
    match getsockopt(&fd, sockopt::SocketError) {
        Ok(0) => Ok(fd),
        Ok(raw) => Err(connect_error(addr, Errno::from_raw(raw))),
        Err(errno) => Err(NativeError::errno(
            Code::Connect,
            format_args!("read SO_ERROR {addr}"),
            errno,
        )),
    }
}

/// What is left until `deadline`, rounded up to whole milliseconds so a sub-millisecond rest does not spin;
/// `None` once it has passed.
fn poll_timeout(deadline: Instant, now: Instant) -> Option<PollTimeout> {
    let left = deadline
        .checked_duration_since(now)
        .filter(|left| !left.is_zero())?;
    let millis = left.as_micros().div_ceil(1000);
    Some(PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX))
}

fn connect_error(addr: SocketAddrV4, errno: Errno) -> NativeError {
    NativeError::errno(code_for(errno), format_args!("connect {addr}"), errno)
}

/// The two outcomes callers act on (DESIGN §7: upstream connect failure answers 503) get their own codes.
fn code_for(errno: Errno) -> Code {
    match errno {
        Errno::ECONNREFUSED => Code::ConnectRefused,
        Errno::ETIMEDOUT => Code::ConnectTimeout,
        _ => Code::Connect,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_and_timed_out_have_their_own_codes() {
        assert_eq!(code_for(Errno::ECONNREFUSED), Code::ConnectRefused);
        assert_eq!(code_for(Errno::ETIMEDOUT), Code::ConnectTimeout);
        assert_eq!(code_for(Errno::ENETUNREACH), Code::Connect);
    }

    #[test]
    fn poll_timeout_rounds_up_and_ends_at_the_deadline() {
        let now = Instant::now();
        let timeout = poll_timeout(now + Duration::from_micros(1_200), now).unwrap();
        assert_eq!(i32::from(timeout), 2);
        assert!(poll_timeout(now, now).is_none());
        assert!(poll_timeout(now, now + Duration::from_millis(1)).is_none());
    }
}
