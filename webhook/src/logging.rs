//! Logs: `tracing` with text or JSON lines on stderr, filtered by `RUST_LOG` (default
//! [`DEFAULT_FILTER`]).
//!
//! Per-request events belong at `debug`: an INFO line per request costs about as much CPU as the
//! whole decision (`docs/webhook.md`, "Logging"); the request span carries the fields.
//! Denials do log at `info`, so a logger only copies its line into memory, and a flusher thread
//! writes what has gathered at most 50 ms later, in one system call ([`batch`]). A sink that
//! cannot keep up makes loggers write themselves, and what is waiting is written when the guard
//! [`init`] returns drops at the end of `serve`; only a process killed outright (SIGKILL, abort)
//! loses the lines of its last 50 ms.

mod batch;

use std::io::{IsTerminal, Stderr};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

use crate::args::LogFormat;

pub use batch::FlushGuard;
use batch::{BatchLimits, batched};

/// The filter without `RUST_LOG`: `info`, but not kube-rs's own line per failed HTTP call
/// (an ERROR from its trace layer, a WARN when a watch body ends early). The caches log a
/// failing API server once per outage themselves (`cache/reflector.rs`); kube-rs would add a
/// line per retry.
pub const DEFAULT_FILTER: &str = "info,kube_client::client::builder=off,kube_client::client=error";

/// Installs the global subscriber. A second call (tests) keeps the first one and returns `None`.
/// Keep the returned guard for as long as the process logs: dropping it writes out what is still
/// waiting. Without a flusher thread (it could not be started) lines go straight to stderr.
pub fn init(format: LogFormat) -> Option<FlushGuard<Stderr>> {
    let (writer, guard) = match batched(std::io::stderr(), BatchLimits::default(), "backstop-log") {
        Ok((writer, guard)) => (BoxMakeWriter::new(writer), Some(guard)),
        Err(error) => {
            eprintln!("backstop-webhook: no log flusher thread ({error}); logging directly");
            (BoxMakeWriter::new(std::io::stderr), None)
        }
    };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal())
        .with_span_events(FmtSpan::NONE);
    let installed = match format {
        LogFormat::Text => builder.with_target(false).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
    // Not installed: the writer was dropped with the builder, and its flusher stops with this.
    guard.filter(|_| installed.is_ok())
}
