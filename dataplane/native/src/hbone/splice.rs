//! The copy loop: joins a client's TCP connection with a CONNECT stream (or with another TCP connection) both
//! ways, with the invariants of `dataplane/hbone/src/splice.ts`:
//! 1. EOF travels as EOF: a TCP FIN becomes END_STREAM and END_STREAM becomes a FIN (`shutdown(SHUT_WR)`);
//!    the other direction goes on.
//! 2. The first failure resets both sides once: RST_STREAM CONNECT_ERROR on the stream (RFC 9113 §8.5) and an
//!    RST on the TCP connection (SO_LINGER 0, then close). A reset stream (any code, CANCEL included: that is
//!    what a Node `destroy()` sends) is a failure, and so is a TCP read or write error.
//! 3. Nothing is buffered beyond one read: a direction reads again only after its last piece was handed on,
//!    h2 hands out send capacity only as the peer's window allows, and received bytes are released to the
//!    peer's window only once written to TCP, so a slow reader stops its peer.
//! 4. Cancelling resets both sides as a failure does; the bytes carried until then stay counted in the `Flow`.
use std::future::poll_fn;
use std::io;
use std::os::fd::AsRawFd;
use std::pin::pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};
use h2::{Reason, RecvStream, SendStream};
use nix::sys::socket::{Shutdown, shutdown};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::track::Flow;

/// First read size of a direction; it doubles while reads fill it, up to `MAX_READ`. Idle connections stay
/// small (10,000 of them must fit), bulk ones get large pieces.
const FIRST_READ: usize = 16 * 1024;
const MAX_READ: usize = 256 * 1024;

/// Why a cancelled splice ended (`close(id)`, or its listener or server closing).
pub const CLOSED_BY_PROXY: &str = "closed by the proxy";

/// A read buffer that grows while the connection is busy.
struct Reader {
    buf: BytesMut,
    size: usize,
}

impl Reader {
    fn new() -> Reader {
        Reader {
            buf: BytesMut::new(),
            size: FIRST_READ,
        }
    }

