//! Slow and abusive clients: a request body trickled past `--body-read-timeout` gets HTTP 408
//! and frees its place among the reviews in flight; over real TLS on 127.0.0.1, a slowloris
//! crowd (connections trickling a ClientHello, HTTP/1 headers or a body, or silent after TCP or
//! after an HTTP/2 handshake, reconnecting as soon as they are dropped) is cut off by the
//! handshake, header and body timeouts while normal reviews are still answered within the latency
//! target; and past `max_connections` a new connection waits for a slot instead of being served.

// Helpers outside `#[test]` functions unwrap too: a failing helper is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/certs.rs"]
mod certs;
#[path = "support/client.rs"]
mod client;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode, header};
use backstop_webhook::admission::{self, AdmissionLimits};
use backstop_webhook::args::TimeoutDecision;
use backstop_webhook::manifests::{load_inventory, load_policy};
use backstop_webhook::metrics::{FailureReason, Metrics};
use backstop_webhook::server::{self, HttpsLimits};
use backstop_webhook::state::AppState;
use backstop_webhook::tls::{self, CertResolver};
use futures::StreamExt as _;
use http_body_util::BodyExt as _;
use policy::CoverageIndex;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt as _;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn platform_state(metrics: &Arc<Metrics>) -> AppState {
    let policy = load_policy(&repo().join("fixtures/policy/platform.yaml")).unwrap();
    let inventory = load_inventory(&[repo().join("fixtures/platform")]).unwrap();
    let state = AppState::new(
        CoverageIndex::build(Arc::new(policy), inventory),
        Arc::clone(metrics),
        TimeoutDecision::Deny,
    );
    state.set_ready(true);
    state
}

/// A review body sent one byte every `every`, for ever.
fn trickled_body(every: Duration) -> Body {
    let review =
        std::fs::read(repo().join("fixtures/admission/namespace-create-unprotected.json")).unwrap();
    let bytes = futures::stream::iter(review).then(move |byte| async move {
        tokio::time::sleep(every).await;
        Ok::<_, std::io::Error>(Bytes::from(vec![byte]))
    });
    Body::from_stream(bytes.chain(futures::stream::pending()))
}

#[tokio::test(start_paused = true)]
async fn a_body_trickled_past_the_body_read_timeout_gets_408() {
    let metrics = Arc::new(Metrics::new());
    let limits = AdmissionLimits {
        max_in_flight: 1,
        body_read: Duration::from_secs(2),
    };
    let router = admission::router_with_limits(platform_state(&metrics), limits);
    let request = |body| {
        Request::builder()
            .method(Method::POST)
            .uri("/validate?timeout=30s")
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .unwrap()
    };
    let started = tokio::time::Instant::now();
    let response = router
        .clone()
        .oneshot(request(trickled_body(Duration::from_millis(100))))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(2),
        "--body-read-timeout, well before the 24 s deadline of timeout=30s"
    );
    assert_eq!(metrics.failures(FailureReason::SlowBody), 1);
    assert!(
        metrics
            .encode()
            .contains("backstop_admission_failures_total{reason=\"slow_body\"} 1")
    );

    // Its place in flight is free again: the next review is decided, not shed.
    let review =
        std::fs::read(repo().join("fixtures/admission/namespace-create-unprotected.json")).unwrap();
    let response = router.oneshot(request(Body::from(review))).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["response"]["allowed"], true, "{answer}");
    assert_eq!(metrics.failures(FailureReason::Overloaded), 0);
}

// ---------------------------------------------------------------------------------------------
// Over real TLS

const BOTH: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];
/// The limits under test, shorter than the defaults (10 s) so the test takes seconds.
const HANDSHAKE: Duration = Duration::from_secs(1);
const HEADER_READ: Duration = Duration::from_secs(1);
const BODY_READ: Duration = Duration::from_secs(1);
/// How much later than its limit an abusive connection may be cut off on a loaded 2-core machine.
const SLACK: Duration = Duration::from_millis(1500);
/// One byte per this, per trickling connection.
const TRICKLE: Duration = Duration::from_millis(50);

fn review_bytes() -> Vec<u8> {
    std::fs::read(repo().join("fixtures/admission/namespace-create-unprotected.json")).unwrap()
}

