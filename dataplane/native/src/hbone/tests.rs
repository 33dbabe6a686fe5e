//! The byte path end to end on loopback, without Node: a native client through a native server to TCP
//! targets, with the fixtures of `testdata/`. The decisions are Rust closures here; JavaScript's come through
//! `hbone_api` and are tested from Node (`src/hbone.test.ts`).
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::client::{Client, ClientOptions, Plan};
use super::dial::DialOptions;
use super::headers::ConnectHeaders;
use super::identity::IdentityError;
use super::identity::fixtures::*;
use super::pool::ConnectError;
use super::server::{Server, Verdict};
use super::settings;
use super::splice::CLOSED_BY_PROXY;
use super::tls::WorkloadTls;
use super::track::{Closed, Report};

fn workload((cert, key): (&str, &str)) -> WorkloadTls {
    WorkloadTls::from_pem(cert, key, &[], &[ROOT.to_owned()]).unwrap()
}

async fn loopback() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

/// Echoes every byte, and EOF as EOF; a read error (an RST) is reported on `errors`.
async fn echo_server(errors: tokio::sync::mpsc::UnboundedSender<std::io::ErrorKind>) -> SocketAddr {
    let listener = loopback().await;
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let errors = errors.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    match tcp.read(&mut buf).await {
                        Ok(0) => return tcp.shutdown().await.unwrap_or(()),
                        Ok(n) => {
                            if tcp.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                        Err(e) => return errors.send(e.kind()).unwrap_or(()),
                    }
                }
            });
        }
    });
    addr
}

/// A server that allows everything except port 1 (401) and dials the authority.
async fn hbone_server() -> Arc<Server> {
    let decide: super::server::Decide = Arc::new(|inbound| {
        Box::pin(async move {
            Ok(match inbound.authority.port() {
                1 => Verdict::Deny,
                _ => Verdict::Allow {
                    target: inbound.authority,
                    dial: DialOptions::default(),
                },
            })
        })
    });
    let config = workload(SERVER).server_config().unwrap();
    Server::start(loopback().await, Some(config), decide, None).unwrap()
}

fn client() -> Arc<Client> {
    reporting_client(None)
}

fn reporting_client(report: Option<Report>) -> Arc<Client> {
    let client = Client::new(
        ClientOptions {
            max_streams_per_connection: 100,
            idle_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
        },
        report,
    );
    client.set_identity(workload(SLEEP));
    client
}

/// A report that sends every close down a channel.
fn reports() -> (Report, tokio::sync::mpsc::UnboundedReceiver<Closed>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let report: Report = Arc::new(move |batch: Vec<Closed>| {
        for closed in batch {
            let _ = tx.send(closed);
        }
    });
    (report, rx)
}

async fn next_report(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Closed>) -> Closed {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a report within 5 s")
        .expect("the reporter is running")
}

/// An outbound listener that tunnels everything to `target` through `proxy`.
async fn outbound(client: &Arc<Client>, proxy: SocketAddr, target: SocketAddr, expect: &str) -> SocketAddr {
    let expect = expect.to_owned();
    let decide: super::client::Decide = Arc::new(move |_| {
        let expect = expect.clone();
        Box::pin(async move {
            Ok(Plan::Hbone {
                proxy,
                authority: target,
                source_identity: SLEEP_ID.into(),
                identities: vec![expect],
                dial: DialOptions::default(),
                headers: ConnectHeaders::default(),
            })
        })
    });
    client.listen(loopback().await, decide).unwrap().local
}

/// Polls `check` until it holds, for at most 5 s (DESIGN §8: deadlines polled, never sleeps).
async fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn stat(pairs: Vec<(&'static str, u64)>, name: &str) -> u64 {
    pairs.into_iter().find(|(n, _)| *n == name).unwrap().1
}

#[tokio::test]
async fn bytes_and_half_close_cross_both_ways() {
    let (errors, _seen) = tokio::sync::mpsc::unbounded_channel();
    let echo = echo_server(errors).await;
    let server = hbone_server().await;
    let client = client();
    let entry = outbound(&client, server.local, echo, SERVER_ID).await;

    for _ in 0..3 {
        let mut app = TcpStream::connect(entry).await.unwrap();
        let payload: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
        app.write_all(&payload).await.unwrap();
        app.shutdown().await.unwrap();
        let mut back = Vec::new();
        app.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, payload);
    }
    assert_eq!(
        stat(client.stats.snapshot(), "connections_opened"),
        1,
        "one pooled connection"
    );
    assert_eq!(stat(server.stats.snapshot(), "connections_accepted"), 1);
    assert_eq!(stat(server.stats.snapshot(), "streams_total"), 3);
}

