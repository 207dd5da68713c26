//! RTO, RPO and lost writes, measured from the data: the run's timeline, the
//! harness's ground truth of acknowledged writes, and the ledger read back after
//! the restore. Pure functions only.
//!
//! - **RPO** = fault time − timestamp of the newest record that was acknowledged
//!   before the fault and is present and chain-valid after the restore. The
//!   record's timestamp (writer clock) is placed on the harness's monotonic axis
//!   through the ground-truth observation that acknowledged it, so a wall-clock
//!   step between that record and the fault does not change the figure.
//! - **RTO** = data-verified − fault, from monotonic offsets, with every phase's duration.
//! - **Clock steps**: between any two consecutive harness stamps, the wall clock
//!   moving more or less than the monotonic clock (beyond NTP slewing) is a step;
//!   every step is reported.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::Stamp;
use crate::ground_truth::Ack;
use crate::ledger::verify::{Problem, TornTail, Verification};
use crate::timeline::{Phase, PhaseSpan, Timeline};

/// Wall and monotonic clocks may drift this much between two stamps without it being a step.
const STEP_TOLERANCE_NANOS: i128 = 1_000_000_000;
/// Plus this fraction of the interval (1/1000: twice NTP's maximum slew rate).
const STEP_TOLERANCE_PER_NANO: i128 = 1_000;

/// Everything measured about one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Measurement {
    pub phases: Vec<PhaseSpan>,
    pub rto: Option<Rto>,
    pub rpo: Rpo,
    pub ledger: LedgerFigures,
    pub clock_steps: Vec<ClockStep>,
}

/// Recovery time, monotonic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rto {
    pub ms: u64,
    /// Data-verified minus fault on the wall clock; differs from `ms` only if the clock stepped.
    pub wall_clock_ms: i64,
}

/// Recovery point: how much acknowledged history the restore lost, in time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rpo {
    /// `None` when it cannot be measured; `reason` says why.
    pub ms: Option<u64>,
    /// Fault wall time minus the record's own timestamp (no step correction).
    pub wall_clock_ms: Option<i64>,
    /// The newest acknowledged record that survived, chain-valid.
    pub newest_surviving_seq: Option<u64>,
    pub newest_surviving_unix_nanos: Option<u64>,
    pub reason: Option<String>,
}

/// What the ground truth and the restored ledger say about the writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LedgerFigures {
    /// Newest sequence number seen acknowledged at or before the fault.
    pub acknowledged_before_fault: Option<u64>,
    /// Intact records in the restored ledger (chain-valid or not).
    pub restored_records: u64,
    /// Restored records in the chain-valid prefix.
    pub chain_valid_records: u64,
    pub newest_valid_seq: Option<u64>,
    pub first_broken_seq: Option<u64>,
    pub problems: Vec<Problem>,
    pub torn_tail: Option<TornTail>,
    pub duplicates: Vec<u64>,
    /// Writes acknowledged before the fault that are not present and chain-valid.
    pub lost_acknowledged_writes: u64,
    /// Chain-valid records newer than anything seen acknowledged before the fault
    /// (written, maybe acknowledged, but never seen so by the harness).
    pub present_never_acknowledged: u64,
}

/// A jump of the wall clock relative to the monotonic clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClockStep {
    /// The step happened after this stamp (`start`, `phase backups`, `ack 812`)…
    pub after: String,
    /// …and before this one.
    pub before: String,
    /// Positive when the wall clock jumped forward.
    pub step_ms: i64,
    pub at: Stamp,
}

/// Measures a run. `restored` is the verification of the ledger read back after the
/// restore (`None` when the run never got that far).
pub fn measure(timeline: &Timeline, acks: &[Ack], restored: Option<&Verification>) -> Measurement {
    let fault = timeline.at(Phase::Fault);
    let acked_before_fault = fault.and_then(|f| newest_acked_by(acks, f));
    Measurement {
        phases: timeline.spans(),
        rto: rto(timeline),
        rpo: rpo(fault, acked_before_fault, acks, restored),
        ledger: ledger_figures(acked_before_fault, restored),
        clock_steps: clock_steps(timeline, acks),
    }
}

/// Newest sequence number acknowledged at or before `at`.
fn newest_acked_by(acks: &[Ack], at: Stamp) -> Option<u64> {
    acks.iter()
        .filter(|a| a.seen.mono_nanos <= at.mono_nanos)
        .map(|a| a.seq)
        .max()
}