struct Running {
    addr: SocketAddr,
    ca: String,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), backstop_webhook::WebhookError>>,
}

async fn start(max_connections: usize) -> Running {
    tls::install_default_provider();
    let ca = certs::TestCa::new();
    let leaf = ca.leaf(1);
    let key = tls::certified_key(leaf.chain_pem.as_bytes(), leaf.key_pem.as_bytes()).unwrap();
    let config = Arc::new(tls::server_config(Arc::new(CertResolver::new(key))).unwrap());
    let metrics = Arc::new(Metrics::new());
    let app = admission::router_with_limits(
        platform_state(&metrics),
        AdmissionLimits {
            body_read: BODY_READ,
            ..AdmissionLimits::default()
        },
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let limits = HttpsLimits {
        handshake: HANDSHAKE,
        header_read: HEADER_READ,
        max_connections,
        drain: Duration::from_secs(2),
    };
    let task = tokio::spawn(server::serve_https(listener, config, app, stopped, limits));
    Running {
        addr,
        ca: ca.pem,
        stop,
        task,
    }
}

fn h2_connector(ca_pem: &str) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(tls::provider())
        .with_protocol_versions(BOTH)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

async fn tls_connect(
    connector: &tokio_rustls::TlsConnector,
    addr: SocketAddr,
) -> Option<tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await.ok()?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    connector.connect(name, tcp).await.ok()
}

/// What a held connection got back before the server let go of it.
enum LetGo {
    /// The server closed the connection (or reset it).
    Closed,
    /// The server answered with this status line.
    Answered(String),
}

/// Sends `opening`, then trickles `trickle` (cycled) one byte per [`TRICKLE`], until the server
/// closes the connection, or (with `answer_ends`) answers an HTTP/1 request; how long the
/// connection was held. Bytes before the close are not a let-go: an HTTP/2 server speaks first.
async fn hold<S>(
    stream: S,
    opening: Vec<u8>,
    trickle: Vec<u8>,
    answer_ends: bool,
) -> (Duration, LetGo)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let started = Instant::now();
    let (mut reader, mut writer) = tokio::io::split(stream);
    let writing = tokio::spawn(async move {
        if writer.write_all(&opening).await.is_err() || writer.flush().await.is_err() {
            return;
        }
        if trickle.is_empty() {
            return std::future::pending().await;
        }
        for byte in trickle.iter().cycle() {
            tokio::time::sleep(TRICKLE).await;
            if writer.write_all(&[*byte]).await.is_err() || writer.flush().await.is_err() {
                return;
            }
        }
    });
    let mut received = Vec::new();
    let mut buffer = [0u8; 512];
    let let_go = loop {
        match reader.read(&mut buffer).await {
            Ok(0) | Err(_) => break LetGo::Closed,
            Ok(read) => {
                received.extend_from_slice(&buffer[..read]);
                if answer_ends && let Some(end) = received.windows(2).position(|w| w == b"\r\n") {
                    break LetGo::Answered(String::from_utf8_lossy(&received[..end]).into_owned());
                }
            }
        }
    };
    let held = started.elapsed();
    writing.abort();
    (held, let_go)
}

#[derive(Clone, Copy, Debug)]
enum Abuse {
    /// TCP, then a ClientHello record that never completes.
    TrickledHandshake,
    /// TCP, then nothing.
    SilentTcp,
    /// TLS, then an HTTP/1 request head one byte at a time.
    TrickledHeaders,
    /// TLS, a complete head, then the body one byte at a time.
    TrickledBody,
    /// TLS with ALPN h2, then not even the HTTP/2 preface.
    SilentHttp2,
}

impl Abuse {
    const ALL: [Self; 5] = [
        Self::TrickledHandshake,
        Self::SilentTcp,
        Self::TrickledHeaders,
        Self::TrickledBody,
        Self::SilentHttp2,
    ];

    /// How many connections of this kind abuse the server at once. The TLS kinds cost a
    /// handshake on both sides at every reconnect (a debug build's rustls, on the same 2 cores
    /// as the server), so there are fewer of them.
    fn crowd(self) -> usize {
        match self {
            Self::TrickledHandshake | Self::SilentTcp => 60,
            Self::TrickledHeaders | Self::TrickledBody | Self::SilentHttp2 => 8,
        }
    }

