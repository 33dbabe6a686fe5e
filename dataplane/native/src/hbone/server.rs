//! The HBONE server (`dataplane/hbone/src/server.ts`): terminates mutual TLS + HTTP/2 on one listener, asks
//! its owner what to do with each CONNECT, dials the target it is given and splices the stream to it.
//! Answers (DESIGN §7, §8): non-CONNECT or a bad authority 400, denied 401, decision failure or target
//! unreachable 503, otherwise 200 and the bytes.
use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use h2::server::SendResponse;
use http::{Request, Response, StatusCode};
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::dial::{DialOptions, dial};
use super::headers::{ConnectHeaders, InboundRequest, parse_inbound};
use super::settings::{self, CONNECT_TIMEOUT};
use super::splice::tcp_with_stream;
use super::stats::{Open, ServerStats, add, spliced};
use super::tls::{ALPN_H2, peer_identity};

/// Facts about one inbound CONNECT, for the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// SPIFFE id of the client certificate (for a waypoint hop, the waypoint's).
    pub peer_identity: String,
    /// TCP peer of the HBONE connection.
    pub peer: SocketAddr,
    /// Local address the connection arrived on (which pod's listener).
    pub local: SocketAddr,
    /// `:authority`, the original destination.
    pub authority: SocketAddr,
    pub headers: ConnectHeaders,
}

/// The owner's answer to a CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Dial `target` as `dial` says; 200 and splice on success, 503 on failure.
    Allow { target: SocketAddr, dial: DialOptions },
    /// Denied by policy: 401.
    Deny,
    /// Nothing to deliver to: 503.
    Unavailable,
}

pub type DecisionFuture = Pin<Box<dyn Future<Output = Result<Verdict, String>> + Send>>;
/// The decision; an error is answered 503 (as the TypeScript server answers a throwing `onConnect`).
pub type Decide = Arc<dyn Fn(Inbound) -> DecisionFuture + Send + Sync>;

pub struct Server {
    tls: RwLock<Arc<ServerConfig>>,
    /// Taken on `close`, so a closed server holds no reference into JavaScript.
    decide: RwLock<Option<Decide>>,
    pub stats: ServerStats,
    stop: CancellationToken,
    pub local: SocketAddr,
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read().unwrap_or_else(|p| p.into_inner()).clone()
}

impl Server {
    /// Starts accepting on `listener` (already listening). Must run inside the runtime.
    pub fn start(
        listener: TcpListener,
        tls: Arc<ServerConfig>,
        decide: Decide,
    ) -> std::io::Result<Arc<Server>> {
        let server = Arc::new(Server {
            tls: RwLock::new(tls),
            decide: RwLock::new(Some(decide)),
            stats: ServerStats::default(),
            stop: CancellationToken::new(),
            local: listener.local_addr()?,
        });
        tokio::spawn(server.clone().accept_loop(listener));
        Ok(server)
    }

    /// New connections present this from now on; open ones keep what they negotiated.
    pub fn set_tls(&self, tls: Arc<ServerConfig>) {
        *self.tls.write().unwrap_or_else(|p| p.into_inner()) = tls;
    }

    /// Stops accepting and tears down every connection (its streams are reset, their targets get an RST).
    pub fn close(&self) {
        self.decide.write().unwrap_or_else(|p| p.into_inner()).take();
        self.stop.cancel();
    }

