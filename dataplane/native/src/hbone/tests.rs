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
use super::tls::WorkloadTls;

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
    Server::start(loopback().await, config, decide).unwrap()
}

fn client() -> Arc<Client> {
    let client = Client::new(ClientOptions {
        max_streams_per_connection: 100,
        idle_timeout: Duration::from_secs(60),
        connect_timeout: Duration::from_secs(5),
    });
    client.set_identity(workload(SLEEP));
    client
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
    let client = Client::new(ClientOptions {
        max_streams_per_connection: 100,
        idle_timeout: Duration::from_millis(100),
        connect_timeout: Duration::from_secs(5),
    });
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
