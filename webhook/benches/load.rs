//! Load benchmark of the real webhook over TLS, side by side with a bare server on the same TLS
//! stack, in the same run, on the same machine (loopback only, bounded duration).
//!
//! `ci/bench-webhook.sh` (or `cargo bench -p backstop-webhook --bench load`). Reports:
//! - peak throughput (closed loop, keep-alive) of both, and the ratio webhook / bare. A server's
//!   peak is its best rate over a sweep of 8, 16, 32 and 64 connections: with few connections a
//!   slower server is bound by round trips (each connection waits for its answer while the load
//!   generator, on the same cores, sleeps and must be woken), not by its capacity. The rate at 8
//!   connections is reported too;
//! - p50/p99 latency at a fixed 2,000 requests/s (open loop) of both;
//! - resident memory of the webhook with 10,000 namespaces and 1,000 schedules loaded.
//!
//! The load generator shares the machine's two cores with the server it drives, and a shared
//! virtual machine drifts in speed from one second to the next. So the peak phases run in
//! interleaved rounds (each connection count in turn: bare, webhook with the full mix, webhook
//! with Namespace/PVC reviews only), each round's ratio is taken within the round, and the table
//! reports the median round with the range of all rounds.
//!
//! `BENCH_SECONDS` sets each measured phase's length (default 3, at most 10), `BENCH_ROUNDS` the
//! number of peak rounds (default 3, at most 9). `BENCH_COMPARE_BIN=path` starts a second build
//! of the webhook next to this one and runs it in the same rounds, so two builds are compared
//! within each round rather than across runs minutes apart (the compared build's throughput
//! and CPU only; latency and memory are measured for the first build).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "load/bare.rs"]
mod bare;
#[path = "../tests/support/client.rs"]
mod client;
#[path = "load/dataset.rs"]
mod dataset;
#[path = "load/drive.rs"]
mod drive;
#[path = "load/server.rs"]
#[allow(dead_code)] // each benchmark uses part of it
mod server;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use drive::{Review, Stats};
use server::{Server, Tls, free_addr, repo, wait_until};

/// The allocator the webhook binary uses, so the bare baseline (this binary, in its `bare` role)
/// is measured on the same footing.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const ROLE: &str = "BACKSTOP_BENCH_ROLE";
const RATE: f64 = 2_000.0;
/// Connection counts of the peak sweep; the first is also reported on its own.
const SWEEP: [usize; 4] = [8, 16, 32, 64];
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
    let mut server = Server { child, addr, ca };
    wait_until("bare server", Duration::from_secs(10), || {
        assert!(!server.exited(), "the bare server exited");
        server.ca.exists() && TcpStream::connect(addr).is_ok()
    });
    server
}

fn start_webhook(dir: &Path, data: &Path, binary: &Path, name: &str) -> (Server, Duration) {
    let started = server::start_webhook(
        binary,
        dir,
        data,
        name,
        Tls::Dev,
        &log_format(),
        Duration::from_secs(60),
    );
    (started.server, started.startup)
}

/// As deployed (`deploy/webhook/base/deployment.yaml`): JSON lines. `BENCH_LOG_FORMAT=text` for
/// the default text format.
fn log_format() -> String {
    std::env::var("BENCH_LOG_FORMAT").unwrap_or_else(|_| "json".to_string())
}

fn connector(server: &Server) -> tokio_rustls::TlsConnector {
    let ca = std::fs::read_to_string(&server.ca).unwrap();
    client::connector(&ca, &[&rustls::version::TLS13, &rustls::version::TLS12])
}

