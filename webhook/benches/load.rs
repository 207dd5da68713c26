//! Load benchmark of the real webhook over TLS, side by side with a bare server on the same TLS
//! stack, in the same run, on the same machine (loopback only, bounded duration).
//!
//! `ci/bench-webhook.sh` (or `cargo bench -p backstop-webhook --bench load`). Reports:
//! - peak throughput (closed loop, keep-alive) of both, and the ratio webhook / bare;
//! - p50/p99 latency at a fixed 2,000 requests/s (open loop) of both;
//! - resident memory of the webhook with 10,000 namespaces and 1,000 schedules loaded.
//!
//! `BENCH_SECONDS` sets each measured phase's length (default 5, at most 10).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "load/bare.rs"]
mod bare;
#[path = "../tests/support/client.rs"]
mod client;
#[path = "load/dataset.rs"]
mod dataset;
#[path = "load/drive.rs"]
mod drive;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use drive::{Review, Stats};

const ROLE: &str = "BACKSTOP_BENCH_ROLE";
const RATE: f64 = 2_000.0;
const PEAK_CONNECTIONS: usize = 8;
const RATE_CONNECTIONS: usize = 8;

/// Mutate-heavy (12 of 16): what a cluster sends, since every matching write goes to /mutate
/// first and only some kinds are validated.
const MIX: &[(&str, &str)] = &[
    ("mutate", "namespace-create-protected-missing-tier"),
    (
        "mutate",
        "namespace-create-protected-without-labels-or-annotations",
    ),
    ("mutate", "pvc-create-in-protected-namespace"),
    ("mutate", "namespace-create-unprotected"),
    (
        "mutate",
        "namespace-update-adds-a-label-to-a-protected-namespace",
    ),
    ("mutate", "configmap-create-unknown-kind"),
    ("mutate", "namespace-create-protected-missing-tier"),
    ("mutate", "namespace-create-protected-user-set-values"),
    ("mutate", "pvc-create-in-protected-namespace"),
    ("mutate", "namespace-create-unprotected"),
    ("mutate", "pvc-update-removes-tier-annotation"),
    (
        "mutate",
        "namespace-update-adds-a-label-to-a-protected-namespace",
    ),
    ("validate", "namespace-create-protected-missing-tier"),
    ("validate", "pvc-create-in-protected-namespace"),
    (
        "validate",
        "schedule-update-critical-backup-every-two-hours",
    ),
    ("validate", "namespace-create-unprotected"),
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn reviews() -> Arc<Vec<Review>> {
    Arc::new(
        MIX.iter()
            .map(|(endpoint, name)| Review {
                path: format!("/{endpoint}?timeout=10s"),
                body: std::fs::read(repo().join(format!("fixtures/admission/{name}.json")))
                    .unwrap(),
            })
            .collect(),
    )
}

struct Server {
    name: &'static str,
    child: Child,
    addr: SocketAddr,
    ca: PathBuf,
}

impl Server {
    fn rss_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kib| kib.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// CPU time the server process has used so far (user + system), in seconds.
    fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
        let after = stat.rsplit_once(')').unwrap().1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
        ticks / 100.0 // USER_HZ
    }

    fn exited(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    /// After a panic too: never leave a server behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < limit,
            "{what}: not ready after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    started.elapsed()
}

fn start_bare(dir: &Path) -> Server {
    let addr = free_addr();
    let ca = dir.join("bare-ca.pem");
    let child = Command::new(std::env::current_exe().unwrap())
        .env(ROLE, "bare")
        .env("BACKSTOP_BENCH_LISTEN", addr.to_string())
        .env("BACKSTOP_BENCH_CA", &ca)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server {
        name: "bare",
        child,
        addr,
        ca,
    };
    wait_until("bare server", Duration::from_secs(10), || {
        assert!(!server.exited(), "the bare server exited");
        server.ca.exists() && TcpStream::connect(addr).is_ok()
    });
    server
}

fn start_webhook(dir: &Path, data: &Path) -> (Server, Duration) {
    let addr = free_addr();
    let probes = free_addr();
    let ca = dir.join("webhook-ca.pem");
    let child = Command::new(env!("CARGO_BIN_EXE_backstop-webhook"))
        .current_dir(repo())
        .args(["serve", "--dev", "--dev-ca-out"])
        .arg(&ca)
        .arg("--schedules-from")
        .arg(data)
        .args(["--policy", "fixtures/policy/platform.yaml"])
        .args(["--listen", &addr.to_string()])
        .args(["--probe-listen", &probes.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(dir.join("webhook.log")).unwrap(),
        ))
        .spawn()
        .unwrap();
    let mut server = Server {
        name: "webhook",
        child,
        addr,
        ca,
    };
    let took = wait_until("webhook /readyz", Duration::from_secs(60), || {
        if server.exited() {
            let log = std::fs::read_to_string(dir.join("webhook.log")).unwrap_or_default();
            panic!("the webhook exited:\n{log}");
        }
        readyz(probes)
    });
    (server, took)
}

fn readyz(probes: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = TcpStream::connect(probes) else {
        return false;
    };
    let _ = stream.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

fn connector(server: &Server) -> tokio_rustls::TlsConnector {
    let ca = std::fs::read_to_string(&server.ca).unwrap();
    client::connector(&ca, &[&rustls::version::TLS13, &rustls::version::TLS12])
}

fn report(label: &str, server: &str, stats: &mut Stats) {
    println!(
        "{label:<18} {server:<21} {:>9.0} req/s  p50 {:>6.3} ms  p99 {:>6.3} ms  ({} requests, {} errors)",
        stats.per_second(),
        stats.percentile_ms(50.0),
        stats.percentile_ms(99.0),
        stats.requests,
        stats.errors,
    );
}

fn main() {
    if std::env::var(ROLE).as_deref() == Ok("bare") {
        let listen = std::env::var("BACKSTOP_BENCH_LISTEN")
            .unwrap()
            .parse()
            .unwrap();
        let ca = PathBuf::from(std::env::var("BACKSTOP_BENCH_CA").unwrap());
        bare::run(listen, ca);
        return;
    }
    if std::env::args().any(|arg| arg == "--list") {
        return; // `cargo test --benches` lists benchmarks: there is nothing to list.
    }
    let phase = Duration::from_secs(
        std::env::var("BENCH_SECONDS")
            .ok()
            .and_then(|seconds| seconds.parse().ok())
            .unwrap_or(5u64)
            .clamp(1, 10),
    );
    backstop_webhook::tls::install_default_provider();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    // BENCH_DATA=platform: the platform fixtures alone (to tell data size from per-request cost).
    if std::env::var("BENCH_DATA").as_deref() == Ok("platform") {
        dataset::copy_dir(&repo().join("fixtures/platform"), &data);
    } else {
        dataset::write(&data, &repo().join("fixtures/platform"));
    }
    let reviews = reviews();

    let bare = start_bare(dir.path());
    let (webhook, startup) = start_webhook(dir.path(), &data);
    let (idle_rss, _) = webhook.rss_kib();
    println!(
        "webhook ready in {:.2} s with {} generated namespaces and {} generated schedules (+ platform fixtures)",
        startup.as_secs_f64(),
        dataset::NAMESPACES,
        dataset::SCHEDULES
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let without_schedules = Arc::new(
        MIX.iter()
            .zip(reviews.iter())
            .filter(|((_, name), _)| !name.starts_with("schedule-"))
            .map(|(_, review)| Review {
                path: review.path.clone(),
                body: review.body.clone(),
            })
            .collect::<Vec<_>>(),
    );
    let bare_run = runtime.block_on(measure(&bare, &reviews, phase));
    let light_run = runtime.block_on(measure(&webhook, &without_schedules, phase));
    let (light_rss, _) = webhook.rss_kib();
    let full_run = runtime.block_on(measure(&webhook, &reviews, phase));
    let (rss, hwm) = webhook.rss_kib();
    let (bare_rss, _) = bare.rss_kib();

    println!();
    println!("median latency of each review alone (webhook), ms:");
    let medians = runtime.block_on(drive::per_review(
        webhook.addr,
        &connector(&webhook),
        &reviews,
        200,
    ));
    for ((endpoint, name), median) in MIX.iter().zip(medians) {
        println!("  {median:>7.3}  /{endpoint} {name}");
    }

    println!();
    println!(
        "| measure | bare axum+rustls | webhook, full mix | ratio | webhook, Namespace/PVC reviews only | ratio | target |"
    );
    println!("|---|---|---|---|---|---|---|");
    let row = |label: &str, unit: &str, value: &dyn Fn(&Run) -> f64, target: &str| {
        let base = value(&bare_run);
        let (full, light) = (value(&full_run), value(&light_run));
        let precision = match unit {
            "req/s" => 0,
            "µs" => 1,
            _ => 3,
        };
        println!(
            "| {label} | {base:.precision$} {unit} | {full:.precision$} {unit} | {:.2} | {light:.precision$} {unit} | {:.2} | {target} |",
            full / base,
            light / base
        );
    };
    row(
        &format!("peak throughput ({PEAK_CONNECTIONS} keep-alive connections)"),
        "req/s",
        &|run| run.peak_per_second,
        "≥ 0.60 × bare",
    );
    row(
        "server CPU per request at peak",
        "µs",
        &|run| run.cpu_us,
        "",
    );
    row("p50 at peak", "ms", &|run| run.peak_p50, "");
    row("p99 at peak", "ms", &|run| run.peak_p99, "");
    row(
        &format!("p50 at {RATE:.0} req/s"),
        "ms",
        &|run| run.fixed_p50,
        "",
    );
    row(
        &format!("p99 at {RATE:.0} req/s"),
        "ms",
        &|run| run.fixed_p99,
        "< 2 ms",
    );
    println!(
        "| resident memory (VmRSS) | {:.1} MiB | {:.1} MiB (peak {:.1}) | {:.2} | {:.1} MiB | {:.2} | < 40 MiB |",
        kib_to_mib(bare_rss),
        kib_to_mib(rss),
        kib_to_mib(hwm),
        rss as f64 / bare_rss as f64,
        kib_to_mib(light_rss),
        light_rss as f64 / bare_rss as f64,
    );
    println!(
        "webhook VmRSS once loaded, before any request: {:.1} MiB",
        kib_to_mib(idle_rss)
    );
    println!(
        "errors: {}",
        bare_run.errors + light_run.errors + full_run.errors
    );
    bare.stop();
    webhook.stop();
}

fn kib_to_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

struct Run {
    peak_per_second: f64,
    peak_p50: f64,
    peak_p99: f64,
    cpu_us: f64,
    fixed_p50: f64,
    fixed_p99: f64,
    errors: u64,
}

/// Warm-up, peak throughput (with the server's CPU per request), then the fixed rate.
async fn measure(server: &Server, reviews: &Arc<Vec<Review>>, phase: Duration) -> Run {
    let connector = connector(server);
    let warm_up = Duration::from_secs(1);
    drive::closed_loop(server.addr, &connector, reviews, PEAK_CONNECTIONS, warm_up).await;
    let cpu_before = server.cpu_seconds();
    let mut peak =
        drive::closed_loop(server.addr, &connector, reviews, PEAK_CONNECTIONS, phase).await;
    let cpu_us = (server.cpu_seconds() - cpu_before) / peak.requests as f64 * 1e6;
    let label = format!("{} ({} reviews)", server.name, reviews.len());
    report("peak (closed loop)", &label, &mut peak);
    println!("{:<40} {cpu_us:>9.1} µs of server CPU per request", "");
    let mut fixed = drive::fixed_rate(
        server.addr,
        &connector,
        reviews,
        RATE_CONNECTIONS,
        RATE,
        phase,
    )
    .await;
    report("at 2000 req/s", &label, &mut fixed);
    Run {
        peak_per_second: peak.per_second(),
        peak_p50: peak.percentile_ms(50.0),
        peak_p99: peak.percentile_ms(99.0),
        cpu_us,
        fixed_p50: fixed.percentile_ms(50.0),
        fixed_p99: fixed.percentile_ms(99.0),
        errors: peak.errors + fixed.errors,
    }
}
