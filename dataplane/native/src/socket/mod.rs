//! TCP sockets made the way Node cannot: in another namespace, marked, transparent, and asked where a
//! redirected connection was going. Node adopts the descriptors (`net.Socket({ fd })`, `listen({ fd })`), so
//! the byte path stays in JavaScript for now; a native byte path belongs beside these modules later.
pub mod addr;
pub mod connect;
pub mod listener;
pub mod original_dst;

use std::os::fd::{AsFd, OwnedFd};

use nix::sys::socket::{AddressFamily, SetSockOpt, SockFlag, SockType, setsockopt, socket};

use crate::error::{Code, NativeError, Result};

/// An IPv4 TCP socket (DESIGN §8: IPv4 only). Non-blocking because libuv expects that of what it adopts,
/// close-on-exec so that children such as `ip netns exec` never inherit it.
fn tcp_socket() -> Result<OwnedFd> {
    socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )
    .map_err(|errno| NativeError::errno(Code::Socket, "socket", errno))
}

fn set_option<O: SetSockOpt>(fd: &impl AsFd, option: O, value: &O::Val, name: &str) -> Result<()> {
    setsockopt(fd, option, value)
        .map_err(|errno| NativeError::errno(Code::Socket, format_args!("set {name}"), errno))
}