#[tokio::test]
async fn an_application_reset_reaches_the_target_as_a_reset() {
    let (errors, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let echo = echo_server(errors).await;
    let server = hbone_server().await;
    let client = client();
    let entry = outbound(&client, server.local, echo, SERVER_ID).await;

    let mut app = TcpStream::connect(entry).await.unwrap();
    app.write_all(b"ping").await.unwrap();
    let mut four = [0u8; 4];
    app.read_exact(&mut four).await.unwrap();
    app.set_zero_linger().unwrap();
    drop(app);
    let kind = tokio::time::timeout(Duration::from_secs(5), seen.recv())
        .await
        .unwrap();
    assert_eq!(kind, Some(std::io::ErrorKind::ConnectionReset));
}

async fn open(
    client: &Client,
    proxy: SocketAddr,
    authority: SocketAddr,
    expect: &str,
) -> Result<(), ConnectError> {
    client
        .open(
            proxy,
            authority,
            SLEEP_ID,
            &[expect.to_owned()],
            &DialOptions::default(),
            &ConnectHeaders::default(),
        )
        .await
        .map(|_| ())
}

#[tokio::test]
async fn refusals_have_their_status_and_a_wrong_identity_fails_the_handshake() {
    let server = hbone_server().await;
    let client = client();
    // Nothing listens on a port just freed.
    let closed = loopback().await.local_addr().unwrap();
    let denied: SocketAddr = "127.0.0.1:1".parse().unwrap();
    assert_eq!(
        open(&client, server.local, denied, SERVER_ID).await,
        Err(ConnectError::Status(401))
    );
    assert_eq!(
        open(&client, server.local, closed, SERVER_ID).await,
        Err(ConnectError::Status(503))
    );
    let wrong = open(&client, server.local, closed, SLEEP_ID).await;
    assert!(
        matches!(&wrong, Err(ConnectError::Identity(IdentityError::Unexpected { actual, .. })) if actual == SERVER_ID),
        "{wrong:?}"
    );
}

#[tokio::test]
async fn a_request_that_is_not_connect_is_answered_400() {
    let server = hbone_server().await;
    let config = workload(SLEEP).client_config(&[SERVER_ID.into()]).unwrap();
    let tcp = TcpStream::connect(server.local).await.unwrap();
    let name = ServerName::IpAddress(server.local.ip().into());
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .unwrap();
    let (mut h2, driver) = settings::client_builder()
        .handshake::<_, Bytes>(tls)
        .await
        .unwrap();
    tokio::spawn(driver);
    let get = Request::get("https://127.0.0.1/").body(()).unwrap();
    h2 = h2.ready().await.unwrap();
    let (response, _) = h2.send_request(get, true).unwrap();
    assert_eq!(response.await.unwrap().status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_client_without_a_trusted_certificate_is_refused() {
    let server = hbone_server().await;
    let stranger = WorkloadTls::from_pem(STRANGER.0, STRANGER.1, &[], &[ROOT.to_owned()]).unwrap();
    let config = stranger.client_config(&[SERVER_ID.into()]).unwrap();
    let tcp = TcpStream::connect(server.local).await.unwrap();
    let name = ServerName::IpAddress(server.local.ip().into());
    // TLS 1.3: the client finishes first; the server's refusal arrives as an alert on the first read.
    let outcome = async {
        let mut tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await?;
        let mut byte = [0u8; 1];
        tls.read(&mut byte).await
    }
    .await;
    assert!(outcome.is_err() || outcome.is_ok_and(|n| n == 0));
    eventually("the refusal counted", || {
        stat(server.stats.snapshot(), "handshake_failures") == 1
    })
    .await;
}

#[tokio::test]
async fn an_idle_pooled_connection_is_closed_and_a_busy_one_is_not() {
    let (errors, _seen) = tokio::sync::mpsc::unbounded_channel();
    let echo = echo_server(errors).await;
    let server = hbone_server().await;
    let client = Client::new(
        ClientOptions {
            max_streams_per_connection: 100,
            idle_timeout: Duration::from_millis(100),
            connect_timeout: Duration::from_secs(5),
        },
        None,
    );
    client.set_identity(workload(SLEEP));
    let opened = client
        .open(
            server.local,
            echo,
            SLEEP_ID,
            &[SERVER_ID.into()],
            &DialOptions::default(),
            &ConnectHeaders::default(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(client.pool_size(), (1, 1), "a connection with a stream stays");
    drop(opened);
    eventually("the idle connection closed", || client.pool_size() == (0, 0)).await;
    // Closing it ends the server's side too.
    eventually("the server's side closed", || {
        stat(server.stats.snapshot(), "connections_open") == 0
    })
    .await;
}

/// A server like `hbone_server` that reports its closes and tells `ids` which stream ids it decided.
async fn reporting_server(
    report: Report,
    ids: tokio::sync::mpsc::UnboundedSender<u64>,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Arc<Server> {
    let decide: super::server::Decide = Arc::new(move |inbound| {
        let _ = ids.send(inbound.id);
        Box::pin(async move {
            Ok(Verdict::Allow {
                target: inbound.authority,
                dial: DialOptions::default(),
            })
        })
    });
    Server::start(loopback().await, tls, decide, Some(report)).unwrap()
}

/// An outbound listener like `outbound` that tells `ids` which connection ids it decided.
async fn outbound_with_ids(
    client: &Arc<Client>,
    proxy: SocketAddr,
    target: SocketAddr,
    ids: tokio::sync::mpsc::UnboundedSender<u64>,
) -> Arc<super::client::Listener> {
    let decide: super::client::Decide = Arc::new(move |outbound| {
        let _ = ids.send(outbound.id);
        Box::pin(async move {
            Ok(Plan::Hbone {
                proxy,
                authority: target,
                source_identity: SLEEP_ID.into(),
                identities: vec![SERVER_ID.into()],
                dial: DialOptions::default(),
                headers: ConnectHeaders::default(),
            })
        })
    });
    client.listen(loopback().await, decide).unwrap()
}

/// A reporting native client through a reporting native server to an echo target, and what each end reports.
struct Pair {
    server: Arc<Server>,
    server_closed: tokio::sync::mpsc::UnboundedReceiver<Closed>,
    server_decided: tokio::sync::mpsc::UnboundedReceiver<u64>,
    client: Arc<Client>,
    client_closed: tokio::sync::mpsc::UnboundedReceiver<Closed>,
    client_decided: tokio::sync::mpsc::UnboundedReceiver<u64>,
    /// The outbound listener's address.
    entry: SocketAddr,
    echo: SocketAddr,
    /// How the echo target's connections ended in errors.
    seen: tokio::sync::mpsc::UnboundedReceiver<std::io::ErrorKind>,
}

async fn pair() -> Pair {
    let (errors, seen) = tokio::sync::mpsc::unbounded_channel();
    let echo = echo_server(errors).await;
    let (server_report, server_closed) = reports();
    let (server_ids, server_decided) = tokio::sync::mpsc::unbounded_channel();
    let config = workload(SERVER).server_config().unwrap();
    let server = reporting_server(server_report, server_ids, Some(config)).await;
    let (client_report, client_closed) = reports();
    let client = reporting_client(Some(client_report));
    let (client_ids, client_decided) = tokio::sync::mpsc::unbounded_channel();
    let entry = outbound_with_ids(&client, server.local, echo, client_ids)
        .await
        .local;
    Pair {
        server,
        server_closed,
        server_decided,
        client,
        client_closed,
        client_decided,
        entry,
        echo,
        seen,
    }
}

#[tokio::test]
async fn each_connection_is_reported_once_with_its_bytes_each_way() {
    let Pair {
        server: _server,
        mut server_closed,
        mut server_decided,
        client,
        mut client_closed,
        mut client_decided,
        entry,
        echo,
        ..
    } = pair().await;

    let mut app = TcpStream::connect(entry).await.unwrap();
    app.write_all(&[7u8; 5000]).await.unwrap();
    app.shutdown().await.unwrap();
    let mut back = Vec::new();
    app.read_to_end(&mut back).await.unwrap();
    assert_eq!(back.len(), 5000);

    let on_client = next_report(&mut client_closed).await;
    assert_eq!(Some(on_client.id), client_decided.recv().await);
    assert_eq!((on_client.to_target, on_client.from_target), (5000, 5000));
    assert_eq!((on_client.error, on_client.reset), (None, None));
    let on_server = next_report(&mut server_closed).await;
    assert_eq!(Some(on_server.id), server_decided.recv().await);
    assert_ne!(on_server.id, on_client.id, "ids are unique in the process");
    assert_eq!((on_server.to_target, on_server.from_target), (5000, 5000));

    // A connection whose plan cannot be carried is reported with the reason.
    let unreachable = loopback().await.local_addr().unwrap();
    let (ids, _decided) = tokio::sync::mpsc::unbounded_channel();
    let entry = outbound_with_ids(&client, unreachable, echo, ids).await.local;
    let mut app = TcpStream::connect(entry).await.unwrap();
    let mut byte = [0u8; 1];
    assert!(app.read(&mut byte).await.is_err(), "reset");
    let failed = next_report(&mut client_closed).await;
    assert!(
        failed.error.as_deref().is_some_and(|e| e.contains("dial")),
        "{failed:?}"
    );
}

#[tokio::test]
async fn closing_a_connection_by_id_resets_both_ends() {
    let Pair {
        server,
        mut server_closed,
        mut server_decided,
        client,
        mut client_closed,
        mut client_decided,
        entry,
        mut seen,
        ..
    } = pair().await;

    // Closed by the client (the source ztunnel).
    let mut app = TcpStream::connect(entry).await.unwrap();
    app.write_all(b"ping").await.unwrap();
    let mut four = [0u8; 4];
    app.read_exact(&mut four).await.unwrap();
    let id = client_decided.recv().await.unwrap();
    assert!(client.close_connection(id));
    let mut rest = Vec::new();
    assert!(
        app.read_to_end(&mut rest).await.is_err(),
        "the application sees a reset"
    );
    let closed = next_report(&mut client_closed).await;
    assert_eq!((closed.id, closed.reset.as_deref()), (id, Some(CLOSED_BY_PROXY)));
    assert_eq!((closed.to_target, closed.from_target), (4, 4));
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), seen.recv())
            .await
            .unwrap(),
        Some(std::io::ErrorKind::ConnectionReset),
        "the target sees a reset"
    );
    assert!(!client.close_connection(id), "gone");
    let _ = next_report(&mut server_closed).await;
    let _ = server_decided.recv().await;

    // Closed by the server (the destination ztunnel, on a policy change).
    let mut app = TcpStream::connect(entry).await.unwrap();
    app.write_all(b"ping").await.unwrap();
    app.read_exact(&mut four).await.unwrap();
    let id = server_decided.recv().await.unwrap();
    assert!(server.close_connection(id));
    assert!(
        app.read_to_end(&mut rest).await.is_err(),
        "the application sees a reset"
    );
    assert_eq!(
        next_report(&mut server_closed).await.reset.as_deref(),
        Some(CLOSED_BY_PROXY)
    );
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), seen.recv())
            .await
            .unwrap(),
        Some(std::io::ErrorKind::ConnectionReset)
    );
}

