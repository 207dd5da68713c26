//! Soak: the real webhook binary (release build) under a fixed rate of reviews over TLS for a
//! long time, while its certificate rotates through a Kubernetes Secret volume's `..data`
//! symlink swap. On demand (`ci/soak.sh`), never in CI.
//!
//! The load generator is the load benchmark's (`load/drive.rs`, open loop at a fixed rate), run
//! one rotation period at a time on new connections, so every period's clients handshake after
//! the latest rotation; each period then checks that a new connection is served the latest
//! certificate. Resident memory is sampled every second. Reports failed requests, RSS at start
//! (loaded, before any request), peak and end, and the latency percentiles of the whole run;
//! exits non-zero on any failed request or a certificate not served.
//!
//! `SOAK_SECONDS` (default 1800), `SOAK_RATE` requests/s (default 1000), `SOAK_ROTATE_SECONDS`
//! (default 60), `SOAK_CONNECTIONS` (default 8). The data is the load benchmark's: 10,000
//! namespaces and 1,000 schedules over the platform fixtures (`SOAK_DATA=platform` for the
//! fixtures alone).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/certs.rs"]
mod certs;
#[path = "../tests/support/client.rs"]
mod client;
#[path = "load/dataset.rs"]
mod dataset;
#[path = "load/drive.rs"]
#[allow(dead_code)] // the closed-loop and per-review drivers are for the load benchmark
mod drive;
#[path = "../tests/support/secret_volume.rs"]
mod secret_volume;
#[path = "load/server.rs"]
#[allow(dead_code)] // each benchmark uses part of it
mod server;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use server::{Tls, repo, rss_kib};

/// The load benchmark's mix, mutate-heavy as a cluster sends it.
const MIX: &[(&str, &str)] = &[
    ("mutate", "namespace-create-protected-missing-tier"),
    ("mutate", "pvc-create-in-protected-namespace"),
    ("mutate", "namespace-create-unprotected"),
    (
        "mutate",
        "namespace-update-adds-a-label-to-a-protected-namespace",
    ),
    ("mutate", "configmap-create-unknown-kind"),
    ("mutate", "pvc-update-removes-tier-annotation"),
    ("validate", "namespace-create-protected-missing-tier"),
    ("validate", "pvc-create-in-protected-namespace"),
    (
        "validate",
        "schedule-update-critical-backup-every-two-hours",
    ),
    ("validate", "namespace-create-unprotected"),
];

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .filter(|value| *value > 0)
        .unwrap_or(default)
}

