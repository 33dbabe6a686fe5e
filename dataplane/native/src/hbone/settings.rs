//! HTTP/2 settings of every HBONE connection, client and server alike: Istio's ztunnel values (DESIGN §7), the
//! same numbers as `dataplane/hbone/src/h2-settings.ts`.
use std::time::Duration;

const MIB: u32 = 1024 * 1024;

/// Receive window of one CONNECT stream: how far a peer may run ahead of a slow reader on that stream.
pub const STREAM_WINDOW_BYTES: u32 = 4 * MIB;
/// Receive window of the whole connection.
pub const CONNECTION_WINDOW_BYTES: u32 = 16 * MIB;
/// Largest DATA frame we accept.
pub const MAX_FRAME_BYTES: u32 = MIB;
/// Streams per connection; the client pool opens another connection past this.
pub const MAX_STREAMS_PER_CONNECTION: u32 = 100;
/// How much one stream may queue in h2 beyond what the peer's window lets out. h2 assigns send capacity only up
/// to this, so it is also the largest piece the copy loop hands h2 at once.
pub const MAX_SEND_BUFFER_BYTES: usize = 1024 * 1024;
/// Dial + TLS handshake + HTTP/2 preface of a new connection, and dialing a target.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A pooled connection that carried no stream for this long is closed (the TypeScript client's default).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

pub fn server_builder() -> h2::server::Builder {
    let mut b = h2::server::Builder::new();
    b.initial_window_size(STREAM_WINDOW_BYTES)
        .initial_connection_window_size(CONNECTION_WINDOW_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
        .max_send_buffer_size(MAX_SEND_BUFFER_BYTES);
    b
}

pub fn client_builder() -> h2::client::Builder {
    let mut b = h2::client::Builder::new();
    b.initial_window_size(STREAM_WINDOW_BYTES)
        .initial_connection_window_size(CONNECTION_WINDOW_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
        .max_send_buffer_size(MAX_SEND_BUFFER_BYTES)
        .enable_push(false);
    b
}