#[tokio::test]
async fn a_draining_server_lets_open_streams_finish_and_then_closes() {
    let (errors, _seen) = tokio::sync::mpsc::unbounded_channel();
    let echo = echo_server(errors).await;
    let (report, mut closed) = reports();
    let (ids, _decided) = tokio::sync::mpsc::unbounded_channel();
    let server = reporting_server(report, ids, Some(workload(SERVER).server_config().unwrap())).await;
    let client = client();
    let entry = outbound(&client, server.local, echo, SERVER_ID).await;

    let mut app = TcpStream::connect(entry).await.unwrap();
    app.write_all(b"before").await.unwrap();
    let mut six = [0u8; 6];
    app.read_exact(&mut six).await.unwrap();
    server.drain();
    // The pooled connection got a GOAWAY, so a new stream needs a new connection, and nothing new is accepted.
    eventually("the listening socket closed", || {
        std::net::TcpStream::connect(server.local).is_err()
    })
    .await;
    let mut late = TcpStream::connect(entry).await.unwrap();
    let mut byte = [0u8; 1];
    assert!(late.read(&mut byte).await.is_err(), "a new connection is reset");
    // The open stream goes on to its end.
    app.write_all(b"after").await.unwrap();
    app.shutdown().await.unwrap();
    let mut back = Vec::new();
    app.read_to_end(&mut back).await.unwrap();
    assert_eq!(back, b"after");
    assert_eq!(next_report(&mut closed).await.reset, None);
    eventually("the drained server closed", || {
        stat(server.stats.snapshot(), "connections_open") == 0
    })
    .await;
}