fn report(label: &str, server: &str, stats: &mut Stats) {
    println!(
        "{label:<22} {server:<27} {:>7.0} req/s  p50 {:>6.3} ms  p99 {:>6.3} ms  ({} requests, {} errors)",
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
    let setting = |name: &str, default: u64, max: u64| {
        std::env::var(name)
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(default)
            .clamp(1, max)
    };
    let phase = Duration::from_secs(setting("BENCH_SECONDS", 3, 10));
    let rounds = setting("BENCH_ROUNDS", 3, 9);
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
    let full_mix = server::reviews(MIX);
    let light_mix = Arc::new(
        MIX.iter()
            .zip(full_mix.iter())
            .filter(|((_, name), _)| !name.starts_with("schedule-"))
            .map(|(_, review)| Review {
                path: review.path.clone(),
                body: review.body.clone(),
            })
            .collect::<Vec<_>>(),
    );

    // BENCH_WEBHOOK_BIN: another build of the webhook than this crate's.
    let binary = std::env::var_os("BENCH_WEBHOOK_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_backstop-webhook")),
        PathBuf::from,
    );
    let compared = std::env::var_os("BENCH_COMPARE_BIN").map(PathBuf::from);

    let bare = start_bare(dir.path());
    let (webhook, startup) = start_webhook(dir.path(), &data, &binary, "webhook");
    let other = compared
        .as_ref()
        .map(|binary| start_webhook(dir.path(), &data, binary, "compared").0);
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
    let mut targets = vec![
        Target::new(&bare, "bare", &full_mix),
        Target::new(&webhook, "webhook, full mix", &full_mix),
        Target::new(&webhook, "webhook, Namespace/PVC only", &light_mix),
    ];
    if let Some(other) = &other {
        targets.push(Target::new(other, "compared, full mix", &full_mix));
        targets.push(Target::new(
            other,
            "compared, Namespace/PVC only",
            &light_mix,
        ));
    }
    for target in &targets {
        runtime.block_on(target.warm_up());
    }
    // Per target, per round: the best of the sweep, and the rate at SWEEP[0] connections.
    let mut peaks: Vec<Vec<Peak>> = targets.iter().map(|_| Vec::new()).collect();
    let mut firsts: Vec<Vec<Peak>> = targets.iter().map(|_| Vec::new()).collect();
    let mut errors = 0;
    for round in 1..=rounds {
        println!(
            "round {round} of {rounds}, {} s per phase:",
            phase.as_secs()
        );
        let mut sweeps: Vec<Vec<Peak>> = targets.iter().map(|_| Vec::new()).collect();
        for connections in SWEEP {
            for (target, sweep) in targets.iter().zip(sweeps.iter_mut()) {
                sweep.push(runtime.block_on(target.peak(phase, connections)));
            }
        }
        for ((sweep, peaks), firsts) in sweeps.into_iter().zip(&mut peaks).zip(&mut firsts) {
            errors += sweep.iter().map(|peak| peak.errors).sum::<u64>();
            firsts.push(sweep[0].clone());
            let best = sweep
                .into_iter()
                .max_by(|a, b| a.per_second.total_cmp(&b.per_second))
                .unwrap();
            peaks.push(best);
        }
    }
    let (after_peaks_rss, _) = webhook.rss_kib();
    println!();
    let fixed: Vec<Latency> = targets[..3]
        .iter()
        .map(|target| runtime.block_on(target.fixed_rate(phase)))
        .collect();
    let (rss, hwm) = webhook.rss_kib();
    let (bare_rss, _) = bare.rss_kib();

    println!();
    println!("median latency of each review alone (webhook), ms:");
    let medians = runtime.block_on(drive::per_review(
        webhook.addr,
        &connector(&webhook),
        &full_mix,
        200,
    ));
    for ((endpoint, name), median) in MIX.iter().zip(medians) {
        println!("  {median:>7.3}  /{endpoint} {name}");
    }

    let [bare_peaks, full_peaks, light_peaks] = &peaks[..3] else {
        unreachable!("the bare server and the webhook's two mixes are always measured")
    };
    let ratios = |of: &[Peak], to: &[Peak], by: &dyn Fn(&Peak) -> f64| -> Spread {
        Spread::of(
            of.iter()
                .zip(to)
                .map(|(webhook, bare)| by(webhook) / by(bare))
                .collect(),
        )
    };
    let value = |of: &[Peak], by: &dyn Fn(&Peak) -> f64| -> f64 {
        Spread::of(of.iter().map(by).collect()).median
    };
    println!();
    println!(
        "| measure | bare axum+rustls | webhook, full mix | ratio (range over {rounds} rounds) | webhook, Namespace/PVC reviews only | ratio (range) | target |"
    );
    println!("|---|---|---|---|---|---|---|");
    let row = |peaks: &[Vec<Peak>],
               label: &str,
               unit: &str,
               by: &dyn Fn(&Peak) -> f64,
               target: &str| {
        let precision = if unit == "req/s" { 0 } else { 1 };
        println!(
            "| {label} | {:.precision$} {unit} | {:.precision$} {unit} | {} | {:.precision$} {unit} | {} | {target} |",
            value(&peaks[0], by),
            value(&peaks[1], by),
            ratios(&peaks[1], &peaks[0], by),
            value(&peaks[2], by),
            ratios(&peaks[2], &peaks[0], by),
        );
    };
    let peak_row = |label: &str, unit: &str, by: &dyn Fn(&Peak) -> f64, target: &str| {
        row(&peaks, label, unit, by, target)
    };
    let sweep = SWEEP.map(|connections| connections.to_string()).join("/");
    peak_row(
        &format!("peak throughput (best of {sweep} keep-alive connections)"),
        "req/s",
        &|peak| peak.per_second,
        "≥ 0.60 × bare",
    );
    println!(
        "| connections at the peak, by round | {} | {} | | {} | | |",
        connection_counts(bare_peaks),
        connection_counts(full_peaks),
        connection_counts(light_peaks),
    );
    peak_row(
        "server CPU per request at peak",
        "µs",
        &|peak| peak.server_cpu_us,
        "",
    );
    peak_row(
        "machine CPU per request at peak (server + load generator)",
        "µs",
        &|peak| peak.machine_cpu_us,
        "",
    );
    row(
        &firsts,
        &format!("throughput at {} connections", SWEEP[0]),
        "req/s",
        &|peak| peak.per_second,
        "",
    );
    let latency_row = |label: &str, by: &dyn Fn(&Latency) -> f64, target: &str| {
        let [bare, full, light] = [0, 1, 2].map(|at| by(&fixed[at]));
        println!(
            "| {label} | {bare:.3} ms | {full:.3} ms | {:.2} | {light:.3} ms | {:.2} | {target} |",
            full / bare,
            light / bare
        );
    };
    latency_row(
        &format!("p50 at {RATE:.0} req/s"),
        &|stats| stats.p50_ms,
        "",
    );
    latency_row(
        &format!("p99 at {RATE:.0} req/s"),
        &|stats| stats.p99_ms,
        "< 2 ms",
    );
    println!(
        "| resident memory (VmRSS) after the load | {:.1} MiB | {:.1} MiB (peak {:.1}) | {:.2} | one process serves both mixes | | < 40 MiB |",
        kib_to_mib(bare_rss),
        kib_to_mib(rss),
        kib_to_mib(hwm),
        rss as f64 / bare_rss as f64,
    );
    println!(
        "webhook VmRSS right after the peak rounds: {:.1} MiB",
        kib_to_mib(after_peaks_rss)
    );
    println!(
        "webhook VmRSS once loaded, before any request: {:.1} MiB",
        kib_to_mib(idle_rss)
    );
    if let (Some(binary), [full_other, light_other]) = (&compared, &peaks[3..]) {
        println!();
        println!("compared build {}:", binary.display());
        for (mix, this, that) in [
            ("full mix", full_peaks, full_other),
            ("Namespace/PVC only", light_peaks, light_other),
        ] {
            println!(
                "  {mix:<20} peak {} × bare, {} × this build; server CPU per request {} × this build",
                ratios(that, bare_peaks, &|peak| peak.per_second),
                Spread::of(
                    that.iter()
                        .zip(this)
                        .map(|(that, this)| that.per_second / this.per_second)
                        .collect()
                ),
                Spread::of(
                    that.iter()
                        .zip(this)
                        .map(|(that, this)| that.server_cpu_us / this.server_cpu_us)
                        .collect()
                ),
            );
        }
    }
    let errors: u64 = errors + fixed.iter().map(|stats| stats.errors).sum::<u64>();
    println!("errors: {errors}");
    bare.stop();
    webhook.stop();
    if let Some(other) = other {
        other.stop();
    }
    assert_eq!(errors, 0, "every request must be answered with 200");
}

