//! Certificate rotation under review load, shortened for CI (`ci/soak.sh` is the long version):
//! the real admission router over real TLS on 127.0.0.1, the certificate rotated several times
//! through a Secret volume's `..data` symlink swap while the load generator of the load benchmark
//! (`webhook/benches/load/drive.rs`) keeps reviews flowing at a fixed rate, on connections that
//! outlive every rotation and on new ones after each. No request may fail, and new connections
//! must be served each new certificate.
//!
//! The reviews are `fixtures/admission/` reviews over the bundled platform
//! (`fixtures/policy/platform.yaml` over `fixtures/platform/`).

// Helpers outside `#[test]` functions unwrap too: a failing helper is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/certs.rs"]
mod certs;
#[path = "support/client.rs"]
mod client;
#[path = "../benches/load/drive.rs"]
#[allow(dead_code)] // the closed-loop and per-review drivers are for the benchmark
mod drive;
#[path = "support/secret_volume.rs"]
mod secret_volume;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backstop_webhook::admission;
use backstop_webhook::args::TimeoutDecision;
use backstop_webhook::manifests::{load_inventory, load_policy};
use backstop_webhook::metrics::{Metrics, ReloadResult};
use backstop_webhook::server::{self, HttpsLimits};
use backstop_webhook::state::AppState;
use backstop_webhook::tls::{self, CertFiles, Reloader};
use certs::TestCa;
use drive::Review;
use policy::CoverageIndex;
use secret_volume::SecretVolume;

const POLL: Duration = Duration::from_millis(100);
const ROTATIONS: u64 = 4;
/// Load between two rotations.
const PERIOD: Duration = Duration::from_millis(800);
const RATE: f64 = 200.0;
const BOTH: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn reviews() -> Arc<Vec<Review>> {
    let mix = [
        ("mutate", "namespace-create-protected-missing-tier"),
        ("validate", "namespace-create-unprotected"),
        ("mutate", "pvc-create-in-protected-namespace"),
        ("validate", "pvc-create-in-protected-namespace"),
        (
            "validate",
            "schedule-update-critical-backup-every-two-hours",
        ),
    ];
    Arc::new(
        mix.iter()
            .map(|(endpoint, name)| Review {
                path: format!("/{endpoint}?timeout=10s"),
                body: std::fs::read(repo().join(format!("fixtures/admission/{name}.json")))
                    .unwrap(),
            })
            .collect(),
    )
}

struct Running {
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), backstop_webhook::WebhookError>>,
}

async fn start(volume: &SecretVolume) -> Running {
    tls::install_default_provider();
    let metrics = Arc::new(Metrics::new());
    let paths = volume.paths();
    let files = CertFiles {
        cert: paths.cert,
        key: paths.key,
    };
    let reloader = Reloader::load(files, Arc::clone(&metrics)).unwrap();
    let config = Arc::new(tls::server_config(reloader.resolver()).unwrap());
    let policy = load_policy(&repo().join("fixtures/policy/platform.yaml")).unwrap();
    let inventory = load_inventory(&[repo().join("fixtures/platform")]).unwrap();
    let state = AppState::new(
        CoverageIndex::build(Arc::new(policy), inventory),
        Arc::clone(&metrics),
        TimeoutDecision::Deny,
    );
    state.set_ready(true);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(reloader.run(POLL, stopped.clone()));
    let task = tokio::spawn(server::serve_https(
        listener,
        config,
        admission::router(state),
        stopped,
        HttpsLimits::default(),
    ));
    Running {
        addr,
        metrics,
        stop,
        task,
    }
}

/// Waits until a new connection is served `expected`; how long that took.
async fn wait_for_leaf(
    connector: &tokio_rustls::TlsConnector,
    addr: SocketAddr,
    expected: &[u8],
) -> Duration {
    let started = Instant::now();
    loop {
        if client::connect(connector, addr).await.unwrap().leaf == expected {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the rotated certificate was not served within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotations_under_review_load_fail_no_request_and_new_clients_see_each_certificate() {
    let ca = TestCa::new();
    let first = ca.leaf(1);
    let volume = SecretVolume::new(&first);
    let server = start(&volume).await;
    let connector = client::connector(&ca.pem, BOTH);
    let reviews = reviews();
    assert_eq!(
        client::connect(&connector, server.addr).await.unwrap().leaf,
        first.der
    );

    // Connections opened before the first rotation and kept through all of them.
    let long_lived = tokio::spawn({
        let (connector, reviews, addr) = (connector.clone(), Arc::clone(&reviews), server.addr);
        async move {
            let whole = PERIOD * u32::try_from(ROTATIONS + 1).unwrap();
            drive::fixed_rate(addr, &connector, &reviews, 2, RATE / 2.0, whole).await
        }
    });
    let mut fresh_requests = 0;
    let mut fresh_errors = 0;
    for serial in 2..=ROTATIONS + 1 {
        let leaf = ca.leaf(serial);
        volume.rotate_to(serial, &leaf);
        // The kubelet removes the old generation right after the swap.
        volume.retire(serial - 1);
        let took = wait_for_leaf(&connector, server.addr, &leaf.der).await;
        assert!(took < POLL * 20, "rotation {serial} took {took:?}");
        // New connections after the rotation, at the same rate, for the rest of the period.
        let stats = drive::fixed_rate(
            server.addr,
            &connector,
            &reviews,
            2,
            RATE / 2.0,
            PERIOD.saturating_sub(took),
        )
        .await;
        fresh_requests += stats.requests;
        fresh_errors += stats.errors;
    }
    let kept = long_lived.await.unwrap();
    eprintln!(
        "{ROTATIONS} rotations: {} requests on kept connections ({} failed), {fresh_requests} on new ones ({fresh_errors} failed)",
        kept.requests, kept.errors
    );
    assert_eq!(kept.errors + fresh_errors, 0, "requests failed");
    assert!(kept.requests > 100 && fresh_requests > 50);
    assert_eq!(server.metrics.tls_reloads(ReloadResult::Ok), ROTATIONS);
    assert_eq!(server.metrics.tls_reloads(ReloadResult::Error), 0);
    server.stop.send(true).unwrap();
    server.task.await.unwrap().unwrap();
}
