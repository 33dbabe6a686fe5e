//! The HBONE server (`dataplane/hbone/src/server.ts`): terminates mutual TLS + HTTP/2 on one listener, asks
//! its owner what to do with each CONNECT, dials the target it is given and splices the stream to it.
//! Answers (DESIGN §7, §8): non-CONNECT or a bad authority 400, denied 401, decision failure or target
//! unreachable 503, otherwise 200 and the bytes.
//!
//! Every CONNECT that reaches a decision is tracked (`track`): its id goes to the decision, `close_connection`
//! resets it, and its end is reported. `drain` stops accepting and sends GOAWAY on every connection, so clients
//! open new streams elsewhere while open ones finish; the server closes itself when its last connection ends.
use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use h2::server::SendResponse;
use h2::{Reason, RecvStream};
use http::{Request, Response, StatusCode};
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::dial::{DialOptions, dial};
use super::headers::{ConnectHeaders, InboundRequest, parse_inbound};
use super::settings::{self, CONNECT_TIMEOUT};
use super::splice::{CLOSED_BY_PROXY, tcp_with_stream};
use super::stats::{Open, ServerStats, add, spliced};
use super::tls::{ALPN_H2, peer_identity};
use super::track::{Report, Tracked, Tracker};

/// Facts about one inbound CONNECT, for the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// The stream's id for `close_connection` and in its report.
    pub id: u64,
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
    /// None until the owner has material: until then every handshake is refused (fail closed).
    tls: RwLock<Option<Arc<ServerConfig>>>,
    /// Taken on `close`, so a closed server holds no reference into JavaScript.
    decide: RwLock<Option<Decide>>,
    pub stats: ServerStats,
    /// Stops accepting and sends GOAWAY on every connection.
    drain: CancellationToken,
    /// Tears down every connection and stream.
    stop: CancellationToken,
    tracker: Arc<Tracker>,
    pub local: SocketAddr,
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read().unwrap_or_else(|p| p.into_inner()).clone()
}

impl Server {
    /// Starts accepting on `listener` (already listening). Must run inside the runtime.
    pub fn start(
        listener: TcpListener,
        tls: Option<Arc<ServerConfig>>,
        decide: Decide,
        report: Option<Report>,
    ) -> std::io::Result<Arc<Server>> {
        let stop = CancellationToken::new();
        let server = Arc::new(Server {
            tls: RwLock::new(tls),
            decide: RwLock::new(Some(decide)),
            stats: ServerStats::default(),
            drain: stop.child_token(),
            tracker: Tracker::new(stop.clone(), report, false),
            stop,
            local: listener.local_addr()?,
        });
        tokio::spawn(server.clone().accept_loop(listener));
        Ok(server)
    }

    /// New connections present this from now on; open ones keep what they negotiated.
    pub fn set_tls(&self, tls: Arc<ServerConfig>) {
        *self.tls.write().unwrap_or_else(|p| p.into_inner()) = Some(tls);
    }

    /// Stops accepting and tears down every connection (its streams are reset, their targets get an RST).
    pub fn close(&self) {
        self.decide.write().unwrap_or_else(|p| p.into_inner()).take();
        self.stop.cancel();
    }

    /// Stops accepting and asks every client to go elsewhere (GOAWAY); open streams go on, and the server
    /// closes once the last connection has ended.
    pub fn drain(&self) {
        self.drain.cancel();
        if self.stats.connections_open.load(Ordering::Acquire) == 0 {
            self.close();
        }
    }

    /// Resets one stream (by the id its decision was given); false when it is not open.
    pub fn close_connection(&self, id: u64) -> bool {
        self.tracker.close(id)
    }

