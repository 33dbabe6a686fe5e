//! The client pool: CONNECT streams share one TLS + HTTP/2 connection per key (DESIGN §7: source identity,
//! destination identities, source IP, destination), up to 100 streams each; past that another connection
//! opens. A connection that carried no stream for the idle timeout is closed.
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use h2::client::SendRequest;
use http::{Request, StatusCode};
use rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;

use super::dial::{DialOptions, dial};
use super::identity::IdentityError;
use super::settings;
use super::stats::{ClientStats, add, sub};
use super::tls::{ALPN_H2, WorkloadTls, identity_failure};

/// Two requests share a connection iff their keys are equal. Sharing across source identities would present
/// the wrong certificate; across destination identities would skip a SAN check; across source IPs would make
/// traffic leave from the wrong pod. Istio keys on the destination IP alone (the port is always 15008); we
/// keep the port, and the netns and mark the connection is dialed with: strictly finer, never wider.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolKey {
    pub source_identity: String,
    /// Sorted and deduplicated: order does not matter.
    pub destination_identities: Vec<String>,
    pub source_ip: Option<IpAddr>,
    pub proxy: SocketAddr,
    pub netns: Option<String>,
    pub mark: Option<u32>,
}

impl PoolKey {
    pub fn new(
        source_identity: &str,
        destination_identities: &[String],
        proxy: SocketAddr,
        dial: &DialOptions,
    ) -> PoolKey {
        let mut identities = destination_identities.to_vec();
        identities.sort();
        identities.dedup();
        PoolKey {
            source_identity: source_identity.to_owned(),
            destination_identities: identities,
            source_ip: dial.source.map(IpAddr::V4),
            proxy,
            netns: dial.netns.clone(),
            mark: dial.mark,
        }
    }

    fn dial_options(&self) -> DialOptions {
        DialOptions {
            netns: self.netns.clone(),
            mark: self.mark,
            source: match self.source_ip {
                Some(IpAddr::V4(v4)) => Some(v4),
                _ => None,
            },
            transparent_source: None,
        }
    }
}

/// Why a CONNECT could not be opened; each maps to an `ERR_HBONE_*` code of the TypeScript client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    Dial(String),
    Timeout,
    Tls(String),
    Identity(IdentityError),
    Alpn,
    Session(String),
    Status(u16),
    Closed,
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Dial(e) => write!(f, "dial: {e}"),
            ConnectError::Timeout => write!(f, "connect timed out"),
            ConnectError::Tls(e) => write!(f, "tls: {e}"),
            ConnectError::Identity(e) => write!(f, "identity: {e}"),
            ConnectError::Alpn => write!(f, "the peer did not agree on ALPN h2"),
            ConnectError::Session(e) => write!(f, "http/2: {e}"),
            ConnectError::Status(s) => write!(f, "CONNECT answered {s}"),
            ConnectError::Closed => write!(f, "the client is closed"),
        }
    }
}

struct Connection {
    id: u64,
    send: SendRequest<Bytes>,
    streams: AtomicUsize,
    /// Set by the driver when the connection is gone, and when a request on it fails.
    dead: AtomicBool,
    idle_since: Mutex<Instant>,
    stop: CancellationToken,
}

/// Holds a stream's slot; dropping it frees the slot.
pub struct Slot {
    connection: Arc<Connection>,
    pool: Weak<Pool>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        // The time first: the sweeper must never see the connection idle with an old time.
        *lock(&self.connection.idle_since) = Instant::now();
        self.connection.streams.fetch_sub(1, Ordering::AcqRel);
        if let Some(pool) = self.pool.upgrade() {
            sub(&pool.stats.streams_open, 1);
        }
    }
}

/// An open CONNECT stream that the server answered 200.
pub struct Opened {
    pub send: h2::SendStream<Bytes>,
    pub recv: h2::RecvStream,
    pub slot: Slot,
}

