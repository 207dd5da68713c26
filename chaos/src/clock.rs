//! Timestamps that carry both the wall clock and a monotonic offset.
//!
//! Durations are taken from the monotonic offsets, which never jump; the wall
//! clock is kept to place a run in real time and to compare with the ledger's
//! own timestamps. Comparing the two across a run exposes wall-clock steps.

use std::time::{Instant, SystemTime};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One instant, as the harness saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Stamp {
    /// Wall-clock time (UTC, RFC 3339 in JSON).
    pub wall: DateTime<Utc>,
    /// Nanoseconds since the run's monotonic origin.
    pub mono_nanos: u64,
}

impl Stamp {
    /// Wall-clock time as nanoseconds since the Unix epoch (saturating far outside 1677–2262).
    pub fn wall_nanos(&self) -> i128 {
        i128::from(self.wall.timestamp()) * 1_000_000_000
            + i128::from(self.wall.timestamp_subsec_nanos())
    }

    /// Wall-clock minus monotonic: constant while the wall clock does not step.
    pub fn offset_nanos(&self) -> i128 {
        self.wall_nanos() - i128::from(self.mono_nanos)
    }
}

/// The harness's own clock for one run: monotonic from its start, with wall time beside it.
#[derive(Debug, Clone, Copy)]
pub struct RunClock {
    origin: Instant,
}

impl RunClock {
    /// Starts a run clock now.
    pub fn start() -> Self {
        Self {
            origin: Instant::now(),
        }
    }

    /// The current instant on this clock.
    pub fn now(&self) -> Stamp {
        let mono = self.origin.elapsed();
        Stamp {
            wall: DateTime::<Utc>::from(SystemTime::now()),
            mono_nanos: u64::try_from(mono.as_nanos()).unwrap_or(u64::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_clock_moves_forward_on_both_axes() {
        let clock = RunClock::start();
        let a = clock.now();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let b = clock.now();
        assert!(b.mono_nanos >= a.mono_nanos + 5_000_000);
        assert!(b.wall > a.wall);
    }

    #[test]
    fn offset_is_wall_minus_monotonic() {
        let s: Stamp =
            serde_json::from_str(r#"{"wall":"1970-01-01T00:00:10Z","monoNanos":4000000000}"#)
                .unwrap();
        assert_eq!(s.wall_nanos(), 10_000_000_000);
        assert_eq!(s.offset_nanos(), 6_000_000_000);
    }
}