/// `64` when every round peaked at 64 connections, else each round's count: `32, 64, 64`.
fn connection_counts(peaks: &[Peak]) -> String {
    let counts: Vec<String> = peaks
        .iter()
        .map(|peak| peak.connections.to_string())
        .collect();
    if counts.iter().all(|count| *count == counts[0]) {
        counts[0].clone()
    } else {
        counts.join(", ")
    }
}

fn kib_to_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The median of a few measurements, with their range.
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    fn of(mut values: Vec<f64>) -> Self {
        values.sort_by(f64::total_cmp);
        Self {
            median: values[values.len() / 2],
            min: values[0],
            max: values[values.len() - 1],
        }
    }
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.2} ({:.2}–{:.2})", self.median, self.min, self.max)
    }
}

/// One closed-loop peak phase.
#[derive(Clone)]
struct Peak {
    connections: usize,
    per_second: f64,
    server_cpu_us: f64,
    machine_cpu_us: f64,
    errors: u64,
}

/// One open-loop phase at [`RATE`].
struct Latency {
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

/// A server driven with one mix of reviews.
struct Target<'a> {
    server: &'a Server,
    label: &'static str,
    reviews: &'a Arc<Vec<Review>>,
    connector: tokio_rustls::TlsConnector,
}

impl<'a> Target<'a> {
    fn new(server: &'a Server, label: &'static str, reviews: &'a Arc<Vec<Review>>) -> Self {
        Self {
            server,
            label,
            reviews,
            connector: connector(server),
        }
    }

