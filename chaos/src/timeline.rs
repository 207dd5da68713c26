//! A run's phases, each marked by the instant it completed.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::clock::Stamp;
use crate::error::Error;

/// The phases of a run, in the order they happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Cluster and object store created.
    Provision,
    /// Velero installed and its backup location available.
    Install,
    /// Workload Ready and its writes being acknowledged.
    Steady,
    /// The backups the restore will use have completed.
    Backups,
    /// The fault struck (this phase is the wait for it).
    Fault,
    /// The harness saw the outage.
    Detect,
    /// After cluster loss: a new cluster created, Velero installed on the same bucket, and
    /// the backup to restore synced into it (only cluster-loss runs have this phase).
    Reprovision,
    /// The Restore was created.
    RestoreStart,
    /// The Restore reached a terminal phase.
    RestoreComplete,
    /// The workload's pods are Ready again.
    PodsReady,
    /// The restored ledger was read and verified.
    DataVerified,
    /// Cluster and store removed.
    Teardown,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; 12] = [
        Phase::Provision,
        Phase::Install,
        Phase::Steady,
        Phase::Backups,
        Phase::Fault,
        Phase::Detect,
        Phase::Reprovision,
        Phase::RestoreStart,
        Phase::RestoreComplete,
        Phase::PodsReady,
        Phase::DataVerified,
        Phase::Teardown,
    ];

    /// The name used in files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Provision => "provision",
            Self::Install => "install",
            Self::Steady => "steady",
            Self::Backups => "backups",
            Self::Fault => "fault",
            Self::Detect => "detect",
            Self::Reprovision => "reprovision",
            Self::RestoreStart => "restore-start",
            Self::RestoreComplete => "restore-complete",
            Self::PodsReady => "pods-ready",
            Self::DataVerified => "data-verified",
            Self::Teardown => "teardown",
        }
    }

    /// Whether this phase is part of recovery (between the fault and verified data).
    pub fn is_recovery(self) -> bool {
        self > Self::Fault && self <= Self::DataVerified
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The instant a phase completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Mark {
    pub phase: Phase,
    pub at: Stamp,
}

/// When a run started and when each phase completed. A run that stopped early
/// has fewer marks; the order is always [`Phase::ALL`]'s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Timeline {
    pub started: Stamp,
    pub marks: Vec<Mark>,
}

/// One phase with its start, end and monotonic duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PhaseSpan {
    pub phase: Phase,
    pub started: Stamp,
    pub ended: Stamp,
    pub duration_ms: u64,
}

impl Timeline {
    /// Problems that make the timeline unusable: phases out of order or repeated,
    /// monotonic offsets going backwards. Empty when it is sound.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut previous: Option<&Mark> = None;
        for mark in &self.marks {
            if mark.at.mono_nanos < self.started.mono_nanos {
                out.push(format!("{} is before the run started", mark.phase));
            }
            if let Some(p) = previous {
                if mark.phase <= p.phase {
                    out.push(format!("{} comes after {}", mark.phase, p.phase));
                }
                if mark.at.mono_nanos < p.at.mono_nanos {
                    out.push(format!(
                        "{}'s monotonic offset is before {}'s",
                        mark.phase, p.phase
                    ));
                }
            }
            previous = Some(mark);
        }
        out
    }

    /// When `phase` completed, if it did.
    pub fn at(&self, phase: Phase) -> Option<Stamp> {
        self.marks.iter().find(|m| m.phase == phase).map(|m| m.at)
    }

    /// Every completed phase with its duration (from the previous mark, or the start).
    pub fn spans(&self) -> Vec<PhaseSpan> {
        let mut start = self.started;
        self.marks
            .iter()
            .map(|mark| {
                let nanos = mark.at.mono_nanos.saturating_sub(start.mono_nanos);
                let span = PhaseSpan {
                    phase: mark.phase,
                    started: start,
                    ended: mark.at,
                    duration_ms: nanos / 1_000_000,
                };
                start = mark.at;
                span
            })
            .collect()
    }
}

/// Reads a timeline (JSON) and checks it is sound; errors name the file and field.
pub fn load(path: &Path) -> Result<Timeline, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadInput {
        path: path.to_owned(),
        source,
    })?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    let timeline: Timeline = serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        Error::invalid(path, field, e.into_inner().to_string())
    })?;
    match timeline.problems().into_iter().next() {
        Some(problem) => Err(Error::invalid(path, "marks", problem)),
        None => Ok(timeline),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn stamp(secs: u64) -> Stamp {
        Stamp {
            wall: DateTime::<Utc>::from_timestamp(1_750_000_000 + secs as i64, 0).unwrap(),
            mono_nanos: secs * 1_000_000_000,
        }
    }

    fn timeline(marks: &[(Phase, u64)]) -> Timeline {
        Timeline {
            started: stamp(0),
            marks: marks
                .iter()
                .map(|&(phase, s)| Mark {
                    phase,
                    at: stamp(s),
                })
                .collect(),
        }
    }

    #[test]
    fn each_phase_lasts_from_the_previous_mark_to_its_own() {
        let t = timeline(&[(Phase::Provision, 60), (Phase::Install, 150)]);
        let spans = t.spans();
        assert_eq!(spans[0].duration_ms, 60_000);
        assert_eq!(spans[1].duration_ms, 90_000);
        assert_eq!(spans[1].started, stamp(60));
        assert!(t.problems().is_empty());
    }

    #[test]
    fn phases_out_of_order_or_repeated_are_problems() {
        let t = timeline(&[(Phase::Install, 10), (Phase::Provision, 20)]);
        assert_eq!(t.problems(), vec!["provision comes after install"]);
        let t = timeline(&[(Phase::Fault, 10), (Phase::Fault, 20)]);
        assert_eq!(t.problems(), vec!["fault comes after fault"]);
    }

    #[test]
    fn a_monotonic_offset_going_backwards_is_a_problem() {
        let t = timeline(&[(Phase::Provision, 30), (Phase::Install, 20)]);
        assert_eq!(
            t.problems(),
            vec!["install's monotonic offset is before provision's"]
        );
    }

    #[test]
    fn phase_names_are_kebab_case_in_json() {
        for phase in Phase::ALL {
            let json = serde_json::to_string(&phase).unwrap();
            assert_eq!(json, format!("\"{}\"", phase.name()));
        }
    }

    #[test]
    fn recovery_phases_are_those_between_fault_and_verified_data() {
        let recovery: Vec<Phase> = Phase::ALL.into_iter().filter(|p| p.is_recovery()).collect();
        assert_eq!(
            recovery,
            vec![
                Phase::Detect,
                Phase::Reprovision,
                Phase::RestoreStart,
                Phase::RestoreComplete,
                Phase::PodsReady,
                Phase::DataVerified
            ]
        );
    }
}
