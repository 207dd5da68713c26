//! The verdict: pure functions from what a run established to named checks, each
//! pass or fail with its evidence, and from the checks to pass or fail.
//!
//! A run passes only if the restore is `Completed` (`PartiallyFailed` fails), the
//! pods are Ready, the restored chain verifies, and RTO and RPO are within targets.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use policy::duration::format_elapsed;

use crate::ledger::verify::Problem;
use crate::measure::{ClockStep, LedgerFigures, Rpo, Rto};
use crate::outcome::{PodsOutcome, RestoreOutcome, RestorePhase, TargetsMs};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckName {
    RestoreCompleted,
    PodsReady,
    ChainVerifies,
    RtoWithinTarget,
    RpoWithinTarget,
    /// Drills only (`crate::drill::record`).
    CompletedBackupFound,
    RestoreCreated,
    ServiceChecksPass,
    RestoredMatchesBackup,
    CleanedUp,
}

impl CheckName {
    pub fn name(self) -> &'static str {
        match self {
            Self::RestoreCompleted => "restore-completed",
            Self::PodsReady => "pods-ready",
            Self::ChainVerifies => "chain-verifies",
            Self::RtoWithinTarget => "rto-within-target",
            Self::RpoWithinTarget => "rpo-within-target",
            Self::CompletedBackupFound => "completed-backup-found",
            Self::RestoreCreated => "restore-created",
            Self::ServiceChecksPass => "service-checks-pass",
            Self::RestoredMatchesBackup => "restored-matches-backup",
            Self::CleanedUp => "cleaned-up",
        }
    }
}

impl fmt::Display for CheckName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One check: its outcome and the evidence for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Check {
    pub name: CheckName,
    pub passed: bool,
    pub evidence: String,
}

/// What the checks look at.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    pub restore: Option<&'a RestoreOutcome>,
    pub pods: &'a PodsOutcome,
    pub ledger: &'a LedgerFigures,
    pub rto: Option<&'a Rto>,
    pub rpo: &'a Rpo,
    pub targets: TargetsMs,
    pub clock_steps: &'a [ClockStep],
}

/// Every check, in a fixed order.
pub fn checks(e: &Evidence<'_>) -> Vec<Check> {
    vec![
        restore_completed(e.restore),
        Check {
            name: CheckName::PodsReady,
            passed: e.pods.ready,
            evidence: e.pods.detail.clone(),
        },
        chain_verifies(e.ledger),
        rto_within_target(e.rto, e.targets.rto_ms, e.clock_steps),
        rpo_within_target(e.rpo, e.ledger, e.targets.rpo_ms, e.clock_steps),
    ]
}

/// Pass only when every check passed.
pub fn verdict(checks: &[Check]) -> Verdict {
    if checks.iter().all(|c| c.passed) {
        Verdict::Pass
    } else {
        Verdict::Fail
    }
}

/// `restore-completed`: the Restore reached `Completed` (`PartiallyFailed` is a failure).
pub fn restore_completed(restore: Option<&RestoreOutcome>) -> Check {
    let (passed, evidence) = match restore {
        None => (false, "no Restore was created".to_owned()),
        Some(r) => {
            let mut text = format!(
                "Restore {} from backup {}: {}",
                r.name,
                r.backup,
                r.phase.name()
            );
            match r.phase {
                RestorePhase::Completed => {}
                RestorePhase::PartiallyFailed => {
                    text.push_str(" (a partial restore is a failed restore)");
                }
                _ => text.push_str(" (not Completed)"),
            }
            text.push_str(&format!(
                ", {} warning(s), {} error(s)",
                r.warnings.len(),
                r.errors.len()
            ));
            if let Some(first) = r.errors.first() {
                text.push_str(&format!("; first error: {first}"));
            }
            (r.phase == RestorePhase::Completed, text)
        }
    };
    Check {
        name: CheckName::RestoreCompleted,
        passed,
        evidence,
    }
}