#[tokio::test]
async fn a_server_without_a_certificate_refuses_until_it_gets_one() {
    let (errors, _seen) = tokio::sync::mpsc::unbounded_channel();
    let echo = echo_server(errors).await;
    let (report, _closed) = reports();
    let (ids, _decided) = tokio::sync::mpsc::unbounded_channel();
    let server = reporting_server(report, ids, None).await;
    let client = client();
    assert!(open(&client, server.local, echo, SERVER_ID).await.is_err());
    assert_eq!(stat(server.stats.snapshot(), "no_certificate"), 1);
    server.set_tls(workload(SERVER).server_config().unwrap());
    assert_eq!(open(&client, server.local, echo, SERVER_ID).await, Ok(()));
}

#[tokio::test]
async fn a_draining_listener_stops_accepting_and_closes_after_its_last_connection() {
    let (errors, _seen) = tokio::sync::mpsc::unbounded_channel();
    let echo = echo_server(errors).await;
    let server = hbone_server().await;
    let client = client();
    let (ids, _decided) = tokio::sync::mpsc::unbounded_channel();
    let listener = outbound_with_ids(&client, server.local, echo, ids).await;
    let mut app = TcpStream::connect(listener.local).await.unwrap();
    app.write_all(b"one").await.unwrap();
    let mut three = [0u8; 3];
    app.read_exact(&mut three).await.unwrap();
    listener.drain();
    eventually("the listening socket closed", || {
        std::net::TcpStream::connect(listener.local).is_err()
    })
    .await;
    app.write_all(b"two").await.unwrap();
    app.read_exact(&mut three).await.unwrap();
    assert_eq!(&three, b"two");
    drop(app);
    eventually("the listener closed itself", || listener.is_closed()).await;
}

