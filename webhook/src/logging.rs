//! Logs: `tracing` with text or JSON lines on stderr, filtered by `RUST_LOG` (default `info`).
//!
//! Per-request events belong at `debug`: an INFO line per request costs about as much CPU as the
//! whole decision (DESIGN.md, "Where webhook time goes"); the request span carries the fields.
//! Denials do log at `info`, so lines are handed to a writer thread (`tracing-appender`) that
//! writes whatever has queued up in one system call, instead of one `write` per line on the
//! request's thread. Nothing is dropped: a full queue makes the logger wait, and the queue is
//! flushed when the guard [`init`] returns drops at the end of `serve`.

use std::io::{BufWriter, IsTerminal};

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::args::LogFormat;

/// Lines that may wait for the writer thread before a logger waits for room.
const QUEUED_LINES: usize = 4096;

/// Installs the global subscriber. A second call (tests) keeps the first one. Keep the returned
/// guard for as long as the process logs: dropping it writes out what is still queued.
pub fn init(format: LogFormat) -> WorkerGuard {
    let (writer, guard) = NonBlockingBuilder::default()
        // The default (128,000 lines) preallocates ~4 MiB of queue up front.
        .buffered_lines_limit(QUEUED_LINES)
        .lossy(false)
        .thread_name("backstop-log")
        .finish(BufWriter::new(std::io::stderr()));
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal())
        .with_span_events(FmtSpan::NONE);
    let _ = match format {
        LogFormat::Text => builder.with_target(false).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
    guard
}
