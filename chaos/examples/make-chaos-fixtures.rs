//! Writes the measurement and report fixtures under `fixtures/chaos/` (see its README).
//!
//! `cargo run -p backstop-chaos --example make-chaos-fixtures`
//!
//! One simulated run, told in seconds since its start (2025-06-15T10:00:00Z): the
//! writer appends record n at 190 + 2(n-1) s; the harness polls `/last` every 10 s
//! from 200 s; the Schedule backs up every 5 minutes (the 900 s backup holds records
//! 1..=356); the fault strikes at 930 s; the data is verified at 1130 s.

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use backstop_chaos::clock::Stamp;
use backstop_chaos::ground_truth::Ack;
use backstop_chaos::ledger::verify::verify;
use backstop_chaos::ledger::{RECORD_LEN, Record, encode_all};
use backstop_chaos::outcome::{PodsOutcome, RestoreOutcome, RestorePhase, TargetsMs};
use backstop_chaos::result::{Observed, RunResult, ScenarioInfo, Versions};
use backstop_chaos::scenario;
use backstop_chaos::timeline::{Mark, Phase, Timeline};
use chrono::{DateTime, Utc};

const SEC: u64 = 1_000_000_000;
const ORIGIN: i64 = 1_749_981_600; // 2025-06-15T10:00:00Z

const MARKS: [(Phase, u64); 11] = [
    (Phase::Provision, 90),
    (Phase::Install, 180),
    (Phase::Steady, 210),
    (Phase::Backups, 310),
    (Phase::Fault, 930),
    (Phase::Detect, 940),
    (Phase::RestoreStart, 960),
    (Phase::RestoreComplete, 1090),
    (Phase::PodsReady, 1120),
    (Phase::DataVerified, 1130),
    (Phase::Teardown, 1200),
];

/// How far the host's wall clock is off its monotonic clock at `secs`.
type Shift = fn(u64) -> i64;

fn steady_clock(_: u64) -> i64 {
    0
}

/// +1 h just after the 900 s backup, -10 min during the restore.
fn stepping_clock(secs: u64) -> i64 {
    match secs {
        0..915 => 0,
        915..1000 => 3600,
        _ => 3000,
    }
}

fn stamp(secs: u64, shift: Shift) -> Result<Stamp, Box<dyn Error>> {
    let wall = DateTime::<Utc>::from_timestamp(ORIGIN + secs as i64 + shift(secs), 0)
        .ok_or("timestamp out of range")?;
    Ok(Stamp {
        wall,
        mono_nanos: secs * SEC,
    })
}

fn written_at(seq: u64) -> u64 {
    190 + 2 * (seq - 1)
}

fn records(last: u64, shift: Shift) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::new();
    for seq in 1..=last {
        let secs = written_at(seq);
        let nanos = ((ORIGIN + secs as i64 + shift(secs)) as u64) * SEC;
        let record = Record::next(out.last(), nanos);
        out.push(record);
    }
    out
}

fn timeline(shift: Shift) -> Result<Timeline, Box<dyn Error>> {
    Ok(Timeline {
        started: stamp(0, shift)?,
        marks: MARKS
            .iter()
            .map(|&(phase, s)| {
                Ok(Mark {
                    phase,
                    at: stamp(s, shift)?,
                })
            })
            .collect::<Result<_, Box<dyn Error>>>()?,
    })
}

fn acks(shift: Shift) -> Result<Vec<Ack>, Box<dyn Error>> {
    (200..=920)
        .step_by(10)
        .map(|s| {
            let seq = (s - 190) / 2 + 1;
            let secs = written_at(seq);
            Ok(Ack {
                seq,
                unix_nanos: ((ORIGIN + secs as i64 + shift(secs)) as u64) * SEC,
                seen: stamp(s, shift)?,
            })
        })
        .collect()
}

struct Case {
    name: &'static str,
    shift: Shift,
    restored: Vec<u8>,
}

