//! The HTTPS listener for real, on 127.0.0.1: CA-signed chains, TLS versions, certificate
//! rotation through a Kubernetes Secret volume's `..data` symlink swap while requests flow,
//! bad pairs that must never be served, and draining on shutdown.

// Test code: a failed unwrap is a failed test (clippy only exempts #[test] functions).
#![allow(clippy::unwrap_used)]

#[path = "support/certs.rs"]
mod certs;
#[path = "support/client.rs"]
mod client;
#[path = "support/secret_volume.rs"]
mod secret_volume;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use backstop_webhook::WebhookError;
use backstop_webhook::metrics::{Metrics, ReloadResult};
use backstop_webhook::server::{self, HttpsLimits};
use backstop_webhook::tls::{self, CertFiles, Reloader};
use certs::TestCa;
use hyper::body::Bytes;
use secret_volume::SecretVolume;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

const POLL: Duration = Duration::from_millis(100);
const BOTH: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

struct Running {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), WebhookError>>,
    metrics: Arc<Metrics>,
}

fn app() -> Router {
    Router::new()
        .route("/echo", post(|body: Bytes| async move { body }))
        .route(
            "/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                "slow"
            }),
        )
}

async fn start(files: CertFiles) -> Running {
    tls::install_default_provider();
    let metrics = Arc::new(Metrics::new());
    let reloader = Reloader::load(files, Arc::clone(&metrics)).unwrap();
    let config = Arc::new(tls::server_config(reloader.resolver()).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(reloader.run(POLL, stopped.clone()));
    let limits = HttpsLimits {
        drain: Duration::from_secs(5),
        ..HttpsLimits::default()
    };
    let task = tokio::spawn(server::serve_https(
        listener,
        config,
        app(),
        stopped,
        limits,
    ));
    Running {
        addr,
        stop,
        task,
        metrics,
    }
}

fn cert_files(volume: &SecretVolume) -> CertFiles {
    let paths = volume.paths();
    CertFiles {
        cert: paths.cert,
        key: paths.key,
    }
}

/// The leaf a brand-new connection is served.
async fn served_leaf(connector: &tokio_rustls::TlsConnector, addr: SocketAddr) -> Vec<u8> {
    client::connect(connector, addr).await.unwrap().leaf
}

async fn wait_for_leaf(
    connector: &tokio_rustls::TlsConnector,
    addr: SocketAddr,
    expected: &[u8],
) -> Duration {
    let started = Instant::now();
    while served_leaf(connector, addr).await != expected {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the rotated certificate was not served within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_a_ca_signed_chain_over_tls12_and_tls13() {
    let ca = TestCa::new();
    let leaf = ca.leaf(1);
    let volume = SecretVolume::new(&leaf);
    let server = start(cert_files(&volume)).await;
    for versions in [
        BOTH,
        &[&rustls::version::TLS12][..],
        &[&rustls::version::TLS13][..],
    ] {
        let connector = client::connector(&ca.pem, versions);
        let mut connection = client::connect(&connector, server.addr).await.unwrap();
        assert_eq!(connection.leaf, leaf.der);
        let (status, body) = connection.post("/echo", b"{\"ping\":1}").await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(body, b"{\"ping\":1}");
    }
    // A client that does not trust the CA is refused.
    let stranger = client::connector(&TestCa::new().pem, BOTH);
    assert!(client::connect(&stranger, server.addr).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speaks_http2_when_the_client_offers_it() {
    use http_body_util::{BodyExt, Full};
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let ca = TestCa::new();
    let volume = SecretVolume::new(&ca.leaf(1));
    let server = start(cert_files(&volume)).await;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(ca.pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let stream = connector.connect(name, tcp).await.unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::post(format!("https://localhost:{}/echo", server.addr.port()))
        .body(Full::new(Bytes::from_static(b"{\"h2\":true}")))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), http::Version::HTTP_2);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"{\"h2\":true}");
}

/// A ClientHello without `supported_versions`, so `legacy_version` (3.2 = TLS 1.1,
/// 3.3 = TLS 1.2) is the version offered.
fn client_hello(minor: u8) -> Vec<u8> {
    let mut body = vec![0x03, minor];
    body.extend([7u8; 32]); // random
    body.push(0); // session id
    // Suites the server has (so only the version can be the problem): ECDHE-ECDSA/RSA-AES128-GCM.
    body.extend([0x00, 0x04, 0xc0, 0x2b, 0xc0, 0x2f]);
    body.extend([0x01, 0x00]); // null compression
    let extensions: &[u8] = &[
        0x00, 0x0d, 0x00, 0x06, 0x00, 0x04, 0x04, 0x03, 0x08, 0x04, // signature_algorithms
        0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17, // supported_groups
        0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, // ec_point_formats
    ];
    body.extend(u16::try_from(extensions.len()).unwrap().to_be_bytes());
    body.extend(extensions);
    let mut handshake = vec![0x01, 0x00];
    handshake.extend(u16::try_from(body.len()).unwrap().to_be_bytes());
    handshake.extend(body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend(u16::try_from(handshake.len()).unwrap().to_be_bytes());
    record.extend(handshake);
    record
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_tls_1_1_and_older() {
    let ca = TestCa::new();
    let volume = SecretVolume::new(&ca.leaf(1));
    let server = start(cert_files(&volume)).await;
    let answer = |minor: u8| async move {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(&client_hello(minor)).await.unwrap();
        let mut answer = vec![0u8; 7];
        tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut answer))
            .await
            .unwrap()
            .unwrap();
        answer
    };
    // TLS 1.1 and 1.0: a fatal protocol_version alert (record type 21, level 2, alert 70).
    for minor in [2, 1] {
        let answer = answer(minor).await;
        assert_eq!(answer[0], 0x15, "TLS 1.{}: {answer:?}", minor - 1);
        assert_eq!(&answer[5..7], &[2, 70], "TLS 1.{}: {answer:?}", minor - 1);
    }
    // Control: the same hello offering TLS 1.2 gets a ServerHello (handshake record, type 2).
    let answer = answer(3).await;
    assert_eq!((answer[0], answer[5]), (0x16, 0x02), "TLS 1.2: {answer:?}");
}

#[derive(Default)]
struct Load {
    ok: AtomicU64,
    failed: AtomicU64,
    stop: AtomicBool,
}

impl Load {
    fn record(&self, outcome: Result<(u16, Vec<u8>), String>, expected: &[u8]) {
        match outcome {
            Ok((200, body)) if body == expected => self.ok.fetch_add(1, Ordering::Relaxed),
            other => {
                eprintln!("request failed: {other:?}");
                self.failed.fetch_add(1, Ordering::Relaxed)
            }
        };
    }
}

/// Requests without pause: on long-lived keep-alive connections, on a new connection each time,
/// and slow requests that are in flight while the certificate changes.
fn spawn_load(
    load: &Arc<Load>,
    connector: &tokio_rustls::TlsConnector,
    addr: SocketAddr,
) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    for mode in ["keep-alive", "keep-alive", "fresh", "fresh", "slow"] {
        let load = Arc::clone(load);
        let connector = connector.clone();
        tasks.push(tokio::spawn(async move {
            let mut kept = None;
            let deadline = Instant::now() + Duration::from_secs(20);
            while !load.stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                let (path, body, expected): (&str, &[u8], &[u8]) = match mode {
                    "slow" => ("/slow", b"{}", b"slow"),
                    _ => ("/echo", b"{\"n\":1}", b"{\"n\":1}"),
                };
                let connection = match (mode, kept.take()) {
                    ("keep-alive", Some(connection)) => Ok(connection),
                    _ => client::connect(&connector, addr).await,
                };
                match connection {
                    Ok(mut connection) => {
                        load.record(connection.post(path, body).await, expected);
                        kept = Some(connection);
                    }
                    Err(error) => {
                        load.record(Err(error), expected);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        }));
    }
    tasks
}

fn error_reloads(metrics: &Metrics) -> u64 {
    metrics.tls_reloads(ReloadResult::Error)
}

/// Waits until `count` bad pairs have been reported (two polls after each swap).
async fn wait_for_errors(metrics: &Metrics, count: u64) {
    let started = Instant::now();
    while error_reloads(metrics) < count {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the bad pair was not reported"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(error_reloads(metrics), count);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_through_a_symlink_swap_while_requests_flow() {
    let ca = TestCa::new();
    let (first, second, third) = (ca.leaf(1), ca.leaf(2), ca.leaf(3));
    let volume = SecretVolume::new(&first);
    let server = start(cert_files(&volume)).await;
    let connector = client::connector(&ca.pem, BOTH);
    let load = Arc::new(Load::default());
    let tasks = spawn_load(&load, &connector, server.addr);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(served_leaf(&connector, server.addr).await, first.der);

    // A good rotation: new connections get the new certificate within a few poll intervals.
    volume.write_generation("..2026_02_01_00_00_00.000000001", &second);
    volume.swap_to("..2026_02_01_00_00_00.000000001");
    let took = wait_for_leaf(&connector, server.addr, &second.der).await;
    assert!(took < POLL * 20, "rotation took {took:?}");
    assert_eq!(server.metrics.tls_reloads(ReloadResult::Ok), 1);

    // Half-written: the next certificate with the current key. Never served, reported once.
    volume.write_raw(
        "..2026_03_01_00_00_00.000000001",
        third.chain_pem.as_bytes(),
        second.key_pem.as_bytes(),
    );
    volume.swap_to("..2026_03_01_00_00_00.000000001");
    wait_for_errors(&server.metrics, 1).await;
    assert_eq!(served_leaf(&connector, server.addr).await, second.der);

    // Garbage: a truncated certificate and an empty key.
    let half = &third.chain_pem.as_bytes()[..third.chain_pem.len() / 3];
    volume.write_raw("..2026_04_01_00_00_00.000000001", half, b"");
    volume.swap_to("..2026_04_01_00_00_00.000000001");
    wait_for_errors(&server.metrics, 2).await;
    assert_eq!(served_leaf(&connector, server.addr).await, second.der);
    tokio::time::sleep(POLL * 3).await;
    assert_eq!(
        error_reloads(&server.metrics),
        2,
        "a bad pair is reported once"
    );
    assert!(
        server
            .metrics
            .encode()
            .contains("backstop_tls_reloads_total{result=\"error\"} 2")
    );

    // The complete pair lands: served.
    volume.write_generation("..2026_05_01_00_00_00.000000001", &third);
    volume.swap_to("..2026_05_01_00_00_00.000000001");
    wait_for_leaf(&connector, server.addr, &third.der).await;

    load.stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let (ok, failed) = (
        load.ok.load(Ordering::Relaxed),
        load.failed.load(Ordering::Relaxed),
    );
    assert_eq!(failed, 0, "{failed} requests failed ({ok} succeeded)");
    // A floor that shows requests flowed, low enough for a loaded 2-core CI machine.
    assert!(ok > 30, "only {ok} requests were made");
    server.stop.send(true).unwrap();
    server.task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_in_flight_requests_and_stops_accepting() {
    let ca = TestCa::new();
    let volume = SecretVolume::new(&ca.leaf(1));
    let server = start(cert_files(&volume)).await;
    let connector = client::connector(&ca.pem, BOTH);
    let mut connection = client::connect(&connector, server.addr).await.unwrap();
    let in_flight = tokio::spawn(async move { connection.post("/slow", b"{}").await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let asked = Instant::now();
    server.stop.send(true).unwrap();
    let (status, body) = in_flight.await.unwrap().unwrap();
    assert_eq!((status, body.as_slice()), (200, &b"slow"[..]));
    server.task.await.unwrap().unwrap();
    assert!(asked.elapsed() < Duration::from_secs(3));
    assert!(client::connect(&connector, server.addr).await.is_err());
}

#[test]
fn secret_volume_layout_matches_the_kubelet() {
    let ca = TestCa::new();
    let volume = SecretVolume::new(&ca.leaf(1));
    let data = std::fs::read_link(volume.dir.path().join("..data")).unwrap();
    assert_eq!(data, Path::new("..2026_01_01_00_00_00.000000001"));
    assert_eq!(
        std::fs::read_link(volume.dir.path().join("tls.crt")).unwrap(),
        Path::new("..data/tls.crt")
    );
}
