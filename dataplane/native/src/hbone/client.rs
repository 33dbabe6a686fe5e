//! The HBONE client side: a native outbound listener whose accepted connections are tunnelled as JavaScript
//! decides, one question per connection (original destination → plan), then carried without JavaScript: a
//! CONNECT stream on a pooled mutual-TLS HTTP/2 connection (`dataplane/hbone/src/client.ts`), a plain TCP
//! passthrough (which also delivers a same-node connection into the destination pod, from the caller's
//! address), or a reset.
//!
//! Every accepted connection is tracked (`track`): its id goes to the decision, `close_connection` resets it,
//! and its end is reported, with the reason when the plan could not be carried. A listener's `drain` stops
//! accepting; it closes itself once its last connection has ended.
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::dial::{DialOptions, dial};
use super::headers::{ConnectHeaders, connect_request, format_forwarded_for};
use super::pool::{ConnectError, Pool, PoolKey};
use super::splice::{CLOSED_BY_PROXY, tcp_with_stream, tcp_with_tcp};
use super::stats::{ClientStats, add, spliced};
use super::tls::WorkloadTls;
use super::track::{Report, Tracked, Tracker};
use crate::socket::original_dst::original_destination;

/// Facts about one accepted outbound connection, for the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    /// The connection's id for `close_connection` and in its report.
    pub id: u64,
    /// The application's address (the pod IP and its port).
    pub source: SocketAddr,
    /// Where it was going: SO_ORIGINAL_DST after a REDIRECT, else the address it reached (the listener's).
    pub destination: SocketAddr,
    /// The listener address it arrived on.
    pub local: SocketAddr,
}

/// What to do with one outbound connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// CONNECT to `authority` through `proxy`, presenting `source_identity`'s certificate and accepting only
    /// one of `identities`. `forwarded` defaults to `for=<source IP>`.
    Hbone {
        proxy: SocketAddr,
        authority: SocketAddr,
        source_identity: String,
        identities: Vec<String>,
        dial: DialOptions,
        headers: ConnectHeaders,
    },
    /// Plain TCP to `target`.
    Passthrough { target: SocketAddr, dial: DialOptions },
    /// Reset the connection.
    Refuse,
}

pub type PlanFuture = Pin<Box<dyn Future<Output = Result<Plan, String>> + Send>>;
/// The decision; an error resets the connection, as `Refuse` does.
pub type Decide = Arc<dyn Fn(Outbound) -> PlanFuture + Send + Sync>;

pub struct ClientOptions {
    pub max_streams_per_connection: usize,
    pub idle_timeout: Duration,
    pub connect_timeout: Duration,
}

pub struct Client {
    identities: RwLock<HashMap<String, WorkloadTls>>,
    /// Closed with the client, so that none keeps its decision (and so Node) alive.
    listeners: Mutex<Vec<Weak<Listener>>>,
    pool: Arc<Pool>,
    pub stats: Arc<ClientStats>,
    stop: CancellationToken,
    tracker: Arc<Tracker>,
    connect_timeout: Duration,
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read().unwrap_or_else(|p| p.into_inner()).clone()
}

impl Client {
    /// Must run inside the runtime.
    pub fn new(options: ClientOptions, report: Option<Report>) -> Arc<Client> {
        let stats = Arc::new(ClientStats::default());
        let stop = CancellationToken::new();
        Arc::new(Client {
            identities: RwLock::default(),
            listeners: Mutex::default(),
            pool: Pool::new(
                options.max_streams_per_connection,
                options.idle_timeout,
                options.connect_timeout,
                stats.clone(),
            ),
            stats,
            tracker: Tracker::new(stop.clone(), report, true),
            stop,
            connect_timeout: options.connect_timeout,
        })
    }

    /// The certificate presented for `tls.identity` on connections opened from now on.
    pub fn set_identity(&self, tls: WorkloadTls) {
        self.identities
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(tls.identity.clone(), tls);
    }

    pub fn remove_identity(&self, identity: &str) -> bool {
        self.identities
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(identity)
            .is_some()
    }