/// User + system CPU time of this process so far (Linux, 100 ticks a second).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

/// Not a test: new connection + 1-byte echo through native client → native server with Rust decisions, next to
/// direct TCP, so the cost of the JavaScript decisions can be told apart from the transport's. Run with
/// `cargo test --release -- --ignored --nocapture connect_echo_without_javascript`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn connect_echo_without_javascript() {
    let (errors, _seen) = tokio::sync::mpsc::unbounded_channel();
    let echo = echo_server(errors).await;
    let server = hbone_server().await;
    let client = client();
    let entry = outbound(&client, server.local, echo, SERVER_ID).await;
    for (name, address) in [("direct", echo), ("native HBONE", entry), ("direct", echo)] {
        // One stream of 1 GiB out and back (the echo returns it), both directions at once.
        let cpu_before = cpu_seconds();
        let start = std::time::Instant::now();
        let tcp = TcpStream::connect(address).await.unwrap();
        let (mut read, mut write) = tcp.into_split();
        const TOTAL: usize = 1 << 30;
        let writer = tokio::spawn(async move {
            let block = vec![0x5au8; 1 << 20];
            for _ in 0..TOTAL / block.len() {
                write.write_all(&block).await.unwrap();
            }
            write.shutdown().await.unwrap();
        });
        let mut buf = vec![0u8; 1 << 20];
        let mut got = 0;
        while got < TOTAL {
            got += read.read(&mut buf).await.unwrap();
        }
        writer.await.unwrap();
        let gbits = (TOTAL * 8) as f64 / start.elapsed().as_secs_f64() / 1e9;
        let cpu = cpu_seconds() - cpu_before;
        println!("{name:>14}: 1 GiB each way on one stream: {gbits:.2} Gbit/s each way, {cpu:.2} CPU-s");

        let mut samples = Vec::new();
        for i in 0..1_100 {
            let start = std::time::Instant::now();
            let mut tcp = TcpStream::connect(address).await.unwrap();
            tcp.set_nodelay(true).unwrap();
            tcp.write_all(b"x").await.unwrap();
            let mut one = [0u8; 1];
            tcp.read_exact(&mut one).await.unwrap();
            if i >= 100 {
                samples.push(start.elapsed().as_micros());
            }
        }
        samples.sort_unstable();
        println!(
            "{name:>14}: connect + 1-byte echo p50 {} µs, p99 {} µs",
            samples[samples.len() / 2],
            samples[samples.len() * 99 / 100]
        );
    }
}