fn cases() -> Vec<Case> {
    let backup = encode_all(&records(356, steady_clock));
    let torn = {
        let mut b = backup.clone();
        b.extend_from_slice(&records(357, steady_clock)[356].encode()[..50]);
        b
    };
    let corrupted = {
        let mut b = backup.clone();
        b[(200 - 1) * RECORD_LEN + 30] ^= 0x01;
        b
    };
    let gap = {
        let mut b = backup[..(250 - 1) * RECORD_LEN].to_vec();
        b.extend_from_slice(&backup[(300 - 1) * RECORD_LEN..]);
        b
    };
    vec![
        Case {
            name: "clean-restore",
            shift: steady_clock,
            restored: backup,
        },
        Case {
            name: "torn-tail",
            shift: steady_clock,
            restored: torn,
        },
        Case {
            name: "corrupted-record",
            shift: steady_clock,
            restored: corrupted,
        },
        Case {
            name: "gap-in-restored-ledger",
            shift: steady_clock,
            restored: gap,
        },
        Case {
            name: "wall-clock-step",
            shift: stepping_clock,
            restored: encode_all(&records(356, stepping_clock)),
        },
        Case {
            name: "no-surviving-record",
            shift: steady_clock,
            restored: Vec::new(),
        },
    ]
}

fn write(path: PathBuf, bytes: &[u8]) -> Result<(), Box<dyn Error>> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(&path, bytes)?;
    println!("wrote {}", path.display());
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = root.join("fixtures/chaos");
    for case in cases() {
        let dir = out.join(case.name);
        let t = timeline(case.shift)?;
        write(dir.join("timeline.json"), &serde_json::to_vec_pretty(&t)?)?;
        let mut lines = String::new();
        for a in acks(case.shift)? {
            lines.push_str(&serde_json::to_string(&a)?);
            lines.push('\n');
        }
        write(dir.join("acks.jsonl"), lines.as_bytes())?;
        write(dir.join("restored.ledger"), &case.restored)?;
    }

    let versions = Versions {
        kubernetes: "v1.33.1".into(),
        kind: "v0.29.0".into(),
        velero: "v1.16.1".into(),
        backstop: "0.1.0".into(),
    };
    let results = [
        (
            "pass-with-torn-tail",
            "torn-tail",
            "namespace-loss",
            RestorePhase::Completed,
            vec![],
            vec![],
        ),
        (
            "partially-failed-restore",
            "clean-restore",
            "namespace-loss",
            RestorePhase::PartiallyFailed,
            vec!["could not restore, ServiceAccount \"default\" already exists".to_owned()],
            vec![
                "error restoring persistentvolumeclaims/backstop-chaos/data-ledger-0: \
                 pod volume restore <nil> & \"data\" failed"
                    .to_owned(),
            ],
        ),
        (
            "corrupted-chain",
            "corrupted-record",
            "pvc-corruption",
            RestorePhase::Completed,
            vec![],
            vec![],
        ),
        (
            "wall-clock-step",
            "wall-clock-step",
            "node-loss",
            RestorePhase::Completed,
            vec![],
            vec![],
        ),
        (
            "no-surviving-record",
            "no-surviving-record",
            "cluster-loss",
            RestorePhase::Completed,
            vec![],
            vec![],
        ),
    ];
    for (name, case, scenario_name, phase, warnings, errors) in results {
        let c = cases()
            .into_iter()
            .find(|c| c.name == case)
            .ok_or("unknown case")?;
        let file = PathBuf::from(format!("fixtures/scenarios/{scenario_name}.yaml"));
        let s = scenario::load(&root.join(&file))?;
        let t = timeline(c.shift)?;
        let a = acks(c.shift)?;
        let restored = verify(&c.restored);
        let result = RunResult::assemble(Observed {
            scenario: ScenarioInfo::of(&s, &file),
            versions: versions.clone(),
            seed: 42,
            timeline: &t,
            acks: &a,
            restored: Some(&restored),
            restore: Some(RestoreOutcome {
                name: format!("backstop-{scenario_name}-2a"),
                backup: format!("backstop-{scenario_name}-20250615101500"),
                phase,
                warnings,
                errors,
            }),
            pods: PodsOutcome {
                ready: true,
                detail: "1/1 pods Ready in backstop-chaos (ledger-0)".into(),
            },
            targets: TargetsMs::of(&s),
        });
        let mut json = serde_json::to_vec_pretty(&result)?;
        json.push(b'\n');
        write(out.join(format!("results/{name}.json")), &json)?;
    }
    Ok(())
}