fn chain_verifies(l: &LedgerFigures) -> Check {
    let (passed, mut evidence) = match (l.first_broken_seq, l.newest_valid_seq) {
        (Some(seq), _) => (
            false,
            format!(
                "the restored chain breaks at seq {seq}: {}; {} record(s) verify before it",
                l.problems
                    .first()
                    .map_or_else(|| "unknown problem".to_owned(), describe),
                l.chain_valid_records
            ),
        ),
        (None, None) => (false, "the restored ledger holds no record".to_owned()),
        (None, Some(newest)) => (
            true,
            format!(
                "{} record(s) verify, seq 1 to {newest}",
                l.chain_valid_records
            ),
        ),
    };
    if let Some(t) = l.torn_tail {
        evidence.push_str(&format!(
            "; torn write of seq {} ({} bytes) at the end, never acknowledged, not counted",
            t.seq, t.bytes
        ));
    }
    if !l.duplicates.is_empty() {
        evidence.push_str(&format!(
            "; {} duplicated record(s), first seq {}",
            l.duplicates.len(),
            l.duplicates[0]
        ));
    }
    Check {
        name: CheckName::ChainVerifies,
        passed,
        evidence,
    }
}

/// One line for a chain problem.
pub fn describe(p: &Problem) -> String {
    match p {
        Problem::Damaged {
            seq,
            last_seq: Some(last),
            offset,
            bytes,
        } if last > seq => {
            format!("{bytes} damaged byte(s) at offset {offset} in place of seq {seq} to {last}")
        }
        Problem::Damaged {
            seq,
            last_seq: Some(_),
            offset,
            bytes,
        } => format!("{bytes} damaged byte(s) at offset {offset} in place of seq {seq}"),
        Problem::Damaged {
            seq,
            last_seq: None,
            offset,
            bytes,
        } => format!("{bytes} foreign byte(s) at offset {offset}, before seq {seq}"),
        Problem::Missing { from, to, .. } if from == to => format!("seq {from} is missing"),
        Problem::Missing { from, to, .. } => format!("seq {from} to {to} are missing"),
        Problem::BrokenLink { seq, .. } => {
            format!("seq {seq} does not carry the hash of the record before it")
        }
        Problem::OutOfOrder { seq, expected, .. } => {
            format!("seq {seq} appears where seq {expected} belongs")
        }
        Problem::DamagedTail { seq, bytes, .. } => {
            format!("the last {bytes} byte(s), from seq {seq} on, are damaged")
        }
    }
}

fn rto_within_target(rto: Option<&Rto>, target_ms: u64, steps: &[ClockStep]) -> Check {
    let target = format_elapsed(Duration::from_millis(target_ms));
    let (passed, mut evidence) = match rto {
        None => (
            false,
            "RTO not measured: the run never verified restored data".to_owned(),
        ),
        Some(r) => {
            let passed = r.ms <= target_ms;
            let relation = if passed { "within" } else { "over" };
            (
                passed,
                format!(
                    "RTO {} ({relation} the {target} target), fault to data verified on the monotonic clock",
                    format_elapsed(r.duration())
                ),
            )
        }
    };
    evidence.push_str(&clock_note(steps));
    Check {
        name: CheckName::RtoWithinTarget,
        passed,
        evidence,
    }
}

fn rpo_within_target(rpo: &Rpo, l: &LedgerFigures, target_ms: u64, steps: &[ClockStep]) -> Check {
    let target = format_elapsed(Duration::from_millis(target_ms));
    let (passed, mut evidence) = match (rpo.ms, rpo.newest_surviving_seq) {
        (Some(ms), Some(seq)) => {
            let passed = ms <= target_ms;
            let relation = if passed { "within" } else { "over" };
            (
                passed,
                format!(
                    "RPO {} ({relation} the {target} target): the newest surviving acknowledged write is seq {seq}; {} acknowledged write(s) lost",
                    format_elapsed(Duration::from_millis(ms)),
                    l.lost_acknowledged_writes
                ),
            )
        }
        _ => (
            false,
            format!(
                "RPO not measured: {}; {} acknowledged write(s) lost",
                rpo.reason.as_deref().unwrap_or("unknown reason"),
                l.lost_acknowledged_writes
            ),
        ),
    };
    if l.present_never_acknowledged > 0 {
        evidence.push_str(&format!(
            "; {} restored record(s) were never seen acknowledged",
            l.present_never_acknowledged
        ));
    }
    evidence.push_str(&clock_note(steps));
    Check {
        name: CheckName::RpoWithinTarget,
        passed,
        evidence,
    }
}

/// "; the wall clock stepped +1h 00m 00s after phase backups — not counted".
fn clock_note(steps: &[ClockStep]) -> String {
    steps
        .iter()
        .map(|s| {
            let sign = if s.step_ms < 0 { "-" } else { "+" };
            format!(
                "; the wall clock stepped {sign}{} between {} and {}, not counted",
                format_elapsed(Duration::from_millis(s.step_ms.unsigned_abs())),
                s.after,
                s.before
            )
        })
        .collect()
}

#[cfg(test)]
mod tests;