/// The machine's 1, 5 and 15 minute load averages (`/proc/loadavg`): other work on the machine
/// shares the cores with the server and the load generator.
fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return; // `cargo test --benches` lists benchmarks: there is nothing to list.
    }
    let seconds = setting("SOAK_SECONDS", 1800);
    let rate = setting("SOAK_RATE", 1000) as f64;
    let rotate = Duration::from_secs(setting("SOAK_ROTATE_SECONDS", 60));
    let connections = usize::try_from(setting("SOAK_CONNECTIONS", 8)).unwrap();
    let duration = Duration::from_secs(seconds);

    backstop_webhook::tls::install_default_provider();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    if std::env::var("SOAK_DATA").as_deref() == Ok("platform") {
        dataset::copy_dir(&repo().join("fixtures/platform"), &data);
    } else {
        dataset::write(&data, &repo().join("fixtures/platform"));
    }
    let ca = certs::TestCa::new();
    let mut serial = 1;
    let mut leaf = ca.leaf(serial);
    let volume = secret_volume::SecretVolume::new(&leaf);
    let paths = volume.paths();

    let ca_pem = dir.path().join("ca.pem");
    std::fs::write(&ca_pem, &ca.pem).unwrap();
    let started = server::start_webhook(
        Path::new(env!("CARGO_BIN_EXE_backstop-webhook")),
        dir.path(),
        &data,
        "webhook",
        Tls::Files {
            cert: &paths.cert,
            key: &paths.key,
            ca: &ca_pem,
        },
        "json",
        Duration::from_secs(120),
    );
    let (webhook, log) = (started.server, started.log);
    let addr = webhook.addr;
    let pid = webhook.pid();
    let (rss_start, _) = rss_kib(pid);
    println!(
        "soak: {seconds} s at {rate:.0} req/s over {connections} connections, rotating every {} s; webhook ready in {:.1} s, RSS {:.1} MiB",
        rotate.as_secs(),
        started.startup.as_secs_f64(),
        mib(rss_start)
    );

    // RSS every second, on its own thread.
    let sampling = Arc::new(AtomicBool::new(true));
    let peak = Arc::new(AtomicU64::new(rss_start));
    let sampler = {
        let (sampling, peak) = (Arc::clone(&sampling), Arc::clone(&peak));
        std::thread::spawn(move || {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid).0, Ordering::Relaxed);
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    };

    let reviews = server::reviews(MIX);
    let connector = client::connector(&ca.pem, &[&rustls::version::TLS13, &rustls::version::TLS12]);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut total = drive::Stats::default();
    let mut rotations = 0u32;
    let mut unseen = 0u32;
    let deadline = Instant::now() + duration;
    let mut period = 0u32;
    while Instant::now() < deadline {
        if period > 0 {
            serial += 1;
            leaf = ca.leaf(serial);
            volume.rotate_to(serial, &leaf);
            rotations += 1;
        }
        period += 1;
        let length = rotate.min(deadline.saturating_duration_since(Instant::now()));
        let mut stats = runtime.block_on(drive::fixed_rate(
            addr,
            &connector,
            &reviews,
            connections,
            rate,
            length,
        ));
        // The serving side re-reads the files every 2 s: by the end of a period, new
        // connections must see this period's certificate.
        let served = runtime
            .block_on(client::connect(&connector, addr))
            .map(|connection| connection.leaf);
        let current = served.as_deref() == Ok(leaf.der.as_slice());
        if !current {
            unseen += 1;
        }
        println!(
            "  period {period}: {:.0} req/s, p99 {:.3} ms, {} failed, RSS {:.1} MiB, latest certificate served: {current}, load average {}",
            stats.per_second(),
            stats.percentile_ms(99.0),
            stats.errors,
            mib(rss_kib(pid).0),
            load_average()
        );
        let took = stats.elapsed;
        total.merge(stats);
        total.elapsed += took;
    }
    sampling.store(false, Ordering::Relaxed);
    sampler.join().unwrap();
    let (rss_end, high_water) = rss_kib(pid);
    let peak = peak.load(Ordering::Relaxed).max(rss_end);
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!("| duration | {seconds} s |");
    println!("| target rate | {rate:.0} req/s |");
    println!("| achieved rate | {:.0} req/s |", total.per_second());
    println!("| requests | {} |", total.requests);
    println!("| failed requests | {} |", total.errors);
    println!(
        "| certificate rotations | {rotations} (every {} s) |",
        rotate.as_secs()
    );
    println!("| periods whose new connections missed the latest certificate | {unseen} |");
    println!("| p50 | {:.3} ms |", total.percentile_ms(50.0));
    println!("| p99 | {:.3} ms |", total.percentile_ms(99.0));
    println!("| p99.9 | {:.3} ms |", total.percentile_ms(99.9));
    println!(
        "| RSS start / peak / end (sampled every second once serving) | {:.1} / {:.1} / {:.1} MiB |",
        mib(rss_start),
        mib(peak),
        mib(rss_end)
    );
    println!(
        "| RSS high-water mark (VmHWM, loading included) | {:.1} MiB |",
        mib(high_water)
    );
    let reloads = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .matches("serving the rotated certificate")
        .count();
    println!("| reloads logged by the webhook | {reloads} |");
    webhook.stop();
    assert_eq!(total.errors, 0, "every request must be answered with 200");
    assert_eq!(
        unseen, 0,
        "new connections must be served the latest certificate"
    );
}