    /// The next piece, or an empty one at EOF.
    async fn read(&mut self, tcp: &TcpStream) -> io::Result<Bytes> {
        self.buf.reserve(self.size);
        loop {
            tcp.readable().await?;
            match tcp.try_read_buf(&mut self.buf) {
                Ok(n) => {
                    if n >= self.size && self.size < MAX_READ {
                        self.size *= 2;
                    }
                    return Ok(self.buf.split().freeze());
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

async fn write_all(tcp: &TcpStream, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        tcp.writable().await?;
        match tcp.try_write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn finish_writing(tcp: &TcpStream) -> io::Result<()> {
    shutdown(tcp.as_raw_fd(), Shutdown::Write).map_err(io::Error::from)
}

/// SO_LINGER 0: the close that follows sends an RST instead of a FIN.
fn reset_on_close(tcp: &TcpStream) {
    let _ = tcp.set_zero_linger();
}

fn lock(send: &Mutex<SendStream<Bytes>>) -> std::sync::MutexGuard<'_, SendStream<Bytes>> {
    // Nothing panics while holding it; a poisoned stream is still a stream to reset.
    send.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn tcp_to_h2(
    tcp: &TcpStream,
    send: &Mutex<SendStream<Bytes>>,
    count: &AtomicU64,
) -> Result<(), String> {
    let mut reader = Reader::new();
    loop {
        let mut piece = reader.read(tcp).await.map_err(|e| format!("tcp read: {e}"))?;
        if piece.is_empty() {
            return lock(send)
                .send_data(Bytes::new(), true)
                .map_err(|e| format!("end stream: {e}"));
        }
        count.fetch_add(piece.len() as u64, Ordering::Relaxed);
        while !piece.is_empty() {
            lock(send).reserve_capacity(piece.len());
            let capacity = poll_fn(|cx| lock(send).poll_capacity(cx)).await;
            match capacity {
                Some(Ok(0)) => continue,
                Some(Ok(n)) => {
                    let n = n.min(piece.len());
                    lock(send)
                        .send_data(piece.split_to(n), false)
                        .map_err(|e| format!("stream write: {e}"))?;
                }
                Some(Err(e)) => return Err(format!("stream write: {e}")),
                None => return Err("stream closed by the peer".into()),
            }
        }
    }
}

async fn h2_to_tcp(mut recv: RecvStream, tcp: &TcpStream, count: &AtomicU64) -> Result<(), String> {
    loop {
        match recv.data().await {
            None => return finish_writing(tcp).map_err(|e| format!("tcp shutdown: {e}")),
            Some(Err(e)) => return Err(format!("stream: {e}")),
            Some(Ok(data)) => {
                if data.is_empty() {
                    continue;
                }
                write_all(tcp, &data)
                    .await
                    .map_err(|e| format!("tcp write: {e}"))?;
                count.fetch_add(data.len() as u64, Ordering::Relaxed);
                // Only now may the peer send this much more.
                let _ = recv.flow_control().release_capacity(data.len());
            }
        }
    }
}

/// Runs two directions until both end, or until the first fails or `cancel` fires; then `reset` runs while
/// both are still alive (so it can reach what they hold), and both are dropped. The reason of a reset, if any.
async fn both_ways(
    a: impl Future<Output = Result<(), String>>,
    b: impl Future<Output = Result<(), String>>,
    cancel: &CancellationToken,
    reset: impl FnOnce(),
) -> Option<String> {
    let mut a = pin!(a);
    let mut b = pin!(b);
    let (mut a_done, mut b_done) = (false, false);
    let failure = loop {
        tokio::select! {
            result = &mut a, if !a_done => match result {
                Ok(()) => a_done = true,
                Err(e) => break Some(e),
            },
            result = &mut b, if !b_done => match result {
                Ok(()) => b_done = true,
                Err(e) => break Some(e),
            },
            () = cancel.cancelled(), if !(a_done && b_done) => break Some(CLOSED_BY_PROXY.to_owned()),
            else => break None,
        }
    };
    if failure.is_some() {
        reset();
    }
    failure
}

/// Splices a TCP connection (`a`) with an accepted or opened CONNECT stream. The caller drops `tcp` afterwards;
/// after a failure that close is an RST.
pub async fn tcp_with_stream(
    tcp: &TcpStream,
    send: SendStream<Bytes>,
    recv: RecvStream,
    flow: &Flow,
    cancel: &CancellationToken,
) -> Option<String> {
    let send = Mutex::new(send);
    both_ways(
        tcp_to_h2(tcp, &send, &flow.sent),
        h2_to_tcp(recv, tcp, &flow.received),
        cancel,
        || {
            lock(&send).send_reset(Reason::CONNECT_ERROR);
            reset_on_close(tcp);
        },
    )
    .await
}

async fn tcp_to_tcp(from: &TcpStream, to: &TcpStream, count: &AtomicU64) -> Result<(), String> {
    let mut reader = Reader::new();
    loop {
        let piece = reader.read(from).await.map_err(|e| format!("tcp read: {e}"))?;
        if piece.is_empty() {
            return finish_writing(to).map_err(|e| format!("tcp shutdown: {e}"));
        }
        write_all(to, &piece)
            .await
            .map_err(|e| format!("tcp write: {e}"))?;
        count.fetch_add(piece.len() as u64, Ordering::Relaxed);
    }
}

/// Splices two TCP connections (passthrough); `flow.sent` is a→b.
pub async fn tcp_with_tcp(
    a: &TcpStream,
    b: &TcpStream,
    flow: &Flow,
    cancel: &CancellationToken,
) -> Option<String> {
    both_ways(
        tcp_to_tcp(a, b, &flow.sent),
        tcp_to_tcp(b, a, &flow.received),
        cancel,
        || {
            reset_on_close(a);
            reset_on_close(b);
        },
    )
    .await
}
