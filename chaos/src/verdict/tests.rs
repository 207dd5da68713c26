use chrono::{DateTime, Utc};

use super::*;
use crate::clock::Stamp;
use crate::ledger::verify::TornTail;

/// Everything a passing run establishes; each case changes one thing.
struct Case {
    restore: Option<RestoreOutcome>,
    pods: PodsOutcome,
    ledger: LedgerFigures,
    rto: Option<Rto>,
    rpo: Rpo,
    targets: TargetsMs,
    clock_steps: Vec<ClockStep>,
}

fn passing() -> Case {
    Case {
        restore: Some(RestoreOutcome {
            name: "r1".into(),
            backup: "b1".into(),
            phase: RestorePhase::Completed,
            warnings: vec![],
            errors: vec![],
        }),
        pods: PodsOutcome {
            ready: true,
            detail: "1/1 pods Ready".into(),
        },
        ledger: LedgerFigures {
            acknowledged_before_fault: Some(500),
            restored_records: 400,
            chain_valid_records: 400,
            newest_valid_seq: Some(400),
            first_broken_seq: None,
            problems: vec![],
            torn_tail: None,
            duplicates: vec![],
            lost_acknowledged_writes: 100,
            present_never_acknowledged: 0,
        },
        rto: Some(Rto {
            ms: 200_000,
            wall_clock_ms: 200_000,
        }),
        rpo: Rpo {
            ms: Some(100_000),
            wall_clock_ms: Some(100_000),
            newest_surviving_seq: Some(400),
            newest_surviving_unix_nanos: Some(1),
            reason: None,
        },
        targets: TargetsMs {
            rto_ms: 3_600_000,
            rpo_ms: 900_000,
        },
        clock_steps: vec![],
    }
}

impl Case {
    fn checks(&self) -> Vec<Check> {
        checks(&Evidence {
            restore: self.restore.as_ref(),
            pods: &self.pods,
            ledger: &self.ledger,
            rto: self.rto.as_ref(),
            rpo: &self.rpo,
            targets: self.targets,
            clock_steps: &self.clock_steps,
        })
    }
}

fn failed(checks: &[Check]) -> Vec<CheckName> {
    checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name)
        .collect()
}

#[test]
fn verdict_follows_every_check() {
    use CheckName::*;
    type Change = fn(&mut Case);
    let cases: Vec<(&str, Change, Vec<CheckName>)> = vec![
        ("everything in order passes", |_| {}, vec![]),
        (
            "a partially failed restore fails",
            |c| {
                if let Some(r) = c.restore.as_mut() {
                    r.phase = RestorePhase::PartiallyFailed;
                    r.errors = vec!["error restoring pods".into()];
                }
            },
            vec![RestoreCompleted],
        ),
        (
            "a failed restore fails",
            |c| {
                if let Some(r) = c.restore.as_mut() {
                    r.phase = RestorePhase::Failed;
                }
            },
            vec![RestoreCompleted],
        ),
        (
            "no restore at all fails",
            |c| c.restore = None,
            vec![RestoreCompleted],
        ),
        (
            "restore warnings alone still pass",
            |c| {
                if let Some(r) = c.restore.as_mut() {
                    r.warnings = vec!["could not restore, already exists".into()];
                }
            },
            vec![],
        ),
        (
            "pods not ready fail",
            |c| c.pods.ready = false,
            vec![PodsReady],
        ),
        (
            "a broken chain fails",
            |c| {
                c.ledger.first_broken_seq = Some(120);
                c.ledger.problems = vec![Problem::Missing {
                    from: 120,
                    to: 129,
                    offset: 9996,
                }];
                c.ledger.newest_valid_seq = Some(119);
            },
            vec![ChainVerifies],
        ),
        (
            "an empty restored ledger fails the chain and the RPO",
            |c| {
                c.ledger.newest_valid_seq = None;
                c.ledger.chain_valid_records = 0;
                c.rpo.ms = None;
                c.rpo.newest_surviving_seq = None;
                c.rpo.reason =
                    Some("no acknowledged record survived the restore chain-valid".into());
            },
            vec![ChainVerifies, RpoWithinTarget],
        ),
        (
            "a torn tail alone passes",
            |c| {
                c.ledger.torn_tail = Some(TornTail {
                    offset: 33_600,
                    bytes: 40,
                    seq: 401,
                })
            },
            vec![],
        ),
        (
            "an RTO over target fails",
            |c| {
                c.rto = Some(Rto {
                    ms: 3_600_001,
                    wall_clock_ms: 3_600_001,
                })
            },
            vec![RtoWithinTarget],
        ),
        (
            "an RTO exactly on target passes",
            |c| {
                c.rto = Some(Rto {
                    ms: 3_600_000,
                    wall_clock_ms: 3_600_000,
                })
            },
            vec![],
        ),
        (
            "an unmeasured RTO fails",
            |c| c.rto = None,
            vec![RtoWithinTarget],
        ),
        (
            "an RPO over target fails",
            |c| c.rpo.ms = Some(900_001),
            vec![RpoWithinTarget],
        ),
        (
            "a wall-clock step alone passes",
            |c| {
                c.clock_steps = vec![ClockStep {
                    after: "phase backups".into(),
                    before: "phase fault".into(),
                    step_ms: 3_600_000,
                    at: Stamp {
                        wall: DateTime::<Utc>::from_timestamp(0, 0).unwrap(),
                        mono_nanos: 0,
                    },
                }];
                if let Some(r) = c.rto.as_mut() {
                    r.wall_clock_ms += 3_600_000;
                }
            },
            vec![],
        ),
    ];
    for (name, change, expected_failures) in cases {
        let mut case = passing();
        change(&mut case);
        let checks = case.checks();
        assert_eq!(failed(&checks), expected_failures, "{name}");
        let expected_verdict = if expected_failures.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Fail
        };
        assert_eq!(verdict(&checks), expected_verdict, "{name}");
    }
}

