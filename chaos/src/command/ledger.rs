//! `backstop-chaos ledger write|verify`.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::cli::{LedgerCommand, Output};
use crate::command::Outcome;
use crate::error::Error;
use crate::ledger::server::{Shared, router};
use crate::ledger::verify::{Verification, verify};
use crate::ledger::writer::{Ledger, StartId};
use crate::verdict::describe;

pub fn ledger(cmd: LedgerCommand) -> Result<Outcome, Error> {
    match cmd {
        LedgerCommand::Write {
            file,
            listen,
            interval,
            start_id,
        } => write(&file, &listen, interval, start_id).map(|()| Outcome::Pass),
        LedgerCommand::Verify { file, output } => verify_file(&file, output),
    }
}

fn verify_file(path: &Path, output: Output) -> Result<Outcome, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::ReadInput {
        path: path.to_owned(),
        source,
    })?;
    let v = verify(&bytes);
    match output {
        Output::Json => {
            let json = serde_json::to_string_pretty(&v).map_err(|e| Error::Io {
                path: path.to_owned(),
                source: std::io::Error::other(e),
            })?;
            println!("{json}");
        }
        Output::Text => print!("{}", text(path, &v)),
    }
    Ok(if v.is_intact() {
        Outcome::Pass
    } else {
        Outcome::Fail
    })
}

fn text(path: &Path, v: &Verification) -> String {
    let mut out = format!("{}: {} intact record(s)", path.display(), v.records);
    match (v.first_broken_seq, v.newest_valid_seq) {
        (None, Some(newest)) => out.push_str(&format!(", chain verifies from seq 1 to {newest}\n")),
        (None, None) => out.push_str(", no record\n"),
        (Some(seq), newest) => out.push_str(&format!(
            ", chain BROKEN at seq {seq} (newest valid: {})\n",
            newest.map_or_else(|| "none".to_owned(), |n| format!("seq {n}"))
        )),
    }
    for p in &v.problems {
        out.push_str(&format!("  problem: {}\n", describe(p)));
    }
    if let Some(t) = v.torn_tail {
        out.push_str(&format!(
            "  torn tail: seq {} ({} bytes at offset {}), not counted\n",
            t.seq, t.bytes, t.offset
        ));
    }
    if !v.duplicates.is_empty() {
        out.push_str(&format!("  duplicates: {:?}\n", v.duplicates));
    }
    out
}

fn unix_nanos_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Opens the ledger, writes the first record, then serves HTTP while a thread
/// appends one record per interval. Stops on SIGTERM/SIGINT, or when an append fails.
fn write(
    path: &Path,
    listen: &str,
    interval: Duration,
    start_id: Option<StartId>,
) -> Result<(), Error> {
    if interval.is_zero() {
        return Err(Error::InvalidArgument {
            argument: "--interval".into(),
            message: "must be positive".into(),
        });
    }
    let start_id = start_id.unwrap_or_else(|| StartId::fresh(unix_nanos_now()));
    let (mut ledger, startup) = Ledger::open(path, start_id)?;
    tracing::info!(
        file = %path.display(),
        found_records = startup.found.records,
        found_newest_valid = ?startup.found.newest_valid_seq,
        found_first_broken = ?startup.found.first_broken_seq,
        repaired = startup.repaired,
        start_id = startup.start_id.as_str(),
        kept_earlier_evidence = startup.kept_earlier_evidence,
        "ledger opened"
    );
    let stale_after = (interval * 3).max(Duration::from_secs(2));
    let shared = Shared::new(startup, path.to_owned(), stale_after);
    let first = ledger.append(unix_nanos_now())?;
    shared.acknowledge(&first);

    let serve_error = |source| Error::Serve {
        address: listen.to_owned(),
        source,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(serve_error)?;
    runtime.block_on(async {
        let listener = TcpListener::bind(listen).await.map_err(serve_error)?;
        let local = listener.local_addr().map_err(serve_error)?;
        println!("listening on {local}");
        let _ = std::io::stdout().flush();

        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = oneshot::channel::<()>();
        let appender = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                let result = append_until_stopped(&mut ledger, &shared, interval, &stop_rx);
                let _ = done_tx.send(());
                result
            })
        };
        let served = axum::serve(listener, router(shared))
            .with_graceful_shutdown(async move {
                tokio::select! {
                    () = shutdown_signal() => tracing::info!("shutting down"),
                    _ = done_rx => tracing::error!("appends stopped; shutting down"),
                }
            })
            .await
            .map_err(serve_error);
        let _ = stop_tx.send(());
        let appended = appender.join().unwrap_or_else(|_| {
            Err(Error::Io {
                path: path.to_owned(),
                source: std::io::Error::other("the append thread panicked"),
            })
        });
        served.and(appended)
    })
}

/// Appends and acknowledges one record per interval until told to stop.
fn append_until_stopped(
    ledger: &mut Ledger,
    shared: &Shared,
    interval: Duration,
    stop: &mpsc::Receiver<()>,
) -> Result<(), Error> {
    loop {
        match stop.recv_timeout(interval) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
        let record = ledger.append(unix_nanos_now())?;
        shared.acknowledge(&record);
        tracing::debug!(seq = record.seq, "acknowledged");
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
