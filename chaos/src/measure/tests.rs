use chrono::{DateTime, Utc};

use super::*;
use crate::ledger::verify::verify;
use crate::ledger::{RECORD_LEN, chain, encode_all};
use crate::timeline::Mark;

const SEC: u64 = 1_000_000_000;
/// Wall-clock time of the run's monotonic origin.
const ORIGIN: i64 = 1_750_000_000;

/// A stamp `secs` into the run, with the wall clock `wall_shift` seconds off the monotonic one.
fn at(secs: u64, wall_shift: i64) -> Stamp {
    Stamp {
        wall: DateTime::<Utc>::from_timestamp(ORIGIN + secs as i64 + wall_shift, 0).unwrap(),
        mono_nanos: secs * SEC,
    }
}

/// Writer's timestamp of a record written `secs` into the run.
fn written(secs: u64, wall_shift: i64) -> u64 {
    ((ORIGIN + secs as i64 + wall_shift) as u64) * SEC
}

fn timeline(marks: &[(Phase, u64)]) -> Timeline {
    Timeline {
        started: at(0, 0),
        marks: marks
            .iter()
            .map(|&(phase, s)| Mark {
                phase,
                at: at(s, 0),
            })
            .collect(),
    }
}

/// Fault at 600 s, restore done and data verified at 800 s.
fn recovery() -> Timeline {
    timeline(&[
        (Phase::Provision, 60),
        (Phase::Install, 120),
        (Phase::Steady, 150),
        (Phase::Backups, 300),
        (Phase::Fault, 600),
        (Phase::Detect, 610),
        (Phase::RestoreStart, 630),
        (Phase::RestoreComplete, 720),
        (Phase::PodsReady, 780),
        (Phase::DataVerified, 800),
    ])
}

/// Writer: record `n` written at `100 + n` s. Harness polls every 10 s from 110 s to 590 s.
fn acks_until(last_poll: u64) -> Vec<Ack> {
    (110..=last_poll)
        .step_by(10)
        .map(|s| Ack {
            seq: s - 100,
            unix_nanos: written(s, 0),
            seen: at(s, 0),
        })
        .collect()
}

/// The ledger as it was `secs` into the run (records 1..=secs-100).
fn ledger_at(secs: u64) -> Vec<u8> {
    encode_all(&chain(secs - 100, written(101, 0), SEC))
}

#[test]
fn rpo_is_fault_time_minus_the_newest_surviving_acknowledged_record() {
    // Backup at 500 s holds records 1..=400; the fault strikes at 600 s.
    let restored = verify(&ledger_at(500));
    let m = measure(&recovery(), &acks_until(590), Some(&restored));
    assert_eq!(m.rpo.newest_surviving_seq, Some(400));
    assert_eq!(m.rpo.ms, Some(100_000));
    assert_eq!(m.rpo.wall_clock_ms, Some(100_000));
    assert_eq!(m.rpo.reason, None);
}

#[test]
fn counts_acknowledged_writes_the_restore_lost() {
    let restored = verify(&ledger_at(500));
    let m = measure(&recovery(), &acks_until(590), Some(&restored));
    assert_eq!(m.ledger.acknowledged_before_fault, Some(490));
    assert_eq!(m.ledger.lost_acknowledged_writes, 90);
    assert_eq!(m.ledger.present_never_acknowledged, 0);
}

#[test]
fn reports_restored_records_never_seen_acknowledged() {
    // The last poll before the fault was at 550 s (seq 450); the backup has up to seq 495.
    let restored = verify(&ledger_at(595));
    let m = measure(&recovery(), &acks_until(550), Some(&restored));
    assert_eq!(m.ledger.acknowledged_before_fault, Some(450));
    assert_eq!(m.ledger.present_never_acknowledged, 45);
    assert_eq!(m.ledger.lost_acknowledged_writes, 0);
    // RPO counts only what was seen acknowledged: seq 450, written at 550 s.
    assert_eq!(m.rpo.newest_surviving_seq, Some(450));
    assert_eq!(m.rpo.ms, Some(50_000));
}

#[test]
fn a_corrupted_record_moves_the_recovery_point_back_to_the_record_before_it() {
    let mut bytes = ledger_at(500);
    bytes[(300 - 1) * RECORD_LEN + 13] ^= 0x40;
    let restored = verify(&bytes);
    let m = measure(&recovery(), &acks_until(590), Some(&restored));
    assert_eq!(m.ledger.first_broken_seq, Some(300));
    assert_eq!(m.rpo.newest_surviving_seq, Some(299));
    assert_eq!(m.rpo.ms, Some(201_000));
    assert_eq!(m.ledger.lost_acknowledged_writes, 490 - 299);
}

