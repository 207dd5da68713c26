//! `backstop-webhook serve`: load the policy, start the caches, TLS and both listeners, and run
//! until SIGTERM/SIGINT. Exit codes: 0 clean shutdown, 2 bad configuration, 3 runtime failure.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use policy::{CoverageIndex, Inventory};
use tokio::sync::watch;

use crate::WebhookError;
use crate::admission::AdmissionLimits;
use crate::args::ServeArgs;
use crate::cache::cluster::{self, ClusterOptions};
use crate::cache::evidence::{self, EvidenceOptions};
use crate::cache::{IndexBuilder, offline};
use crate::dev_cert::DevCert;
use crate::manifests::load_policy;
use crate::metrics::Metrics;
use crate::server::{self, HttpsLimits};
use crate::state::AppState;
use crate::tls::{self, CertFiles, CertResolver, Reloader};

/// How often the certificate files are re-read (Secret volumes update within about a minute).
pub const TLS_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Threads for blocking work (tokio's default is 512).
const BLOCKING_THREADS: usize = 4;

pub fn run(args: ServeArgs) -> ExitCode {
    let _log = crate::logging::init(args.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // CPU-bound work (Schedule reviews, index rebuilds) runs on the blocking pool: more
        // threads than cores only add allocator arenas and memory, not throughput.
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
    {
        Ok(runtime) => runtime,
        Err(source) => {
            let error = WebhookError::Start {
                what: "the async runtime",
                source,
            };
            eprintln!("backstop-webhook serve: {error}");
            return ExitCode::from(error.exit_code());
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => {
            tracing::info!("shut down cleanly");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "backstop-webhook serve failed");
            eprintln!("backstop-webhook serve: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), WebhookError> {
    tls::install_default_provider();
    let policy = Arc::new(load_policy(&args.policy)?);
    let metrics = Arc::new(Metrics::new());
    let state = AppState::new(
        CoverageIndex::build(Arc::clone(&policy), Inventory::default()),
        Arc::clone(&metrics),
        args.timeout_decision,
    )
    .with_max_cache_staleness(args.max_cache_staleness);
    let (resolver, reloader) = tls_setup(&args, &metrics)?;
    let tls_config = Arc::new(tls::server_config(resolver)?);

    let (stop_tx, stop_rx) = watch::channel(false);
    let https = server::bind(args.listen).await?;
    let probes = server::bind(args.probe_listen).await?;
    tracing::info!(
        https = %https.local_addr().map_or(args.listen, |addr| addr),
        probes = %probes.local_addr().map_or(args.probe_listen, |addr| addr),
        enforcement = policy.enforcement.as_str(),
        "listening"
    );
    // Probes first: liveness answers while the caches load.
    let mut probe_task = tokio::spawn(server::serve_probes(probes, state.clone(), stop_rx.clone()));

    let mut builder = IndexBuilder::new(Arc::clone(&policy), state.clone());
    let cache_task = match &args.schedules_from {
        Some(dir) => {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || offline::load(&dir, &mut builder))
                .await
                .map_err(|source| WebhookError::Task {
                    what: "loading manifests",
                    source,
                })??;
            None
        }
        None => {
            let client = kube::Client::try_default()
                .await
                .map_err(WebhookError::KubeClient)?;
            // Evidence of what the last backups hold: metrics only, off the request path.
            evidence::spawn(
                client.clone(),
                state.clone(),
                EvidenceOptions::default(),
                stop_rx.clone(),
            );
            Some(cluster::spawn(
                client,
                builder,
                ClusterOptions::default(),
                stop_rx.clone(),
            ))
        }
    };
    if let Some(reloader) = reloader {
        tokio::spawn(reloader.run(TLS_POLL_INTERVAL, stop_rx.clone()));
    }
    let mut https_task = tokio::spawn(server::serve_https(
        https,
        tls_config,
        crate::admission::router_with_limits(state.clone(), admission_limits(&args)),
        stop_rx,
        https_limits(&args),
    ));

    let failure = tokio::select! {
        signal = shutdown_signal() => {
            tracing::info!(signal, "shutting down: draining in-flight requests");
            None
        }
        outcome = &mut https_task => Some(task_error("https server", outcome)),
        outcome = &mut probe_task => Some(task_error("probe server", outcome)),
    };
    state.set_ready(false);
    let _ = stop_tx.send(true);
    if let Some(error) = failure {
        return Err(error);
    }
    let https_outcome = https_task.await;
    let probe_outcome = probe_task.await;
    if let Some(task) = cache_task {
        let _ = task.await;
    }
    flatten("https server", https_outcome)?;
    flatten("probe server", probe_outcome)?;
    Ok(())
}

fn https_limits(args: &ServeArgs) -> HttpsLimits {
    HttpsLimits {
        handshake: args.tls_handshake_timeout,
        header_read: args.header_read_timeout,
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        ..HttpsLimits::default()
    }
}

fn admission_limits(args: &ServeArgs) -> AdmissionLimits {
    AdmissionLimits {
        max_in_flight: usize::try_from(args.max_in_flight).unwrap_or(usize::MAX),
        body_read: args.body_read_timeout,
    }
}

fn tls_setup(
    args: &ServeArgs,
    metrics: &Arc<Metrics>,
) -> Result<(Arc<CertResolver>, Option<Reloader>), WebhookError> {
    if args.dev {
        let dev = DevCert::generate()?;
        if let Some(path) = &args.dev_ca_out {
            dev.write_ca(path)?;
            tracing::info!(ca = %path.display(), "--dev: self-signed CA written");
        }
        return Ok((Arc::new(CertResolver::new(dev.certified_key()?)), None));
    }
    let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) else {
        return Err(WebhookError::Usage(
            "--tls-cert and --tls-key are required without --dev".to_string(),
        ));
    };
    let reloader = Reloader::load(
        CertFiles {
            cert: cert.clone(),
            key: key.clone(),
        },
        Arc::clone(metrics),
    )?;
    Ok((reloader.resolver(), Some(reloader)))
}

/// Waits for SIGTERM (Kubernetes) or SIGINT (Ctrl-C) and names it.
async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = tokio::signal::ctrl_c() => "SIGINT",
        },
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops the server");
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}

type TaskOutcome = Result<Result<(), WebhookError>, tokio::task::JoinError>;

fn flatten(what: &'static str, outcome: TaskOutcome) -> Result<(), WebhookError> {
    match outcome {
        Ok(result) => result,
        Err(source) => Err(WebhookError::Task { what, source }),
    }
}

/// A server task that ended before shutdown was asked for is a failure even if it returned Ok.
fn task_error(what: &'static str, outcome: TaskOutcome) -> WebhookError {
    match flatten(what, outcome) {
        Ok(()) => WebhookError::Stopped { what },
        Err(error) => error,
    }
}
