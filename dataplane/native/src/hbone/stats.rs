//! Counters the byte path keeps for JavaScript to read (tests, the admin endpoint); per-connection figures go
//! back as close reports (`track`).
use std::sync::atomic::{AtomicU64, Ordering};

use super::track::Tracked;

macro_rules! counters {
    ($name:ident { $($(#[$doc:meta])* $field:ident),* $(,)? }) => {
        #[derive(Debug, Default)]
        pub struct $name { $($(#[$doc])* pub $field: AtomicU64,)* }

        impl $name {
            /// A copy of every counter, in declaration order.
            pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($field), self.$field.load(Ordering::Relaxed)),)*]
            }
        }
    };
}

counters!(ServerStats {
    connections_accepted,
    connections_open,
    /// Connections refused because the listener has no certificate yet.
    no_certificate,
    handshake_failures,
    identity_failures,
    alpn_failures,
    streams_total,
    streams_open,
    refused_400,
    denied_401,
    failed_503,
    spliced,
    resets,
    bytes_in,
    bytes_out,
});

counters!(ClientStats {
    accepted,
    refused,
    failed,
    passthrough,
    hbone,
    connections_opened,
    connections_open,
    connection_failures,
    streams_open,
    resets,
    bytes_out,
    bytes_in,
});

pub fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

pub fn sub(counter: &AtomicU64, n: u64) {
    counter.fetch_sub(n, Ordering::Relaxed);
}

/// +1 now, -1 when dropped: an open-things gauge that cannot leak on an early return.
pub struct Open<'a>(&'a AtomicU64);

impl<'a> Open<'a> {
    pub fn new(gauge: &'a AtomicU64) -> Open<'a> {
        add(gauge, 1);
        Open(gauge)
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        sub(self.0, 1);
    }
}

/// Records one finished splice: bytes each way (`out` is what its `a` side sent), whether it was reset, and why
/// in its connection's report.
pub fn spliced(
    tracked: &mut Tracked,
    reset: Option<String>,
    bytes_out: &AtomicU64,
    bytes_in: &AtomicU64,
    resets: &AtomicU64,
) {
    add(bytes_out, tracked.flow.sent());
    add(bytes_in, tracked.flow.received());
    if reset.is_some() {
        add(resets, 1);
    }
    tracked.reset(reset);
}