    fn identity(&self, identity: &str) -> Option<WorkloadTls> {
        self.identities
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(identity)
            .cloned()
    }

    /// Pooled connections and open streams.
    pub fn pool_size(&self) -> (usize, usize) {
        self.pool.size()
    }

    fn listeners(&self) -> Vec<Arc<Listener>> {
        let listeners = self.listeners.lock().unwrap_or_else(|p| p.into_inner());
        listeners.iter().filter_map(Weak::upgrade).collect()
    }

    /// Tears down every listener, connection and stream of this client.
    pub fn close(&self) {
        for listener in self.listeners() {
            listener.close();
        }
        self.listeners.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.stop.cancel();
        self.pool.close();
    }

    /// Every listener stops accepting; open connections go on.
    pub fn drain(&self) {
        for listener in self.listeners() {
            listener.drain();
        }
    }

    /// Resets one connection (by the id its decision was given); false when it is not open.
    pub fn close_connection(&self, id: u64) -> bool {
        self.tracker.close(id)
    }

    /// Starts accepting on `listener` (already listening). Must run inside the runtime.
    pub fn listen(self: &Arc<Self>, listener: TcpListener, decide: Decide) -> std::io::Result<Arc<Listener>> {
        let stop = self.stop.child_token();
        let outbound = Arc::new(Listener {
            decide: RwLock::new(Some(decide)),
            accepting: stop.child_token(),
            stop,
            active: AtomicUsize::new(0),
            local: listener.local_addr()?,
        });
        let mut listeners = self.listeners.lock().unwrap_or_else(|p| p.into_inner());
        listeners.retain(|l| l.strong_count() > 0);
        listeners.push(Arc::downgrade(&outbound));
        tokio::spawn(accept_loop(self.clone(), outbound.clone(), listener));
        Ok(outbound)
    }

    /// One accepted connection, until it ends or it is closed (then it is reset).
    async fn connection(self: Arc<Self>, outbound: Arc<Listener>, tcp: TcpStream, source: SocketAddr) {
        add(&self.stats.accepted, 1);
        {
            let mut tracked = self.tracker.begin(&outbound.stop);
            if let Err(e) = self.carry(&outbound, &tcp, source, &mut tracked).await {
                tracked.fail(e);
                reset(&tcp);
            }
        }
        outbound.ended();
    }

    /// Decides (always to the end: track invariant 1), then carries the plan. Err: it could not be carried,
    /// and the connection is to be reset.
    async fn carry(
        &self,
        outbound: &Listener,
        tcp: &TcpStream,
        source: SocketAddr,
        tracked: &mut Tracked,
    ) -> Result<(), String> {
        let _ = tcp.set_nodelay(true);
        let local = tcp.local_addr().unwrap_or(outbound.local);
        let destination = original_destination(tcp.as_raw_fd())
            .map(SocketAddr::V4)
            .unwrap_or(local);
        let decided = match read(&outbound.decide) {
            Some(decide) => decide(Outbound {
                id: tracked.id,
                source,
                destination,
                local,
            })
            .await
            .map_err(|e| format!("decision failed: {e}")),
            None => Err("the listener is closed".into()),
        };
        let plan = decided.inspect_err(|_| add(&self.stats.refused, 1))?;
        let cancel = tracked.cancel.clone();
        match plan {
            Plan::Refuse => {
                add(&self.stats.refused, 1);
                Err("refused".into())
            }
            Plan::Passthrough {
                target,
                dial: options,
            } => {
                let dialed = tokio::select! {
                    dialed = dial(target, &options, self.connect_timeout) => dialed,
                    () = cancel.cancelled() => Err(CLOSED_BY_PROXY.into()),
                };
                let upstream = dialed.inspect_err(|_| add(&self.stats.failed, 1))?;
                add(&self.stats.passthrough, 1);
                let reset = tcp_with_tcp(tcp, &upstream, &tracked.flow, &cancel).await;
                self.spliced(tracked, reset);
                Ok(())
            }
            Plan::Hbone {
                proxy,
                authority,
                source_identity,
                identities,
                dial: options,
                mut headers,
            } => {
                if headers.forwarded.is_none() {
                    headers.forwarded = Some(format_forwarded_for(source.ip()));
                }
                let opening = self.open(
                    proxy,
                    authority,
                    &source_identity,
                    &identities,
                    &options,
                    &headers,
                );
                let opened = tokio::select! {
                    opened = opening => opened.map_err(|e| e.to_string()),
                    () = cancel.cancelled() => Err(CLOSED_BY_PROXY.into()),
                };
                let opened = opened.inspect_err(|_| add(&self.stats.failed, 1))?;
                add(&self.stats.hbone, 1);
                let reset = tcp_with_stream(tcp, opened.send, opened.recv, &tracked.flow, &cancel).await;
                drop(opened.slot);
                self.spliced(tracked, reset);
                Ok(())
            }
        }
    }

