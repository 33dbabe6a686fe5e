//! The JavaScript surface of the HBONE byte path (`hbone/`). Plain data crosses: PEM material and listener
//! options in; one decision per new connection out, through a threadsafe function whose promise resolves to
//! a verdict or a plan; close reports back in batches; counters on request. `index.ts` is the typed wrapper
//! every caller uses.
use std::collections::HashMap;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use napi::Status;
use napi::bindgen_prelude::{FromNapiValue, JsValuesTupleIntoVec, Promise, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use rustls::ServerConfig;

use crate::error::{Code, NativeError};
use crate::hbone::client::{self, Client, ClientOptions, Plan};
use crate::hbone::dial::DialOptions;
use crate::hbone::headers::{ConnectHeaders, parse_address};
use crate::hbone::runtime::runtime;
use crate::hbone::server::{self, Server, Verdict};
use crate::hbone::settings;
use crate::hbone::tls::WorkloadTls;
use crate::hbone::track::{Closed, Report};
use crate::socket::{addr, listener};
use crate::{Endpoint, ListenerOptions};

/// A JavaScript function called with `T`, returning a promise of `R` (callee-handled errors off: it gets `T`
/// alone). Strong, so an open listener keeps Node running, as a `net.Server` does; `close` releases it.
type Callback<T, R> = ThreadsafeFunction<T, Promise<R>, T, Status, false>;

/// A JavaScript function called with batches of close reports; what it returns is ignored. Released once the
/// last connection of its server or client has been reported after `close`.
type Sink = ThreadsafeFunction<Vec<ClosedConnection>, Unknown<'static>, Vec<ClosedConnection>, Status, false>;

/// A decision of the byte path (`server::Decide`, `client::Decide`): one call into JavaScript per connection.
type Decision<I, O> = Arc<dyn Fn(I) -> Pin<Box<dyn Future<Output = Result<O, String>> + Send>> + Send + Sync>;

/// `callback` as a decision: `request` makes its argument, `answer` checks what its promise resolves to. A
/// throw, a rejection and an answer that does not check out are all errors (strings).
fn decision<I, T, R, O>(
    callback: Callback<T, R>,
    request: fn(I) -> T,
    answer: fn(R) -> Result<O, String>,
) -> Decision<I, O>
where
    I: 'static,
    T: JsValuesTupleIntoVec + Send + 'static,
    R: FromNapiValue + Send + 'static,
    O: 'static,
{
    let callback = Arc::new(callback);
    Arc::new(move |facts: I| {
        let callback = callback.clone();
        let argument = request(facts);
        Box::pin(async move {
            let promise = callback
                .call_async_catch(argument)
                .await
                .map_err(|e| e.to_string())?;
            answer(promise.await.map_err(|e| e.to_string())?)
        })
    })
}

/// One connection's end, as JavaScript hears it (`track::Closed`).
#[napi(object)]
pub struct ClosedConnection {
    pub id: i64,
    pub to_target: i64,
    pub from_target: i64,
    pub error: Option<String>,
    pub reset: Option<String>,
}

fn report(sink: Option<Sink>) -> Option<Report> {
    let sink = Arc::new(sink?);
    Some(Arc::new(move |batch: Vec<Closed>| {
        // Ids and byte counts stay far below 2^53, where a JavaScript number is exact.
        let batch = batch
            .into_iter()
            .map(|c| ClosedConnection {
                id: c.id as i64,
                to_target: c.to_target as i64,
                from_target: c.from_target as i64,
                error: c.error,
                reset: c.reset,
            })
            .collect();
        sink.call(batch, ThreadsafeFunctionCallMode::NonBlocking);
    }))
}

/// A workload's certificate and the roots it trusts, all PEM (`WorkloadTlsMaterial` of `@ambit/hbone`).
#[napi(object)]
pub struct TlsMaterial {
    pub cert: String,
    pub key: String,
    pub chain: Option<Vec<String>>,
    pub trust_bundle: Vec<String>,
}

fn workload(material: &TlsMaterial) -> napi::Result<WorkloadTls> {
    let chain = material.chain.as_deref().unwrap_or_default();
    WorkloadTls::from_pem(&material.cert, &material.key, chain, &material.trust_bundle)
        .map_err(|e| NativeError::new(Code::Tls, e.0).into())
}

fn server_config(material: &TlsMaterial) -> napi::Result<Arc<ServerConfig>> {
    workload(material)?
        .server_config()
        .map_err(|e| NativeError::new(Code::Tls, e.0).into())
}

fn address(text: &str, what: &str) -> Result<SocketAddr, String> {
    parse_address(text).ok_or_else(|| format!("{what} must be ip:port, got {text:?}"))
}

fn ipv4(text: Option<&str>) -> Result<Option<Ipv4Addr>, String> {
    text.map(|t| addr::ipv4(t).map_err(|e| e.to_string())).transpose()
}

/// An id from JavaScript; anything that is not one matches no connection.
fn connection_id(id: i64) -> u64 {
    u64::try_from(id).unwrap_or(0)
}

/// A listening socket (in a netns when asked), adopted by the runtime.
fn bind(options: &ListenerOptions) -> napi::Result<tokio::net::TcpListener> {
    let fd = listener::open(&crate::listen_request(options)?)?;
    let _inside = runtime().enter();
    tokio::net::TcpListener::from_std(std::net::TcpListener::from(fd))
        .map_err(|e| NativeError::new(Code::Listen, format!("adopt listener: {e}")).into())
}

fn endpoint(addr: SocketAddr) -> Endpoint {
    Endpoint {
        host: addr.ip().to_string(),
        port: addr.port().into(),
    }
}

/// `streams_open` → `streamsOpen`, as JavaScript names things.
fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn counters(pairs: Vec<(&'static str, u64)>) -> HashMap<String, f64> {
    // Counters stay far below 2^53, where a JavaScript number is exact.
    pairs
        .into_iter()
        .map(|(name, value)| (camel(name), value as f64))
        .collect()
}

// ---------------------------------------------------------------------------------------------- server

/// One inbound CONNECT, as the decision sees it.
#[napi(object)]
pub struct InboundConnect {
    pub id: i64,
    pub peer_identity: String,
    pub peer_address: String,
    pub local_address: String,
    pub authority: String,
    pub forwarded: Option<String>,
    pub baggage: Option<String>,
    pub traceparent: Option<String>,
}

fn inbound_connect(inbound: server::Inbound) -> InboundConnect {
    InboundConnect {
        id: inbound.id as i64,
        peer_identity: inbound.peer_identity,
        peer_address: inbound.peer.to_string(),
        local_address: inbound.local.to_string(),
        authority: inbound.authority.to_string(),
        forwarded: inbound.headers.forwarded,
        baggage: inbound.headers.baggage,
        traceparent: inbound.headers.traceparent,
    }
}

/// The decision's answer: 200 with a target to dial (and how), 401 or 503.
#[napi(object)]
pub struct InboundVerdict {
    pub status: u32,
    pub target: Option<String>,
    pub netns_path: Option<String>,
    pub mark: Option<u32>,
    pub transparent_source: Option<String>,
}

fn verdict(v: InboundVerdict) -> Result<Verdict, String> {
    match v.status {
        200 => Ok(Verdict::Allow {
            target: address(v.target.as_deref().unwrap_or(""), "target")?,
            dial: DialOptions {
                netns: v.netns_path,
                mark: v.mark,
                source: None,
                transparent_source: ipv4(v.transparent_source.as_deref())?,
            },
        }),
        401 => Ok(Verdict::Deny),
        503 => Ok(Verdict::Unavailable),
        other => Err(format!("status must be 200, 401 or 503, got {other}")),
    }
}

#[napi]
pub struct HboneServer {
    inner: Arc<Server>,
}

#[napi]
impl HboneServer {
    /// The certificate and trust bundle for connections accepted from now on.
    #[napi]
    pub fn set_tls(&self, tls: TlsMaterial) -> napi::Result<()> {
        self.inner.set_tls(server_config(&tls)?);
        Ok(())
    }

    /// Resets one stream, by the id its decision was given; false when it is not open.
    #[napi]
    pub fn close_connection(&self, id: i64) -> bool {
        self.inner.close_connection(connection_id(id))
    }

    /// Stops accepting and sends GOAWAY on every connection; closes itself after the last one.
    #[napi]
    pub fn drain(&self) {
        self.inner.drain();
    }

    /// Stops accepting, resets every stream and releases the decision function.
    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }

    #[napi(getter)]
    pub fn address(&self) -> Endpoint {
        endpoint(self.inner.local)
    }

    #[napi(ts_return_type = "Record<string, number>")]
    pub fn stats(&self) -> HashMap<String, f64> {
        counters(self.inner.stats.snapshot())
    }
}

/// An HBONE server on a new listener; without `tls` it refuses every handshake until `setTls`.
#[napi]
pub fn listen_hbone(
    options: ListenerOptions,
    tls: Option<TlsMaterial>,
    decide: Callback<InboundConnect, InboundVerdict>,
    on_closed: Option<Sink>,
) -> napi::Result<HboneServer> {
    let config = tls.as_ref().map(server_config).transpose()?;
    let listener = bind(&options)?;
    let decide = decision(decide, inbound_connect, verdict);
    let _inside = runtime().enter();
    let inner = Server::start(listener, config, decide, report(on_closed))
        .map_err(|e| NativeError::new(Code::Listen, format!("start server: {e}")))?;
    Ok(HboneServer { inner })
}

// ---------------------------------------------------------------------------------------------- client

#[napi(object)]
#[derive(Default)]
pub struct HboneClientOptions {
    pub max_streams_per_connection: Option<u32>,
    pub idle_timeout_ms: Option<u32>,
    pub connect_timeout_ms: Option<u32>,
}

/// One accepted outbound connection, as the decision sees it.
#[napi(object)]
pub struct OutboundConnect {
    pub id: i64,
    pub source_address: String,
    pub destination: String,
    pub local_address: String,
}

fn outbound_connect(outbound: client::Outbound) -> OutboundConnect {
    OutboundConnect {
        id: outbound.id as i64,
        source_address: outbound.source.to_string(),
        destination: outbound.destination.to_string(),
        local_address: outbound.local.to_string(),
    }
}

/// The decision's plan; `kind` says which fields apply.
#[napi(object)]
pub struct OutboundPlan {
    pub kind: String,
    pub proxy: Option<String>,
    pub authority: Option<String>,
    pub source_identity: Option<String>,
    pub identities: Option<Vec<String>>,
    pub target: Option<String>,
    pub netns_path: Option<String>,
    pub mark: Option<u32>,
    pub source_ip: Option<String>,
    pub transparent_source: Option<String>,
    pub forwarded: Option<String>,
    pub baggage: Option<String>,
    pub traceparent: Option<String>,
}

fn plan(p: OutboundPlan) -> Result<Plan, String> {
    let mut dial = DialOptions {
        netns: p.netns_path,
        mark: p.mark,
        source: ipv4(p.source_ip.as_deref())?,
        transparent_source: None,
    };
    match p.kind.as_str() {
        "hbone" => Ok(Plan::Hbone {
            proxy: address(p.proxy.as_deref().unwrap_or(""), "proxy")?,
            authority: address(p.authority.as_deref().unwrap_or(""), "authority")?,
            source_identity: p.source_identity.ok_or("sourceIdentity is required")?,
            identities: p.identities.unwrap_or_default(),
            dial,
            headers: ConnectHeaders {
                forwarded: p.forwarded,
                baggage: p.baggage,
                traceparent: p.traceparent,
            },
        }),
        // Only a passthrough may leave from a foreign address: it delivers into a pod as its caller.
        "passthrough" => {
            dial.transparent_source = ipv4(p.transparent_source.as_deref())?;
            Ok(Plan::Passthrough {
                target: address(p.target.as_deref().unwrap_or(""), "target")?,
                dial,
            })
        }
        "refuse" => Ok(Plan::Refuse),
        other => Err(format!(
            "kind must be hbone, passthrough or refuse, got {other:?}"
        )),
    }
}

#[napi]
pub struct HboneClient {
    inner: Arc<Client>,
}

#[napi]
impl HboneClient {
    #[napi(constructor)]
    pub fn new(options: Option<HboneClientOptions>, on_closed: Option<Sink>) -> Self {
        let options = options.unwrap_or_default();
        let ms = |v: Option<u32>, default: Duration| v.map_or(default, |ms| Duration::from_millis(ms.into()));
        let _inside = runtime().enter();
        let inner = Client::new(
            ClientOptions {
                max_streams_per_connection: options
                    .max_streams_per_connection
                    .map_or(settings::MAX_STREAMS_PER_CONNECTION as usize, |n| n as usize),
                idle_timeout: ms(options.idle_timeout_ms, settings::IDLE_TIMEOUT),
                connect_timeout: ms(options.connect_timeout_ms, settings::CONNECT_TIMEOUT),
            },
            report(on_closed),
        );
        HboneClient { inner }
    }

    /// The certificate presented as `identity` on connections opened from now on. Refused unless the
    /// certificate names exactly that SPIFFE id.
    #[napi]
    pub fn set_certificate(&self, identity: String, tls: TlsMaterial) -> napi::Result<()> {
        let workload = workload(&tls)?;
        if workload.identity != identity {
            return Err(NativeError::new(
                Code::Tls,
                format!("the certificate names {}, not {identity}", workload.identity),
            )
            .into());
        }
        self.inner.set_identity(workload);
        Ok(())
    }

    #[napi]
    pub fn remove_certificate(&self, identity: String) -> bool {
        self.inner.remove_identity(&identity)
    }

    /// A native outbound listener; each connection it accepts is carried as `decide`'s plan says.
    #[napi]
    pub fn listen_outbound(
        &self,
        options: ListenerOptions,
        decide: Callback<OutboundConnect, OutboundPlan>,
    ) -> napi::Result<OutboundListener> {
        let listener = bind(&options)?;
        let decide = decision(decide, outbound_connect, plan);
        let _inside = runtime().enter();
        let inner = self
            .inner
            .listen(listener, decide)
            .map_err(|e| NativeError::new(Code::Listen, format!("start outbound listener: {e}")))?;
        Ok(OutboundListener { inner })
    }

    /// Resets one connection, by the id its decision was given; false when it is not open.
    #[napi]
    pub fn close_connection(&self, id: i64) -> bool {
        self.inner.close_connection(connection_id(id))
    }

    #[napi(ts_return_type = "Record<string, number>")]
    pub fn stats(&self) -> HashMap<String, f64> {
        let mut stats = counters(self.inner.stats.snapshot());
        let (connections, streams) = self.inner.pool_size();
        stats.insert("pooledConnections".into(), connections as f64);
        stats.insert("pooledStreams".into(), streams as f64);
        stats
    }

    /// Every listener stops accepting; open connections go on.
    #[napi]
    pub fn drain(&self) {
        self.inner.drain();
    }

    /// Closes every listener, pooled connection and stream of this client.
    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }
}

