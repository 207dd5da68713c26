//! What a person sees on stderr while a run goes: the phase, the time since the start and
//! the last event. On a terminal one status line is redrawn in place; otherwise (CI logs,
//! a pipe) every event is one plain line with a UTC timestamp.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use policy::duration::format_whole;

use crate::timeline::Phase;

/// Where the progress goes and how it is drawn.
pub struct Progress {
    out: Mutex<Box<dyn Write + Send>>,
    terminal: bool,
    started: Instant,
    phase: Mutex<Option<Phase>>,
    last_event: Mutex<String>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("terminal", &self.terminal)
            .finish_non_exhaustive()
    }
}

impl Progress {
    /// Progress on `out`; `terminal` redraws one line in place.
    pub fn new(out: Box<dyn Write + Send>, terminal: bool) -> Self {
        Self {
            out: Mutex::new(out),
            terminal,
            started: Instant::now(),
            phase: Mutex::new(None),
            last_event: Mutex::new(String::new()),
        }
    }

    /// Progress on stderr, redrawn in place only when stderr is a terminal.
    pub fn stderr() -> Self {
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        Self::new(Box::new(std::io::stderr()), terminal)
    }

    /// The run entered `phase`.
    pub fn phase(&self, phase: Phase, event: &str) {
        *self
            .phase
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(phase);
        self.event(event);
    }

    /// Something happened in the current phase. On a terminal it stays on screen as a line
    /// of its own and the status line below it is redrawn; elsewhere it is one plain line
    /// with a UTC timestamp.
    pub fn event(&self, event: &str) {
        event.clone_into(
            &mut self
                .last_event
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let line = line(self.current(), self.started.elapsed(), event);
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = if self.terminal {
            writeln!(out, "\r\x1b[2K{line}")
                .and_then(|()| write!(out, "{}", self.status_line(event)))
        } else {
            let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
            writeln!(out, "{now} {line}")
        };
        let _ = out.flush();
    }

    /// On a terminal, redraws the status line every second (the elapsed time moves while a
    /// wait lasts); elsewhere nothing (a log gets a line per event, not per second). Never
    /// returns: the engine runs it beside the sequence.
    pub async fn tick_every_second(&self) -> std::convert::Infallible {
        loop {
            if !self.terminal {
                return std::future::pending().await;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            let event = self
                .last_event
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            let status = self.status_line(&event);
            let mut out = self
                .out
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let _ = write!(out, "{status}").and_then(|()| out.flush());
        }
    }

    fn current(&self) -> Option<Phase> {
        *self
            .phase
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The terminal's status line: cleared, then the phase, the elapsed time and the start of
    /// the last event (short enough not to wrap on a narrow terminal, which would break the
    /// redraw).
    fn status_line(&self, event: &str) -> String {
        let short: String = event.chars().take(STATUS_EVENT_CHARS).collect();
        let more = if short.len() < event.len() { "…" } else { "" };
        format!(
            "\r\x1b[2K{}",
            line(
                self.current(),
                self.started.elapsed(),
                &format!("{short}{more}")
            )
        )
    }

    /// The run is over: end the status line (terminal) so what follows starts afresh.
    pub fn finish(&self, event: &str) {
        self.event(event);
        if self.terminal {
            let mut out = self
                .out
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let _ = write!(out, "\r\x1b[2K");
            let _ = out.flush();
        }
    }
}

/// How much of the last event the terminal's status line shows.
const STATUS_EVENT_CHARS: usize = 60;

/// `[phase 3m12s] event`: the words of one progress line (whole seconds since the start).
pub fn line(phase: Option<Phase>, elapsed: Duration, event: &str) -> String {
    let phase = phase.map_or("start", Phase::name);
    let elapsed = format_whole(Duration::from_secs(elapsed.as_secs()));
    format!("[{phase} {elapsed}] {event}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_names_the_phase_the_elapsed_time_and_the_event() {
        assert_eq!(
            line(
                Some(Phase::Backups),
                Duration::from_millis(192_400),
                "waiting"
            ),
            "[backups 3m12s] waiting"
        );
        assert_eq!(line(None, Duration::from_millis(400), "x"), "[start 0s] x");
    }
}