    async fn accept_loop(self: Arc<Self>, listener: TcpListener) {
        loop {
            let accepted = tokio::select! {
                () = self.drain.cancelled() => return,
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
        let open = Open::new(&self.stats.connections_open);
        tokio::select! {
            () = self.stop.cancelled() => {}
            () = self.serve(tcp, peer) => {}
        }
        drop(open);
        if self.drain.is_cancelled() && self.stats.connections_open.load(Ordering::Acquire) == 0 {
            self.close();
        }
    }

    async fn serve(self: &Arc<Self>, tcp: TcpStream, peer: SocketAddr) {
        let _ = tcp.set_nodelay(true);
        let local = tcp.local_addr().unwrap_or(self.local);
        let Some(config) = read(&self.tls) else {
            return add(&self.stats.no_certificate, 1);
        };
        let acceptor = TlsAcceptor::from(config);
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
        // Accepting also drives the connection: it runs until the peer goes away, or after a GOAWAY until its
        // last stream ends, for every stream's sake.
        let mut draining = false;
        loop {
            let next = tokio::select! {
                next = h2.accept() => next,
                () = self.drain.cancelled(), if !draining => {
                    draining = true;
                    h2.graceful_shutdown();
                    continue;
                }
            };
            let Some(Ok((request, respond))) = next else {
                return;
            };
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
        request: Request<RecvStream>,
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
        let mut tracked = self.tracker.begin(&self.stop);
        let inbound = Inbound {
            id: tracked.id,
            peer_identity: at.identity,
            peer: at.peer,
            local: at.local,
            authority,
            headers,
        };
        let upstream = match self.decide_and_dial(inbound, &mut tracked, &mut respond).await {
            Ok(upstream) => upstream,
            Err(Some(status)) => {
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
            Err(None) => return,
        };
        let ok = Response::builder()
            .status(StatusCode::OK)
            .body(())
            .unwrap_or_default();
        let Ok(send) = respond.send_response(ok, false) else {
            return tracked.fail("the stream ended before the answer");
        };
        add(&self.stats.spliced, 1);
        let reset = tcp_with_stream(
            &upstream,
            send,
            request.into_body(),
            &tracked.flow,
            &tracked.cancel,
        )
        .await;
        let stats = &self.stats;
        spliced(
            &mut tracked,
            reset,
            &stats.bytes_out,
            &stats.bytes_in,
            &stats.resets,
        );
    }

    /// The decision always settles (track invariant 1); then the dial, unless the client resets the stream or
    /// the proxy closes it meanwhile (then whatever was dialed goes too). Err(None): the stream is already gone.
    async fn decide_and_dial(
        &self,
        inbound: Inbound,
        tracked: &mut Tracked,
        respond: &mut SendResponse<Bytes>,
    ) -> Result<TcpStream, Option<StatusCode>> {
        let verdict = match read(&self.decide) {
            Some(decide) => decide(inbound).await,
            None => Err("the server is closed".into()),
        };
        let (target, options) = match verdict {
            Ok(Verdict::Allow { target, dial }) => (target, dial),
            Ok(Verdict::Deny) => {
                tracked.fail("denied");
                return Err(Some(StatusCode::UNAUTHORIZED));
            }
            Ok(Verdict::Unavailable) => {
                tracked.fail("unavailable");
                return Err(Some(StatusCode::SERVICE_UNAVAILABLE));
            }
            Err(e) => {
                tracked.fail(format!("decision failed: {e}"));
                return Err(Some(StatusCode::SERVICE_UNAVAILABLE));
            }
        };
        let cancel = tracked.cancel.clone();
        let dialed = tokio::select! {
            dialed = dial(target, &options, CONNECT_TIMEOUT) => Dialed::Done(dialed),
            _ = poll_fn(|cx| respond.poll_reset(cx)) => Dialed::ResetByClient,
            () = cancel.cancelled() => Dialed::Closed,
        };
        match dialed {
            Dialed::Done(Ok(upstream)) => Ok(upstream),
            Dialed::Done(Err(e)) => {
                tracked.fail(e);
                Err(Some(StatusCode::SERVICE_UNAVAILABLE))
            }
            Dialed::ResetByClient => {
                tracked.fail("the client reset the stream");
                Err(None)
            }
            Dialed::Closed => {
                respond.send_reset(Reason::CONNECT_ERROR);
                tracked.fail(CLOSED_BY_PROXY);
                Err(None)
            }
        }
    }
}

enum Dialed {
    Done(Result<TcpStream, String>),
    ResetByClient,
    Closed,
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
