//! The HBONE client side: a native outbound listener whose accepted connections are tunnelled as JavaScript
//! decides, one question per connection (original destination → plan), then carried without JavaScript: a
//! CONNECT stream on a pooled mutual-TLS HTTP/2 connection (`dataplane/hbone/src/client.ts`), a plain TCP
//! passthrough, or a reset.
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::dial::{DialOptions, dial};
use super::headers::{ConnectHeaders, connect_request, format_forwarded_for};
use super::pool::{ConnectError, Pool, PoolKey};
use super::splice::{tcp_with_stream, tcp_with_tcp};
use super::stats::{ClientStats, add, spliced};
use super::tls::WorkloadTls;
use crate::socket::original_dst::original_destination;

/// Facts about one accepted outbound connection, for the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
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
    connect_timeout: Duration,
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read().unwrap_or_else(|p| p.into_inner()).clone()
}

impl Client {
    /// Must run inside the runtime.
    pub fn new(options: ClientOptions) -> Arc<Client> {
        let stats = Arc::new(ClientStats::default());
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
            stop: CancellationToken::new(),
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

    /// Tears down every listener, connection and stream of this client.
    pub fn close(&self) {
        let listeners = std::mem::take(&mut *self.listeners.lock().unwrap_or_else(|p| p.into_inner()));
        for listener in listeners.iter().filter_map(Weak::upgrade) {
            listener.close();
        }
        self.stop.cancel();
        self.pool.close();
    }

    /// Starts accepting on `listener` (already listening). Must run inside the runtime.
    pub fn listen(self: &Arc<Self>, listener: TcpListener, decide: Decide) -> std::io::Result<Arc<Listener>> {
        let outbound = Arc::new(Listener {
            decide: RwLock::new(Some(decide)),
            stop: self.stop.child_token(),
            local: listener.local_addr()?,
        });
        let mut listeners = self.listeners.lock().unwrap_or_else(|p| p.into_inner());
        listeners.retain(|l| l.strong_count() > 0);
        listeners.push(Arc::downgrade(&outbound));
        tokio::spawn(accept_loop(self.clone(), outbound.clone(), listener));
        Ok(outbound)
    }

    /// One accepted connection, until it ends or its listener closes (then it is reset).
    async fn connection(self: Arc<Self>, outbound: Arc<Listener>, tcp: TcpStream, source: SocketAddr) {
        add(&self.stats.accepted, 1);
        let stop = outbound.stop.clone();
        tokio::select! {
            () = stop.cancelled() => reset(&tcp),
            () = self.carry(&outbound, &tcp, source) => {}
        }
    }

    async fn carry(&self, outbound: &Listener, tcp: &TcpStream, source: SocketAddr) {
        let _ = tcp.set_nodelay(true);
        let local = tcp.local_addr().unwrap_or(outbound.local);
        let destination = original_destination(tcp.as_raw_fd())
            .map(SocketAddr::V4)
            .unwrap_or(local);
        let plan = match read(&outbound.decide) {
            Some(decide) => decide(Outbound {
                source,
                destination,
                local,
            })
            .await
            .unwrap_or(Plan::Refuse),
            None => Plan::Refuse,
        };
        match plan {
            Plan::Refuse => {
                add(&self.stats.refused, 1);
                reset(tcp);
            }
            Plan::Passthrough {
                target,
                dial: options,
            } => {
                let Ok(upstream) = dial(target, &options, self.connect_timeout).await else {
                    add(&self.stats.failed, 1);
                    return reset(tcp);
                };
                add(&self.stats.passthrough, 1);
                let result = tcp_with_tcp(tcp, &upstream).await;
                spliced(
                    &result,
                    &self.stats.bytes_out,
                    &self.stats.bytes_in,
                    &self.stats.resets,
                );
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
                match self
                    .open(
                        proxy,
                        authority,
                        &source_identity,
                        &identities,
                        &options,
                        &headers,
                    )
                    .await
                {
                    Ok(opened) => {
                        add(&self.stats.hbone, 1);
                        let result = tcp_with_stream(tcp, opened.send, opened.recv).await;
                        drop(opened.slot);
                        spliced(
                            &result,
                            &self.stats.bytes_out,
                            &self.stats.bytes_in,
                            &self.stats.resets,
                        );
                    }
                    Err(_) => {
                        add(&self.stats.failed, 1);
                        reset(tcp);
                    }
                }
            }
        }
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
    stop: CancellationToken,
    pub local: SocketAddr,
}

impl Listener {
    /// Stops accepting and resets the connections it accepted.
    pub fn close(&self) {
        self.decide.write().unwrap_or_else(|p| p.into_inner()).take();
        self.stop.cancel();
    }
}

async fn accept_loop(client: Arc<Client>, outbound: Arc<Listener>, listener: TcpListener) {
    loop {
        let accepted = tokio::select! {
            () = outbound.stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((tcp, source)) => {
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