pub struct Pool {
    connections: Mutex<HashMap<PoolKey, Vec<Arc<Connection>>>>,
    /// One opener per key at a time, so a burst of requests shares the first new connection.
    openers: Mutex<HashMap<PoolKey, Arc<tokio::sync::Mutex<()>>>>,
    next_id: AtomicU64,
    max_streams: usize,
    idle_timeout: Duration,
    connect_timeout: Duration,
    pub stats: Arc<ClientStats>,
    stop: CancellationToken,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Pool {
    /// Must run inside the runtime (it starts the idle sweeper).
    pub fn new(
        max_streams: usize,
        idle_timeout: Duration,
        connect_timeout: Duration,
        stats: Arc<ClientStats>,
    ) -> Arc<Pool> {
        let pool = Arc::new(Pool {
            connections: Mutex::default(),
            openers: Mutex::default(),
            next_id: AtomicU64::new(0),
            max_streams: max_streams.max(1),
            idle_timeout,
            connect_timeout,
            stats,
            stop: CancellationToken::new(),
        });
        tokio::spawn(sweep(Arc::downgrade(&pool), pool.stop.clone(), idle_timeout));
        pool
    }

    /// Opens a CONNECT stream on a pooled connection (opening one if none has room) and waits for the answer.
    pub async fn connect(
        self: &Arc<Self>,
        key: &PoolKey,
        tls: &WorkloadTls,
        request: impl Fn() -> Request<()>,
    ) -> Result<Opened, ConnectError> {
        // A pooled connection may have died since it was last used; one retry goes to a fresh one.
        for attempt in 0..2 {
            let slot = self.slot(key, tls).await?;
            match self.request(&slot, request()).await {
                Err(ConnectError::Session(_))
                    if attempt == 0 && slot.connection.dead.load(Ordering::Acquire) =>
                {
                    continue;
                }
                result => return result.map(|(send, recv)| Opened { send, recv, slot }),
            }
        }
        Err(ConnectError::Session("connection lost twice".into()))
    }

    async fn request(
        &self,
        slot: &Slot,
        request: Request<()>,
    ) -> Result<(h2::SendStream<Bytes>, h2::RecvStream), ConnectError> {
        let connection = &slot.connection;
        let lost = |e: h2::Error| {
            connection.dead.store(true, Ordering::Release);
            ConnectError::Session(e.to_string())
        };
        let mut sender = connection.send.clone().ready().await.map_err(lost)?;
        let (response, send) = sender.send_request(request, false).map_err(lost)?;
        let response = response.await.map_err(|e| ConnectError::Session(e.to_string()))?;
        if response.status() != StatusCode::OK {
            return Err(ConnectError::Status(response.status().as_u16()));
        }
        Ok((send, response.into_body()))
    }

    fn checkout(self: &Arc<Self>, key: &PoolKey) -> Option<Slot> {
        let connections = lock(&self.connections);
        let connection = connections.get(key)?.iter().find(|c| {
            !c.dead.load(Ordering::Acquire)
                && c.streams
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                        (n < self.max_streams).then_some(n + 1)
                    })
                    .is_ok()
        })?;
        add(&self.stats.streams_open, 1);
        Some(Slot {
            connection: connection.clone(),
            pool: Arc::downgrade(self),
        })
    }

    async fn slot(self: &Arc<Self>, key: &PoolKey, tls: &WorkloadTls) -> Result<Slot, ConnectError> {
        if self.stop.is_cancelled() {
            return Err(ConnectError::Closed);
        }
        if let Some(slot) = self.checkout(key) {
            return Ok(slot);
        }
        let opener = lock(&self.openers).entry(key.clone()).or_default().clone();
        let _opening = opener.lock().await;
        if let Some(slot) = self.checkout(key) {
            return Ok(slot);
        }
        let connection = self.open(key, tls).await;
        if connection.is_err() {
            add(&self.stats.connection_failures, 1);
        }
        let connection = connection?;
        connection.streams.store(1, Ordering::Release);
        add(&self.stats.streams_open, 1);
        lock(&self.connections)
            .entry(key.clone())
            .or_default()
            .push(connection.clone());
        Ok(Slot {
            connection,
            pool: Arc::downgrade(self),
        })
    }

    async fn open(
        self: &Arc<Self>,
        key: &PoolKey,
        tls: &WorkloadTls,
    ) -> Result<Arc<Connection>, ConnectError> {
        let config = tls
            .client_config(&key.destination_identities)
            .map_err(|e| ConnectError::Tls(e.0))?;
        let attempt = async {
            let tcp = dial(key.proxy, &key.dial_options(), self.connect_timeout)
                .await
                .map_err(ConnectError::Dial)?;
            // The name is not checked (SPIFFE ids are) and not sent (no SNI for an IP).
            let name = ServerName::IpAddress(key.proxy.ip().into());
            let tls = TlsConnector::from(config).connect(name, tcp).await.map_err(|e| {
                let failure = e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                    .and_then(identity_failure)
                    .cloned();
                match failure {
                    Some(identity) => ConnectError::Identity(identity),
                    None => ConnectError::Tls(e.to_string()),
                }
            })?;
            if tls.get_ref().1.alpn_protocol() != Some(ALPN_H2) {
                return Err(ConnectError::Alpn);
            }
            settings::client_builder()
                .handshake::<_, Bytes>(tls)
                .await
                .map_err(|e| ConnectError::Session(e.to_string()))
        };
        let (send, driver) = tokio::time::timeout(self.connect_timeout, attempt)
            .await
            .map_err(|_| ConnectError::Timeout)??;
        let connection = Arc::new(Connection {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            send,
            streams: AtomicUsize::new(0),
            dead: AtomicBool::new(false),
            idle_since: Mutex::new(Instant::now()),
            stop: self.stop.child_token(),
        });
        add(&self.stats.connections_opened, 1);
        add(&self.stats.connections_open, 1);
        let (pool, key, conn) = (Arc::downgrade(self), key.clone(), connection.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = driver => {}
                () = conn.stop.cancelled() => {}
            }
            conn.dead.store(true, Ordering::Release);
            if let Some(pool) = pool.upgrade() {
                sub(&pool.stats.connections_open, 1);
                pool.forget(&key, conn.id);
            }
        });
        Ok(connection)
    }

    fn forget(&self, key: &PoolKey, id: u64) {
        let mut connections = lock(&self.connections);
        if let Some(list) = connections.get_mut(key) {
            list.retain(|c| c.id != id);
            if list.is_empty() {
                connections.remove(key);
                lock(&self.openers).remove(key);
            }
        }
    }

    /// Closes idle connections: dropping the pool's handle lets h2 send GOAWAY and end once no stream uses it.
    fn sweep_idle(&self, now: Instant) {
        let mut connections = lock(&self.connections);
        for list in connections.values_mut() {
            list.retain(|c| {
                let idle = c.streams.load(Ordering::Acquire) == 0
                    && now.duration_since(*lock(&c.idle_since)) >= self.idle_timeout;
                if idle {
                    c.stop.cancel();
                }
                !idle
            });
        }
        connections.retain(|_, list| !list.is_empty());
    }

    /// Pooled connections and open streams.
    pub fn size(&self) -> (usize, usize) {
        let connections = lock(&self.connections);
        let streams = connections
            .values()
            .flatten()
            .map(|c| c.streams.load(Ordering::Acquire))
            .sum();
        (connections.values().map(Vec::len).sum(), streams)
    }

    /// Tears down every connection and refuses new requests.
    pub fn close(&self) {
        self.stop.cancel();
        lock(&self.connections).clear();
    }
}