#[test]
fn partially_failed_evidence_says_why_it_fails() {
    let mut case = passing();
    if let Some(r) = case.restore.as_mut() {
        r.phase = RestorePhase::PartiallyFailed;
        r.errors = vec!["pod volume restore failed".into()];
    }
    let check = &case.checks()[0];
    assert_eq!(
        check.evidence,
        "Restore r1 from backup b1: PartiallyFailed (a partial restore is a failed restore), \
         0 warning(s), 1 error(s); first error: pod volume restore failed"
    );
}

#[test]
fn rpo_evidence_names_the_surviving_write_and_the_losses() {
    let check = &passing().checks()[4];
    assert_eq!(
        check.evidence,
        "RPO 1m 40s (within the 15m 00s target): the newest surviving acknowledged write is \
         seq 400; 100 acknowledged write(s) lost"
    );
}

#[test]
fn a_clock_step_is_named_in_the_rto_evidence() {
    let mut case = passing();
    case.clock_steps = vec![ClockStep {
        after: "phase restore-start".into(),
        before: "phase restore-complete".into(),
        step_ms: -1_800_000,
        at: Stamp {
            wall: DateTime::<Utc>::from_timestamp(0, 0).unwrap(),
            mono_nanos: 0,
        },
    }];
    let check = &case.checks()[3];
    assert!(check.passed);
    assert!(
        check.evidence.ends_with(
            "; the wall clock stepped -30m 00s between phase restore-start and phase \
             restore-complete, not counted"
        ),
        "{}",
        check.evidence
    );
}

#[test]
fn chain_problems_read_as_sentences() {
    let cases = [
        (
            Problem::Damaged {
                seq: 40,
                last_seq: Some(40),
                offset: 3276,
                bytes: 84,
            },
            "84 damaged byte(s) at offset 3276 in place of seq 40",
        ),
        (
            Problem::Damaged {
                seq: 30,
                last_seq: Some(39),
                offset: 2436,
                bytes: 800,
            },
            "800 damaged byte(s) at offset 2436 in place of seq 30 to 39",
        ),
        (
            Problem::Missing {
                from: 30,
                to: 30,
                offset: 0,
            },
            "seq 30 is missing",
        ),
        (
            Problem::BrokenLink { seq: 7, offset: 0 },
            "seq 7 does not carry the hash of the record before it",
        ),
    ];
    for (problem, text) in cases {
        assert_eq!(describe(&problem), text);
    }
}
