//! Where a connection was going before an iptables REDIRECT rewrote it to the ztunnel's port (15001). Only
//! the NAT table knows; Node has no way to ask it.
use std::net::SocketAddrV4;
use std::os::fd::{BorrowedFd, RawFd};

use nix::sys::socket::{getsockopt, sockopt};

use super::addr;
use crate::error::{Code, NativeError, Result};

/// `fd` is an accepted socket that Node owns; it is only borrowed here.
pub fn original_destination(fd: RawFd) -> Result<SocketAddrV4> {
    if fd < 0 {
        return Err(NativeError::new(
            Code::Argument,
            format!("not a file descriptor: {fd}"),
        ));
    }
    // SAFETY: the call is synchronous on Node's thread, which holds `fd` open until it returns (the caller
    // passes the descriptor of a live socket), and the borrow ends with this function, so nothing outlives it.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    // This is conntrack's original tuple: for a connection that was not NATed it is the actual destination;
    // ENOENT means conntrack has no entry (a listening socket, or no connection tracking in the netns).
    getsockopt(&fd, sockopt::OriginalDst)
        .map(addr::from_sockaddr)
        .map_err(|errno| NativeError::errno(Code::OriginalDst, "getsockopt SO_ORIGINAL_DST", errno))
}