    async fn accept_loop(self: Arc<Self>, listener: TcpListener) {
        loop {
            let accepted = tokio::select! {
                () = self.stop.cancelled() => return,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((tcp, peer)) => {
                    add(&self.stats.connections_accepted, 1);
                    tokio::spawn(self.clone().connection(tcp, peer));
                }
                // EMFILE and the like: back off briefly rather than spin.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            }
        }
    }

    async fn connection(self: Arc<Self>, tcp: TcpStream, peer: SocketAddr) {
        let _open = Open::new(&self.stats.connections_open);
        tokio::select! {
            () = self.stop.cancelled() => {}
            () = self.serve(tcp, peer) => {}
        }
    }

    async fn serve(self: &Arc<Self>, tcp: TcpStream, peer: SocketAddr) {
        let _ = tcp.set_nodelay(true);
        let local = tcp.local_addr().unwrap_or(self.local);
        let acceptor = TlsAcceptor::from(read(&self.tls));
        let tls = match tokio::time::timeout(CONNECT_TIMEOUT, acceptor.accept(tcp)).await {
            Ok(Ok(tls)) => tls,
            _ => return add(&self.stats.handshake_failures, 1),
        };
        let (_, session) = tls.get_ref();
        // A client that did not pick h2 is not an HBONE client.
        if session.alpn_protocol() != Some(ALPN_H2) {
            return add(&self.stats.alpn_failures, 1);
        }
        // The chain verified but must also name exactly one workload.
        let Ok(identity) = peer_identity(session.peer_certificates()) else {
            return add(&self.stats.identity_failures, 1);
        };
        let Ok(mut h2) = settings::server_builder().handshake::<_, Bytes>(tls).await else {
            return;
        };
        // Accepting also drives the connection: it runs until the peer goes away, for every stream's sake.
        while let Some(Ok((request, respond))) = h2.accept().await {
            let stream = Stream {
                identity: identity.clone(),
                peer,
                local,
            };
            tokio::spawn(self.clone().stream(stream, request, respond));
        }
    }

    async fn stream(
        self: Arc<Self>,
        at: Stream,
        request: Request<h2::RecvStream>,
        mut respond: SendResponse<Bytes>,
    ) {
        add(&self.stats.streams_total, 1);
        let _open = Open::new(&self.stats.streams_open);
        let has_protocol = request.extensions().get::<h2::ext::Protocol>().is_some();
        let parsed = parse_inbound(request.method(), request.uri(), has_protocol, request.headers());
        let (authority, headers) = match parsed {
            InboundRequest::Refuse { .. } => {
                add(&self.stats.refused_400, 1);
                return answer(&mut respond, StatusCode::BAD_REQUEST);
            }
            InboundRequest::Connect { authority, headers } => (authority, headers),
        };
        let inbound = Inbound {
            peer_identity: at.identity,
            peer: at.peer,
            local: at.local,
            authority,
            headers,
        };
        // Decide and dial, unless the client resets the stream meanwhile (then whatever was dialed goes too).
        let outcome = tokio::select! {
            outcome = self.decide_and_dial(inbound) => outcome,
            _ = poll_fn(|cx| respond.poll_reset(cx)) => return,
        };
        let upstream = match outcome {
            Ok(upstream) => upstream,
            Err(status) => {
                add(
                    if status == StatusCode::UNAUTHORIZED {
                        &self.stats.denied_401
                    } else {
                        &self.stats.failed_503
                    },
                    1,
                );
                return answer(&mut respond, status);
            }
        };
        let ok = Response::builder()
            .status(StatusCode::OK)
            .body(())
            .unwrap_or_default();
        let Ok(send) = respond.send_response(ok, false) else {
            return;
        };
        add(&self.stats.spliced, 1);
        let result = tcp_with_stream(&upstream, send, request.into_body()).await;
        spliced(
            &result,
            &self.stats.bytes_out,
            &self.stats.bytes_in,
            &self.stats.resets,
        );
    }

    async fn decide_and_dial(&self, inbound: Inbound) -> Result<TcpStream, StatusCode> {
        let decide = read(&self.decide).ok_or(StatusCode::SERVICE_UNAVAILABLE)?;
        match decide(inbound).await {
            Ok(Verdict::Allow {
                target,
                dial: options,
            }) => dial(target, &options, CONNECT_TIMEOUT)
                .await
                .map_err(|_| StatusCode::SERVICE_UNAVAILABLE),
            Ok(Verdict::Deny) => Err(StatusCode::UNAUTHORIZED),
            Ok(Verdict::Unavailable) | Err(_) => Err(StatusCode::SERVICE_UNAVAILABLE),
        }
    }
}

struct Stream {
    identity: String,
    peer: SocketAddr,
    local: SocketAddr,
}

fn answer(respond: &mut SendResponse<Bytes>, status: StatusCode) {
    let response = Response::builder().status(status).body(()).unwrap_or_default();
    let _ = respond.send_response(response, true);
}
