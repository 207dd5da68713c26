//! RTO, RPO and ledger figures from the timeline, ground-truth and restored-ledger
//! fixtures in `fixtures/chaos/<case>/` (described in fixtures/chaos/README.md).
//!
//! The simulated run: record n is written at 190 + 2(n-1) s, the last poll before
//! the fault (930 s) saw seq 366, the newest backup holds records 1..=356, data is
//! verified at 1130 s.

#![allow(clippy::unwrap_used)] // test helpers, outside #[test] functions, may unwrap

use std::path::{Path, PathBuf};

use backstop_chaos::ledger::verify::{Problem, verify};
use backstop_chaos::measure::{Measurement, measure};
use backstop_chaos::{ground_truth, result, timeline};

fn case_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../fixtures/chaos/{name}"))
}

fn measure_case(name: &str) -> Measurement {
    let dir = case_dir(name);
    let t = timeline::load(&dir.join("timeline.json")).unwrap();
    let acks = ground_truth::load(&dir.join("acks.jsonl")).unwrap();
    let restored = verify(&std::fs::read(dir.join("restored.ledger")).unwrap());
    measure(&t, &acks, Some(&restored))
}

/// Seconds into the run at which record `seq` was written.
fn written_at(seq: u64) -> u64 {
    190 + 2 * (seq - 1)
}

const FAULT_AT: u64 = 930;

#[test]
fn a_clean_restore_loses_the_writes_after_the_newest_backup() {
    let m = measure_case("clean-restore");
    assert_eq!(m.rpo.newest_surviving_seq, Some(356));
    assert_eq!(m.rpo.ms, Some((FAULT_AT - written_at(356)) * 1000));
    assert_eq!(m.ledger.acknowledged_before_fault, Some(366));
    assert_eq!(m.ledger.lost_acknowledged_writes, 10);
    assert_eq!(m.ledger.first_broken_seq, None);
    assert_eq!(m.rto.map(|r| r.ms), Some(200_000));
    assert_eq!(m.phases.len(), 11);
    assert!(m.clock_steps.is_empty());
}

#[test]
fn a_torn_write_in_the_backup_is_reported_and_not_counted() {
    let m = measure_case("torn-tail");
    let torn = m.ledger.torn_tail.unwrap();
    assert_eq!((torn.seq, torn.bytes), (357, 50));
    assert_eq!(m.ledger.restored_records, 356);
    assert_eq!(m.rpo.newest_surviving_seq, Some(356));
    assert_eq!(m.ledger.first_broken_seq, None);
}

#[test]
fn corruption_is_found_at_its_record_and_the_rpo_counts_from_the_one_before() {
    let m = measure_case("corrupted-record");
    assert_eq!(m.ledger.first_broken_seq, Some(200));
    assert_eq!(
        m.ledger.problems,
        vec![Problem::Damaged {
            seq: 200,
            last_seq: Some(200),
            offset: 199 * 84,
            bytes: 84
        }]
    );
    assert_eq!(m.rpo.newest_surviving_seq, Some(199));
    assert_eq!(m.rpo.ms, Some((FAULT_AT - written_at(199)) * 1000));
    assert_eq!(m.ledger.lost_acknowledged_writes, 366 - 199);
    assert_eq!(m.ledger.restored_records, 355);
}

#[test]
fn a_gap_in_the_restored_ledger_is_found_at_its_first_missing_record() {
    let m = measure_case("gap-in-restored-ledger");
    assert_eq!(m.ledger.first_broken_seq, Some(250));
    assert!(matches!(
        m.ledger.problems[..],
        [Problem::Missing {
            from: 250,
            to: 299,
            ..
        }]
    ));
    assert_eq!(m.rpo.newest_surviving_seq, Some(249));
    assert_eq!(m.rpo.ms, Some((FAULT_AT - written_at(249)) * 1000));
    assert_eq!(m.ledger.lost_acknowledged_writes, 366 - 249);
    assert_eq!(m.ledger.restored_records, 356 - 50);
}

#[test]
fn wall_clock_steps_are_reported_and_never_folded_into_rto_or_rpo() {
    let m = measure_case("wall-clock-step");
    // The clock jumped +1 h between the newest surviving record and the fault,
    // then -10 min during the restore.
    assert_eq!(m.rpo.ms, Some(30_000));
    assert_eq!(m.rpo.wall_clock_ms, Some(3_630_000));
    let rto = m.rto.unwrap();
    assert_eq!(rto.ms, 200_000);
    assert_eq!(rto.wall_clock_ms, -400_000);
    let steps: Vec<(i64, &str, &str)> = m
        .clock_steps
        .iter()
        .map(|s| (s.step_ms, s.after.as_str(), s.before.as_str()))
        .collect();
    assert_eq!(
        steps,
        vec![
            (3_600_000, "ack 361", "ack 366"),
            (-600_000, "phase restore-start", "phase restore-complete"),
        ]
    );
}

#[test]
fn with_no_surviving_record_rpo_is_unmeasured_and_every_acknowledged_write_lost() {
    let m = measure_case("no-surviving-record");
    assert_eq!(m.rpo.ms, None);
    assert_eq!(
        m.rpo.reason.as_deref(),
        Some("no acknowledged record survived the restore chain-valid")
    );
    assert_eq!(m.ledger.lost_acknowledged_writes, 366);
    assert_eq!(m.ledger.restored_records, 0);
    assert_eq!(m.rto.map(|r| r.ms), Some(200_000));
}

#[test]
fn result_fixtures_agree_with_the_measurements_they_were_made_from() {
    let pairs = [
        ("pass-with-torn-tail", "torn-tail"),
        ("partially-failed-restore", "clean-restore"),
        ("corrupted-chain", "corrupted-record"),
        ("wall-clock-step", "wall-clock-step"),
        ("no-surviving-record", "no-surviving-record"),
    ];
    for (result_name, case) in pairs {
        let path = case_dir(&format!("results/{result_name}.json"));
        let r = result::load(&path).unwrap();
        let m = measure_case(case);
        assert_eq!(r.rpo, m.rpo, "{result_name}");
        assert_eq!(r.rto, m.rto, "{result_name}");
        assert_eq!(r.ledger, m.ledger, "{result_name}");
        assert_eq!(r.clock_steps, m.clock_steps, "{result_name}");
        assert_eq!(r.phases, m.phases, "{result_name}");
    }
}

#[test]
fn a_timeline_with_phases_out_of_order_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("timeline.json");
    let mut t: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(case_dir("clean-restore").join("timeline.json")).unwrap(),
    )
    .unwrap();
    let marks = t["marks"].as_array_mut().unwrap();
    marks.swap(0, 1);
    std::fs::write(&path, t.to_string()).unwrap();
    let err = timeline::load(&path).unwrap_err().to_string();
    assert!(
        err.ends_with("timeline.json: marks: provision comes after install"),
        "{err}"
    );
}