#[napi]
pub struct OutboundListener {
    inner: Arc<client::Listener>,
}

#[napi]
impl OutboundListener {
    /// Stops accepting; open connections go on, and the listener closes after the last one.
    #[napi]
    pub fn drain(&self) {
        self.inner.drain();
    }

    /// Stops accepting, resets the connections it accepted and releases the decision function.
    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }

    #[napi(getter)]
    pub fn address(&self) -> Endpoint {
        endpoint(self.inner.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_plan(kind: &str) -> OutboundPlan {
        OutboundPlan {
            kind: kind.into(),
            proxy: None,
            authority: None,
            source_identity: None,
            identities: None,
            target: None,
            netns_path: None,
            mark: None,
            source_ip: None,
            transparent_source: None,
            forwarded: None,
            baggage: None,
            traceparent: None,
        }
    }

    #[test]
    fn counter_names_are_camel_case() {
        assert_eq!(camel("refused_400"), "refused400");
        assert_eq!(camel("connections_open"), "connectionsOpen");
    }

    #[test]
    fn plans_from_javascript_are_checked() {
        assert_eq!(plan(empty_plan("refuse")), Ok(Plan::Refuse));
        assert!(plan(empty_plan("hbone")).unwrap_err().contains("proxy"));
        assert!(plan(empty_plan("teleport")).unwrap_err().contains("teleport"));
        let hbone = plan(OutboundPlan {
            proxy: Some("10.0.0.2:15008".into()),
            authority: Some("10.0.0.2:80".into()),
            source_identity: Some("spiffe://td/ns/a/sa/b".into()),
            identities: Some(vec!["spiffe://td/ns/c/sa/d".into()]),
            source_ip: Some("10.0.0.1".into()),
            ..empty_plan("hbone")
        })
        .unwrap();
        let Plan::Hbone { proxy, dial, .. } = hbone else {
            panic!("not hbone: {hbone:?}");
        };
        assert_eq!(proxy, "10.0.0.2:15008".parse().unwrap());
        assert_eq!(dial.source, Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert!(
            plan(OutboundPlan {
                target: Some("10.0.0.9:80".into()),
                source_ip: Some("not-an-ip".into()),
                ..empty_plan("passthrough")
            })
            .is_err()
        );
    }

    #[test]
    fn verdicts_from_javascript_are_checked() {
        let v = |status: u32, target: Option<&str>| InboundVerdict {
            status,
            target: target.map(Into::into),
            netns_path: None,
            mark: None,
            transparent_source: None,
        };
        assert_eq!(verdict(v(401, None)), Ok(Verdict::Deny));
        assert_eq!(verdict(v(503, None)), Ok(Verdict::Unavailable));
        assert!(verdict(v(200, None)).is_err(), "allow needs a target");
        assert!(verdict(v(302, Some("10.0.0.1:80"))).is_err());
        assert!(matches!(
            verdict(v(200, Some("10.0.0.1:80"))),
            Ok(Verdict::Allow { .. })
        ));
    }
}