    fn limit(self) -> Duration {
        match self {
            Self::TrickledHandshake | Self::SilentTcp => HANDSHAKE,
            Self::TrickledHeaders | Self::SilentHttp2 => HANDSHAKE + HEADER_READ,
            Self::TrickledBody => HANDSHAKE + BODY_READ,
        }
    }

    /// One abusive connection, from TCP connect until the server lets go of it.
    async fn once(
        self,
        addr: SocketAddr,
        h1: &tokio_rustls::TlsConnector,
        h2: &tokio_rustls::TlsConnector,
    ) -> Option<Duration> {
        let started = Instant::now();
        let held = match self {
            Self::TrickledHandshake => {
                let tcp = TcpStream::connect(addr).await.ok()?;
                // A handshake record announcing 512 bytes, sent at 20 bytes/s.
                let opening = vec![0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03];
                hold(tcp, opening, vec![0x03], false).await
            }
            Self::SilentTcp => {
                let tcp = TcpStream::connect(addr).await.ok()?;
                hold(tcp, Vec::new(), Vec::new(), false).await
            }
            Self::TrickledHeaders => {
                let tls = tls_connect(h1, addr).await?;
                let opening =
                    b"POST /validate?timeout=10s HTTP/1.1\r\nhost: localhost\r\n".to_vec();
                hold(tls, opening, b"x-slow: a\r\n".to_vec(), false).await
            }
            Self::TrickledBody => {
                let tls = tls_connect(h1, addr).await?;
                let body = review_bytes();
                let opening = format!(
                    "POST /validate?timeout=10s HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                let (held, let_go) = hold(tls, opening, body, true).await;
                match let_go {
                    LetGo::Answered(status) => {
                        assert_eq!(status, "HTTP/1.1 408 Request Timeout");
                    }
                    LetGo::Closed => panic!("a trickled body got no 408"),
                }
                (held, LetGo::Closed)
            }
            Self::SilentHttp2 => {
                let tls = tls_connect(h2, addr).await?;
                assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
                hold(tls, Vec::new(), Vec::new(), false).await
            }
        };
        let (held, LetGo::Closed) = held else {
            unreachable!("only a trickled body waits for an answer")
        };
        // The TLS handshake is part of the time held, and bounded too.
        Some(held.max(started.elapsed()))
    }
}

/// Normal reviews, one every 10 ms, on a keep-alive connection and (every 10th) on a new one:
/// the latency of each, checking each answer.
async fn normal_reviews(
    addr: SocketAddr,
    connector: &tokio_rustls::TlsConnector,
    duration: Duration,
) -> Vec<Duration> {
    let body = review_bytes();
    let uid = serde_json::from_slice::<serde_json::Value>(&body).unwrap()["request"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    let mut kept = client::connect(connector, addr).await.unwrap();
    let mut latencies = Vec::new();
    let until = Instant::now() + duration;
    let mut sent = 0u32;
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(10)).await;
        sent += 1;
        let started = Instant::now();
        let answer = if sent.is_multiple_of(10) {
            let mut fresh = client::connect(connector, addr).await.unwrap();
            fresh.post("/validate?timeout=10s", &body).await
        } else {
            kept.post("/validate?timeout=10s", &body).await
        };
        latencies.push(started.elapsed());
        let (status, bytes) = answer.unwrap_or_else(|error| {
            panic!(
                "review {sent} ({}): {error}",
                if sent.is_multiple_of(10) {
                    "new connection"
                } else {
                    "keep-alive"
                }
            )
        });
        assert_eq!(status, 200);
        let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(answer["response"]["uid"], uid.as_str());
        assert_eq!(answer["response"]["allowed"], true, "{answer}");
    }
    latencies
}