    fn spliced(&self, tracked: &mut Tracked, reset: Option<String>) {
        let stats = &self.stats;
        spliced(tracked, reset, &stats.bytes_out, &stats.bytes_in, &stats.resets);
    }

    /// One CONNECT stream, answered 200.
    pub async fn open(
        &self,
        proxy: SocketAddr,
        authority: SocketAddr,
        source_identity: &str,
        identities: &[String],
        dial: &DialOptions,
        headers: &ConnectHeaders,
    ) -> Result<super::pool::Opened, ConnectError> {
        if identities.is_empty() {
            // Fail closed: the caller must know who it is talking to.
            return Err(ConnectError::Tls(format!(
                "no expected identity for {proxy}; refusing to dial"
            )));
        }
        let tls = self.identity(source_identity).ok_or_else(|| {
            ConnectError::Tls(format!("no certificate for {source_identity}; refusing to dial"))
        })?;
        // Checked before dialing, so a bad header costs no connection.
        connect_request(authority, headers).map_err(ConnectError::Session)?;
        let key = PoolKey::new(source_identity, identities, proxy, dial);
        self.pool
            .connect(&key, &tls, || {
                connect_request(authority, headers).unwrap_or_default()
            })
            .await
    }
}

/// One native outbound listener.
pub struct Listener {
    /// Taken on `close`, so a closed listener holds no reference into JavaScript.
    decide: RwLock<Option<Decide>>,
    /// Cancelled by `drain` and by `close`: the accept loop ends and the listening socket closes.
    accepting: CancellationToken,
    /// Cancelled by `close`: every connection it accepted is reset.
    stop: CancellationToken,
    /// Connections accepted and not yet ended.
    active: AtomicUsize,
    pub local: SocketAddr,
}

impl Listener {
    /// Stops accepting and resets the connections it accepted.
    pub fn close(&self) {
        self.decide.write().unwrap_or_else(|p| p.into_inner()).take();
        self.stop.cancel();
    }

    /// Stops accepting; open connections go on, and the listener closes once the last has ended.
    pub fn drain(&self) {
        self.accepting.cancel();
        if self.active.load(Ordering::Acquire) == 0 {
            self.close();
        }
    }

    /// Closed, by `close` or after a drain.
    #[cfg(test)]
    pub fn is_closed(&self) -> bool {
        self.stop.is_cancelled()
    }

    fn ended(&self) {
        if self.active.fetch_sub(1, Ordering::AcqRel) == 1 && self.accepting.is_cancelled() {
            self.close();
        }
    }
}

async fn accept_loop(client: Arc<Client>, outbound: Arc<Listener>, listener: TcpListener) {
    loop {
        let accepted = tokio::select! {
            () = outbound.accepting.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((tcp, source)) => {
                outbound.active.fetch_add(1, Ordering::AcqRel);
                tokio::spawn(client.clone().connection(outbound.clone(), tcp, source));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// The application sees ECONNRESET: never a clean EOF for a connection that went nowhere.
fn reset(tcp: &TcpStream) {
    let _ = tcp.set_zero_linger();
}
