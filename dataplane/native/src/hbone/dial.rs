//! Outgoing TCP for the byte path: to an HBONE peer or to the final target, made like the addon's `connect`
//! (in a netns, marked, from a given or transparent source) but connected on tokio.
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::{TcpSocket, TcpStream};

use crate::socket::connect::{Connect, prepare};

/// Where and how a connection leaves. All optional; none means a plain connect in this process's netns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DialOptions {
    /// A netns file; the socket is created inside it.
    pub netns: Option<String>,
    /// SO_MARK (0x539 exempts the proxy's own traffic from the pod's redirect, DESIGN §7).
    pub mark: Option<u32>,
    /// Bind to this local address first.
    pub source: Option<Ipv4Addr>,
    /// Bind to this (non-local) address with IP_TRANSPARENT first, e.g. the original client's.
    pub transparent_source: Option<Ipv4Addr>,
}

impl DialOptions {
    fn is_plain(&self) -> bool {
        *self == DialOptions::default()
    }
}

/// Connects within `timeout`. The error text says what failed (`connect 10.0.0.1:80: Connection refused`).
pub async fn dial(addr: SocketAddr, options: &DialOptions, timeout: Duration) -> Result<TcpStream, String> {
    let attempt = async {
        let stream = match addr {
            SocketAddr::V4(v4) if !options.is_plain() => {
                let request = Connect {
                    netns: options.netns.clone(),
                    addr: v4,
                    mark: options.mark,
                    transparent_source: options.transparent_source,
                    source: options.source,
                    timeout,
                };
                // setns happens on a short-lived thread of its own (netns.rs); keep it off the event loop.
                let fd = if request.netns.is_some() {
                    tokio::task::spawn_blocking(move || prepare(&request))
                        .await
                        .map_err(|e| format!("prepare socket for {addr}: {e}"))?
                } else {
                    prepare(&request)
                }
                .map_err(|e| e.to_string())?;
                TcpSocket::from_std_stream(std::net::TcpStream::from(fd))
                    .connect(addr)
                    .await
            }
            SocketAddr::V6(_) if !options.is_plain() => {
                return Err(format!("connect {addr}: netns, mark and source need IPv4"));
            }
            _ => TcpStream::connect(addr).await,
        }
        .map_err(|e| format!("connect {addr}: {e}"))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("connect {addr}: TCP_NODELAY: {e}"))?;
        Ok(stream)
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .map_err(|_| format!("connect {addr}: timed out after {} ms", timeout.as_millis()))?
}