fn percentile(latencies: &mut [Duration], p: f64) -> Duration {
    latencies.sort_unstable();
    let rank = ((p / 100.0) * (latencies.len() - 1) as f64).round() as usize;
    latencies[rank]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowloris_crowd_is_cut_off_while_normal_reviews_are_answered() {
    const ATTACK: Duration = Duration::from_secs(5);
    /// The latency targets of this test: a debug build, with the load generator, 144 abusive
    /// connections and other tests on the same 2 cores (the release build's figures, p99 under
    /// 2 ms at 2,000 req/s, are measured by the load benchmark, docs/benchmarks.md). The worst
    /// case stays under the abusive connections' 1 s timeouts: no review waited for one.
    const P50_TARGET: Duration = Duration::from_millis(50);
    const P99_TARGET: Duration = Duration::from_millis(500);
    const MAX_TARGET: Duration = Duration::from_secs(1);
    let server = start(HttpsLimits::default().max_connections).await;
    let h1 = client::connector(&server.ca, BOTH);
    let h2 = h2_connector(&server.ca);

    let mut baseline = normal_reviews(server.addr, &h1, Duration::from_secs(1)).await;
    let baseline_p99 = percentile(&mut baseline, 99.0);

    let stop = Arc::new(AtomicBool::new(false));
    let mut attackers = Vec::new();
    for abuse in Abuse::ALL {
        for _ in 0..abuse.crowd() {
            let (stop, h1, h2, addr) = (Arc::clone(&stop), h1.clone(), h2.clone(), server.addr);
            attackers.push(tokio::spawn(async move {
                let mut held = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match abuse.once(addr, &h1, &h2).await {
                        Some(took) => held.push(took),
                        None => tokio::time::sleep(Duration::from_millis(20)).await,
                    }
                }
                (abuse, held)
            }));
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut latencies = normal_reviews(server.addr, &h1, ATTACK).await;
    stop.store(true, Ordering::Relaxed);

    let (p50, p99) = (
        percentile(&mut latencies, 50.0),
        percentile(&mut latencies, 99.0),
    );
    let worst = *latencies.last().unwrap();
    eprintln!(
        "normal reviews: {} under attack, p50 {p50:?}, p99 {p99:?}, max {worst:?}; p99 before the attack {baseline_p99:?}",
        latencies.len()
    );
    assert!(latencies.len() > 50, "only {} reviews", latencies.len());
    assert!(
        p50 < P50_TARGET && p99 < P99_TARGET && worst < MAX_TARGET,
        "under attack p50 {p50:?}, p99 {p99:?}, max {worst:?} (p99 before: {baseline_p99:?})"
    );

    for attacker in attackers {
        let (abuse, held) = attacker.await.unwrap();
        assert!(!held.is_empty(), "{abuse:?}: no connection completed");
        let longest = held.iter().max().unwrap();
        assert!(
            *longest < abuse.limit() + SLACK,
            "{abuse:?} held a connection for {longest:?} (limit {:?})",
            abuse.limit()
        );
    }
    server.stop.send(true).unwrap();
    server.task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_limit_a_client_waits_for_a_slot() {
    const LIMIT: usize = 8;
    let server = start(LIMIT).await;
    let h1 = client::connector(&server.ca, BOTH);
    let opened = Instant::now();
    let mut idle = Vec::new();
    for _ in 0..LIMIT {
        idle.push(tls_connect(&h1, server.addr).await.unwrap());
    }
    // Every slot is held by a connection that sends nothing: the next one is not served...
    let mut waiting = tokio::spawn({
        let h1 = h1.clone();
        let addr = server.addr;
        async move {
            let mut connection = client::connect(&h1, addr).await.unwrap();
            let answered = connection
                .post("/validate?timeout=10s", &review_bytes())
                .await;
            (answered, Instant::now())
        }
    });
    tokio::time::sleep(HEADER_READ / 2).await;
    assert!(
        futures::poll!(&mut waiting).is_pending(),
        "served past the connection limit"
    );
    // ...until the idle ones are closed by the header read timeout.
    let (answered, at) = waiting.await.unwrap();
    let (status, _) = answered.unwrap();
    assert_eq!(status, 200);
    let waited = at.duration_since(opened);
    assert!(
        waited >= HEADER_READ && waited < HEADER_READ + SLACK,
        "served {waited:?} after the slots were taken"
    );
    for mut stream in idle {
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut byte)).await;
        assert!(
            matches!(read, Ok(Ok(0) | Err(_))),
            "an idle connection was kept open: {read:?}"
        );
    }
    server.stop.send(true).unwrap();
    server.task.await.unwrap().unwrap();
}