#[test]
fn a_torn_tail_is_not_counted_as_surviving() {
    let mut bytes = ledger_at(500);
    bytes.extend_from_slice(&chain(401, written(101, 0), SEC)[400].encode()[..50]);
    let restored = verify(&bytes);
    let m = measure(&recovery(), &acks_until(590), Some(&restored));
    assert_eq!(m.ledger.torn_tail.map(|t| t.seq), Some(401));
    assert_eq!(m.rpo.newest_surviving_seq, Some(400));
    assert_eq!(m.ledger.restored_records, 400);
}

#[test]
fn rpo_is_unmeasured_when_no_acknowledged_record_survived() {
    let restored = verify(&[]);
    let m = measure(&recovery(), &acks_until(590), Some(&restored));
    assert_eq!(m.rpo.ms, None);
    assert_eq!(
        m.rpo.reason.as_deref(),
        Some("no acknowledged record survived the restore chain-valid")
    );
    assert_eq!(m.ledger.lost_acknowledged_writes, 490);
}

#[test]
fn rpo_is_unmeasured_when_nothing_was_acknowledged_before_the_fault() {
    let restored = verify(&ledger_at(500));
    let m = measure(&recovery(), &[], Some(&restored));
    assert_eq!(m.rpo.ms, None);
    assert_eq!(m.ledger.acknowledged_before_fault, None);
    assert_eq!(m.ledger.present_never_acknowledged, 400);
}

#[test]
fn rto_is_data_verified_minus_fault_and_phases_add_up_to_it() {
    let m = measure(&recovery(), &acks_until(590), None);
    let rto = m.rto.unwrap();
    assert_eq!(rto.ms, 200_000);
    let recovery_ms: u64 = m
        .phases
        .iter()
        .filter(|p| p.phase.is_recovery())
        .map(|p| p.duration_ms)
        .sum();
    assert_eq!(recovery_ms, rto.ms);
    assert_eq!(m.phases.len(), 10);
}

#[test]
fn rto_is_unmeasured_until_data_is_verified() {
    let t = timeline(&[(Phase::Fault, 600), (Phase::Detect, 610)]);
    assert_eq!(measure(&t, &[], None).rto, None);
}

#[test]
fn a_wall_clock_step_during_recovery_is_reported_not_folded_into_rto() {
    let mut t = recovery();
    // The wall clock jumps back 30 min between restore start and restore complete.
    for mark in &mut t.marks {
        if mark.phase >= Phase::RestoreComplete {
            mark.at = at(mark.at.mono_nanos / SEC, -1800);
        }
    }
    let m = measure(&t, &acks_until(590), None);
    let rto = m.rto.unwrap();
    assert_eq!(rto.ms, 200_000);
    assert_eq!(rto.wall_clock_ms, 200_000 - 1_800_000);
    assert_eq!(
        m.clock_steps,
        vec![ClockStep {
            after: "phase restore-start".into(),
            before: "phase restore-complete".into(),
            step_ms: -1_800_000,
            at: at(720, -1800),
        }]
    );
}

#[test]
fn a_wall_clock_step_between_the_record_and_the_fault_does_not_change_rpo() {
    // At 520 s the host clock jumps forward one hour: the harness and the writer both see it.
    let shift = |s: u64| if s >= 520 { 3600 } else { 0 };
    let mut t = recovery();
    for mark in &mut t.marks {
        let s = mark.at.mono_nanos / SEC;
        mark.at = at(s, shift(s));
    }
    let acks: Vec<Ack> = (110..=590)
        .step_by(10)
        .map(|s| Ack {
            seq: s - 100,
            unix_nanos: written(s, shift(s)),
            seen: at(s, shift(s)),
        })
        .collect();
    let restored = verify(&ledger_at(500));
    let m = measure(&t, &acks, Some(&restored));
    assert_eq!(m.rpo.ms, Some(100_000));
    assert_eq!(m.rpo.wall_clock_ms, Some(3_700_000));
    assert_eq!(m.clock_steps.len(), 1);
    assert_eq!(m.clock_steps[0].step_ms, 3_600_000);
    assert_eq!(m.clock_steps[0].after, "ack 410");
    assert_eq!(m.clock_steps[0].before, "ack 420");
}

#[test]
fn slewing_within_tolerance_is_not_a_step() {
    let mut t = recovery();
    // 0.4 s of drift over 800 s: NTP slewing, not a step.
    if let Some(last) = t.marks.last_mut() {
        last.at.wall += chrono::Duration::milliseconds(400);
    }
    assert!(measure(&t, &[], None).clock_steps.is_empty());
}