/// Data-verified minus fault, on the monotonic axis.
pub fn rto(timeline: &Timeline) -> Option<Rto> {
    let fault = timeline.at(Phase::Fault)?;
    let verified = timeline.at(Phase::DataVerified)?;
    let nanos = verified.mono_nanos.checked_sub(fault.mono_nanos)?;
    Some(Rto {
        ms: nanos / 1_000_000,
        wall_clock_ms: millis(verified.wall_nanos() - fault.wall_nanos()),
    })
}

fn rpo(
    fault: Option<Stamp>,
    acked_before_fault: Option<u64>,
    acks: &[Ack],
    restored: Option<&Verification>,
) -> Rpo {
    let unmeasured = |reason: &str| Rpo {
        ms: None,
        wall_clock_ms: None,
        newest_surviving_seq: None,
        newest_surviving_unix_nanos: None,
        reason: Some(reason.to_owned()),
    };
    let Some(fault) = fault else {
        return unmeasured("the run has no fault phase");
    };
    let Some(acked) = acked_before_fault else {
        return unmeasured("no write was seen acknowledged before the fault");
    };
    let Some(restored) = restored else {
        return unmeasured("the restored ledger was never read");
    };
    let Some(record) = restored.newest_valid_at_or_below(acked) else {
        return unmeasured("no acknowledged record survived the restore chain-valid");
    };
    // The observation that first confirmed this record places it on the harness's axis.
    let confirming = acks
        .iter()
        .filter(|a| a.seq >= record.seq)
        .min_by_key(|a| a.seen.mono_nanos);
    let wall_clock = fault.wall_nanos() - i128::from(record.unix_nanos);
    let monotonic = match confirming {
        Some(a) => {
            let record_mono = i128::from(record.unix_nanos) - a.seen.offset_nanos();
            i128::from(fault.mono_nanos) - record_mono
        }
        None => wall_clock,
    };
    Rpo {
        ms: Some(u64::try_from(monotonic.max(0) / 1_000_000).unwrap_or(u64::MAX)),
        wall_clock_ms: Some(millis(wall_clock)),
        newest_surviving_seq: Some(record.seq),
        newest_surviving_unix_nanos: Some(record.unix_nanos),
        reason: None,
    }
}

fn ledger_figures(
    acked_before_fault: Option<u64>,
    restored: Option<&Verification>,
) -> LedgerFigures {
    let newest_valid = restored.and_then(|r| r.newest_valid_seq).unwrap_or(0);
    let acked = acked_before_fault.unwrap_or(0);
    LedgerFigures {
        acknowledged_before_fault: acked_before_fault,
        restored_records: restored.map_or(0, |r| r.records),
        chain_valid_records: restored.map_or(0, |r| r.chain_valid_records),
        newest_valid_seq: restored.and_then(|r| r.newest_valid_seq),
        first_broken_seq: restored.and_then(|r| r.first_broken_seq),
        problems: restored.map(|r| r.problems.clone()).unwrap_or_default(),
        torn_tail: restored.and_then(|r| r.torn_tail),
        duplicates: restored.map(|r| r.duplicates.clone()).unwrap_or_default(),
        // The chain-valid records are exactly 1..=newest_valid.
        lost_acknowledged_writes: acked - acked.min(newest_valid),
        present_never_acknowledged: newest_valid.saturating_sub(acked),
    }
}

/// Every wall-clock step between consecutive harness stamps (phase marks and ack observations).
pub fn clock_steps(timeline: &Timeline, acks: &[Ack]) -> Vec<ClockStep> {
    let mut stamps: Vec<(String, Stamp)> = vec![("start".to_owned(), timeline.started)];
    stamps.extend(
        timeline
            .marks
            .iter()
            .map(|m| (format!("phase {}", m.phase), m.at)),
    );
    stamps.extend(acks.iter().map(|a| (format!("ack {}", a.seq), a.seen)));
    stamps.sort_by_key(|(_, s)| s.mono_nanos);
    stamps
        .windows(2)
        .filter_map(|pair| {
            let [(before_label, before), (after_label, after)] = pair else {
                return None;
            };
            let mono = i128::from(after.mono_nanos) - i128::from(before.mono_nanos);
            let step = (after.wall_nanos() - before.wall_nanos()) - mono;
            let tolerance = STEP_TOLERANCE_NANOS + mono / STEP_TOLERANCE_PER_NANO;
            (step.abs() > tolerance).then(|| ClockStep {
                after: before_label.clone(),
                before: after_label.clone(),
                step_ms: millis(step),
                at: *after,
            })
        })
        .collect()
}

fn millis(nanos: i128) -> i64 {
    i64::try_from(nanos / 1_000_000).unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX })
}

impl Rto {
    pub fn duration(&self) -> Duration {
        Duration::from_millis(self.ms)
    }
}

#[cfg(test)]
mod tests;