async fn sweep(pool: Weak<Pool>, stop: CancellationToken, idle_timeout: Duration) {
    let every = (idle_timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(5));
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        match pool.upgrade() {
            Some(pool) => pool.sweep_idle(Instant::now()),
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(identities: &[&str], source: Option<&str>, proxy: &str) -> PoolKey {
        let identities: Vec<String> = identities.iter().map(|i| (*i).to_owned()).collect();
        let dial = DialOptions {
            source: source.map(|s| s.parse().unwrap()),
            ..DialOptions::default()
        };
        PoolKey::new(
            "spiffe://td/ns/a/sa/x",
            &identities,
            proxy.parse().unwrap(),
            &dial,
        )
    }

    #[test]
    fn identity_order_and_repeats_do_not_split_the_pool() {
        assert_eq!(
            key(&["spiffe://b", "spiffe://a"], None, "10.0.0.1:15008"),
            key(
                &["spiffe://a", "spiffe://b", "spiffe://a"],
                None,
                "10.0.0.1:15008"
            )
        );
    }

    #[test]
    fn every_part_of_the_key_separates() {
        let base = key(&["spiffe://a"], Some("10.0.0.5"), "10.0.0.1:15008");
        let other_source = PoolKey {
            source_identity: "spiffe://td/ns/a/sa/y".into(),
            ..base.clone()
        };
        for different in [
            key(&["spiffe://b"], Some("10.0.0.5"), "10.0.0.1:15008"),
            key(&["spiffe://a", "spiffe://b"], Some("10.0.0.5"), "10.0.0.1:15008"),
            key(&["spiffe://a"], Some("10.0.0.6"), "10.0.0.1:15008"),
            key(&["spiffe://a"], None, "10.0.0.1:15008"),
            key(&["spiffe://a"], Some("10.0.0.5"), "10.0.0.2:15008"),
            key(&["spiffe://a"], Some("10.0.0.5"), "10.0.0.1:15009"),
            other_source,
            PoolKey {
                netns: Some("/run/netns/x".into()),
                ..base.clone()
            },
            PoolKey {
                mark: Some(0x539),
                ..base.clone()
            },
        ] {
            assert_ne!(base, different);
        }
    }

    #[test]
    fn a_key_dials_as_it_was_made() {
        let dial = DialOptions {
            netns: Some("/run/netns/p".into()),
            mark: Some(0x539),
            source: Some("10.0.0.5".parse().unwrap()),
            transparent_source: None,
        };
        let key = PoolKey::new(
            "spiffe://s",
            &["spiffe://d".into()],
            "10.0.0.1:15008".parse().unwrap(),
            &dial,
        );
        assert_eq!(key.dial_options(), dial);
    }
}
