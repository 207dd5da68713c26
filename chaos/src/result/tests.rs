use chrono::{DateTime, Utc};

use super::*;
use crate::ledger::{chain, encode_all, verify::verify};
use crate::outcome::{PodsOutcome, RestoreOutcome, RestorePhase, TargetsMs};
use crate::timeline::{Mark, Phase};

const SEC: u64 = 1_000_000_000;
const ORIGIN: i64 = 1_750_000_000;

fn at(secs: u64) -> Stamp {
    Stamp {
        wall: DateTime::<Utc>::from_timestamp(ORIGIN + secs as i64, 0).unwrap(),
        mono_nanos: secs * SEC,
    }
}

fn result_with(phase: RestorePhase) -> RunResult {
    let timeline = Timeline {
        started: at(0),
        marks: [
            (Phase::Steady, 100),
            (Phase::Fault, 600),
            (Phase::DataVerified, 800),
        ]
        .iter()
        .map(|&(phase, s)| Mark { phase, at: at(s) })
        .collect(),
    };
    let acks: Vec<Ack> = (110..=590)
        .step_by(10)
        .map(|s| Ack {
            seq: s - 100,
            unix_nanos: (ORIGIN as u64 + s) * SEC,
            seen: at(s),
        })
        .collect();
    let restored = verify(&encode_all(&chain(400, (ORIGIN as u64 + 101) * SEC, SEC)));
    RunResult::assemble(Observed {
        scenario: ScenarioInfo {
            name: "namespace-loss".into(),
            file: "fixtures/scenarios/namespace-loss.yaml".into(),
            fault: FaultKind::NamespaceLoss,
            fault_target: "ledger".into(),
            fault_after: HumanDuration(std::time::Duration::from_secs(500)),
        },
        versions: Versions {
            kubernetes: "v1.33.1".into(),
            kind: "v0.29.0".into(),
            velero: "v1.16.1".into(),
            backstop: "0.1.0".into(),
        },
        seed: 7,
        timeline: &timeline,
        acks: &acks,
        restored: Some(&restored),
        restore: Some(RestoreOutcome {
            name: "r".into(),
            backup: "b".into(),
            phase,
            warnings: vec![],
            errors: vec![],
        }),
        pods: PodsOutcome {
            ready: true,
            detail: "1/1 pods Ready".into(),
        },
        targets: TargetsMs {
            rto_ms: 3_600_000,
            rpo_ms: 900_000,
        },
    })
}

#[test]
fn an_assembled_result_carries_its_measurements_and_verdict() {
    let r = result_with(RestorePhase::Completed);
    assert_eq!(r.verdict, Verdict::Pass);
    assert_eq!(r.rto.map(|x| x.ms), Some(200_000));
    assert_eq!(r.rpo.ms, Some(100_000));
    assert_eq!(r.ledger.lost_acknowledged_writes, 90);
    assert_eq!(r.checks.len(), 5);
    assert_eq!(
        result_with(RestorePhase::PartiallyFailed).verdict,
        Verdict::Fail
    );
}

#[test]
fn a_result_round_trips_through_json() {
    let r = result_with(RestorePhase::Completed);
    let text = serde_json::to_string_pretty(&r).unwrap();
    assert_eq!(parse(Path::new("result.json"), &text).unwrap(), r);
}

#[test]
fn a_verdict_the_figures_do_not_support_is_bad_input() {
    let mut r = result_with(RestorePhase::PartiallyFailed);
    r.verdict = Verdict::Pass;
    let text = serde_json::to_string(&r).unwrap();
    let err = parse(Path::new("result.json"), &text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "result.json: verdict: says pass but the file's own figures say fail"
    );
    assert_eq!(err.exit_code(), crate::error::EXIT_BAD_INPUT);
}

#[test]
fn a_check_the_figures_do_not_support_is_bad_input() {
    let mut r = result_with(RestorePhase::Completed);
    let flipped = r.checks.first_mut().unwrap();
    flipped.passed = !flipped.passed;
    let name = flipped.name;
    let text = serde_json::to_string(&r).unwrap();
    let err = parse(Path::new("result.json"), &text).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("result.json: checks[0]: {name} does not follow from the file's own figures")
    );

    let mut r = result_with(RestorePhase::Completed);
    r.checks.pop();
    let text = serde_json::to_string(&r).unwrap();
    let err = parse(Path::new("result.json"), &text).unwrap_err();
    assert!(
        err.to_string().starts_with("result.json: checks: "),
        "{err}"
    );
}

#[test]
fn an_unknown_or_mistyped_field_is_named() {
    let r = result_with(RestorePhase::Completed);
    let mut json = serde_json::to_value(&r).unwrap();
    json["rpo"]["ms"] = serde_json::json!("fast");
    let err = parse(Path::new("result.json"), &json.to_string()).unwrap_err();
    assert!(
        err.to_string().starts_with("result.json: rpo.ms: "),
        "{err}"
    );

    let mut json = serde_json::to_value(&r).unwrap();
    json["restore"]["phse"] = serde_json::json!("Completed");
    let err = parse(Path::new("result.json"), &json.to_string()).unwrap_err();
    assert!(
        err.to_string().starts_with("result.json: restore.phse: "),
        "{err}"
    );
}

#[test]
fn another_schema_version_is_refused() {
    let mut r = result_with(RestorePhase::Completed);
    r.schema_version = 2;
    let err = parse(
        Path::new("result.json"),
        &serde_json::to_string(&r).unwrap(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("result.json: schemaVersion: 2 is not supported")
    );
}
