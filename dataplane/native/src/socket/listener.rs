//! Listening sockets inside a namespace: the ztunnel's in-pod listeners (15001, 15006, 15008) live in the
//! pod's netns while the process stays in its own.
use std::net::SocketAddrV4;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{Backlog, SockaddrIn, bind, listen, sockopt};

use super::{set_option, tcp_socket};
use crate::error::{Code, NativeError, Result};
use crate::netns;

/// What Node's `server.listen()` uses when no backlog is given.
pub const DEFAULT_BACKLOG: i32 = 511;

pub struct Listen {
    pub netns: Option<String>,
    pub addr: SocketAddrV4,
    /// IP_TRANSPARENT: accept connections TPROXYed to this port whatever their destination address.
    pub transparent: bool,
    pub backlog: i32,
}

/// A bound, listening socket. Everything happens on the namespace thread; afterwards the socket is only
/// accepted from, which needs no namespace.
pub fn open(request: &Listen) -> Result<OwnedFd> {
    let backlog = Backlog::new(request.backlog).map_err(|_| {
        NativeError::new(
            Code::Argument,
            format!(
                "backlog must be -1..{}, got {}",
                i32::from(Backlog::MAXCONN),
                request.backlog
            ),
        )
    })?;
    netns::run_in(request.netns.as_deref(), || {
        let fd = tcp_socket()?;
        // Restarts must rebind at once even while old connections sit in TIME_WAIT.
        set_option(&fd, sockopt::ReuseAddr, &true, "SO_REUSEADDR")?;
        if request.transparent {
            set_option(&fd, sockopt::IpTransparent, &true, "IP_TRANSPARENT")?;
        }
        bind(fd.as_raw_fd(), &SockaddrIn::from(request.addr))
            .map_err(|errno| NativeError::errno(Code::Bind, format_args!("bind {}", request.addr), errno))?;
        listen(&fd, backlog).map_err(|errno| {
            NativeError::errno(Code::Listen, format_args!("listen {}", request.addr), errno)
        })?;
        Ok(fd)
    })
}
