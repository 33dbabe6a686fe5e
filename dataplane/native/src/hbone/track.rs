//! Every connection that reaches a decision is tracked until it ends: an id (unique in the process) that the
//! decision is told, a cancellation token behind `close(id)` (DESIGN §8: a connection a new policy no longer
//! allows is closed), its byte counts, and one report when it ends. Reports go back to JavaScript in batches,
//! so a burst of short connections costs one crossing, not one each.
//!
//! Invariants:
//! 1. A tracked connection is reported exactly once, when its `Tracked` is dropped, and only after its decision
//!    settled (the owners always await the decision), so JavaScript has registered the id before it hears of it.
//! 2. When its owner stops (which cancels every connection's token too), the reporter keeps running until the
//!    last connection has been reported (or `FINAL_WAIT` passed), then lets go of the JavaScript callback.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// How long a report waits for others to share its batch.
const BATCH_DELAY: Duration = Duration::from_millis(10);
/// How long a closed tracker waits for its connections to be reported before letting go of the callback.
const FINAL_WAIT: Duration = Duration::from_secs(5);

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// What the owner hears when a connection it decided ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Closed {
    pub id: u64,
    /// Bytes from the connection's caller towards its target (the request direction).
    pub to_target: u64,
    /// Bytes from the target back to the caller.
    pub from_target: u64,
    /// Why the decision could not be carried out (a refusal, a dial, TLS or CONNECT failure), if it could not.
    pub error: Option<String>,
    /// Why a carried connection ended in a reset rather than with both directions finished.
    pub reset: Option<String>,
}

/// Receives batches of reports, on the runtime.
pub type Report = Arc<dyn Fn(Vec<Closed>) + Send + Sync>;

pub struct Tracker {
    live: Mutex<HashMap<u64, CancellationToken>>,
    /// The owner's stop: once cancelled, the reporter winds down.
    stop: CancellationToken,
    pending: Mutex<Vec<Closed>>,
    notify: Notify,
    reporting: bool,
    /// The caller's side is a splice's `a` side (a client's application) or its `b` side (a server's stream).
    caller_is_a: bool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Tracker {
    /// Starts the reporter when there is a `report`. Must run inside the runtime.
    pub fn new(stop: CancellationToken, report: Option<Report>, caller_is_a: bool) -> Arc<Tracker> {
        let tracker = Arc::new(Tracker {
            live: Mutex::default(),
            stop,
            pending: Mutex::default(),
            notify: Notify::new(),
            reporting: report.is_some(),
            caller_is_a,
        });
        if let Some(report) = report {
            tokio::spawn(reporter(tracker.clone(), report));
        }
        tracker
    }

    /// A new connection: its id, and a token that `close(id)` cancels, and so does `parent` (its listener's or
    /// server's stop).
    pub fn begin(self: &Arc<Self>, parent: &CancellationToken) -> Tracked {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let cancel = parent.child_token();
        lock(&self.live).insert(id, cancel.clone());
        Tracked {
            id,
            cancel,
            flow: Flow::default(),
            error: None,
            reset: None,
            tracker: self.clone(),
        }
    }

    /// Resets connection `id`; false when it is not open (any more).
    pub fn close(&self, id: u64) -> bool {
        match lock(&self.live).get(&id) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    pub fn open(&self) -> usize {
        lock(&self.live).len()
    }

    fn end(&self, closed: Closed) {
        lock(&self.live).remove(&closed.id);
        if self.reporting {
            lock(&self.pending).push(closed);
            self.notify.notify_one();
        }
    }
}

/// Bytes of one splice, as seen from its `a` side (the side that is read first: the application for a client,
/// the target for a server), updated as they flow so a connection cut short still reports what it carried.
#[derive(Debug, Default)]
pub struct Flow {
    /// Read from `a` and sent on.
    pub sent: AtomicU64,
    /// Received for `a` and written to it.
    pub received: AtomicU64,
}

impl Flow {
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
}

/// One tracked connection; reported when dropped.
pub struct Tracked {
    pub id: u64,
    pub cancel: CancellationToken,
    pub flow: Flow,
    error: Option<String>,
    reset: Option<String>,
    tracker: Arc<Tracker>,
}

impl Tracked {
    /// The decision could not be carried out.
    pub fn fail(&mut self, error: impl Into<String>) {
        self.error = Some(error.into());
    }

    /// The splice ended in a reset.
    pub fn reset(&mut self, reason: Option<String>) {
        self.reset = reason;
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let (to_target, from_target) = if self.tracker.caller_is_a {
            (self.flow.sent(), self.flow.received())
        } else {
            (self.flow.received(), self.flow.sent())
        };
        self.tracker.end(Closed {
            id: self.id,
            to_target,
            from_target,
            error: self.error.take(),
            reset: self.reset.take(),
        });
    }
}

async fn reporter(tracker: Arc<Tracker>, report: Report) {
    let mut closing = None;
    loop {
        match closing {
            None => tokio::select! {
                () = tracker.notify.notified() => {}
                () = tracker.stop.cancelled() => {
                    closing = Some(tokio::time::Instant::now() + FINAL_WAIT);
                }
            },
            Some(deadline) => {
                let _ = tokio::time::timeout_at(deadline, tracker.notify.notified()).await;
            }
        }
        tokio::time::sleep(BATCH_DELAY).await;
        let batch = std::mem::take(&mut *lock(&tracker.pending));
        if !batch.is_empty() {
            report(batch);
        }
        if let Some(deadline) = closing
            && (tracker.open() == 0 || tokio::time::Instant::now() >= deadline)
        {
            let last = std::mem::take(&mut *lock(&tracker.pending));
            if !last.is_empty() {
                report(last);
            }
            return;
        }
    }
}