    async fn warm_up(&self) {
        let warm_up = Duration::from_secs(1);
        drive::closed_loop(
            self.server.addr,
            &self.connector,
            self.reviews,
            SWEEP[0],
            warm_up,
        )
        .await;
    }

    /// Throughput over `connections` sending back to back, with the server's and the whole
    /// machine's CPU per request.
    async fn peak(&self, phase: Duration, connections: usize) -> Peak {
        let server_before = self.server.cpu_seconds();
        let machine_before = machine_cpu_seconds();
        let mut stats = drive::closed_loop(
            self.server.addr,
            &self.connector,
            self.reviews,
            connections,
            phase,
        )
        .await;
        let per_request = |seconds: f64| seconds / stats.requests as f64 * 1e6;
        let server_cpu_us = per_request(self.server.cpu_seconds() - server_before);
        let machine_cpu_us = per_request(machine_cpu_seconds() - machine_before);
        report(
            &format!("  peak, {connections:>2} connections"),
            self.label,
            &mut stats,
        );
        println!(
            "{:<48} {server_cpu_us:>6.1} µs server CPU, {machine_cpu_us:>6.1} µs machine CPU per request",
            ""
        );
        Peak {
            connections,
            per_second: stats.per_second(),
            server_cpu_us,
            machine_cpu_us,
            errors: stats.errors,
        }
    }

    async fn fixed_rate(&self, phase: Duration) -> Latency {
        let mut stats = drive::fixed_rate(
            self.server.addr,
            &self.connector,
            self.reviews,
            RATE_CONNECTIONS,
            RATE,
            phase,
        )
        .await;
        report(&format!("at {RATE:.0} req/s"), self.label, &mut stats);
        Latency {
            p50_ms: stats.percentile_ms(50.0),
            p99_ms: stats.percentile_ms(99.0),
            errors: stats.errors,
        }
    }
}

/// CPU time every process on the machine has used so far (all cores, user + system + irq), in
/// seconds, from `/proc/stat`.
fn machine_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap();
    let ticks: Vec<f64> = stat
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .skip(1)
        .map(|field| field.parse().unwrap())
        .collect();
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    let busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6];
    busy / 100.0 // USER_HZ
}
