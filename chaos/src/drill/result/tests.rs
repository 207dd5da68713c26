//! Drill results: assembled from what a drill observed, kept as fixtures
//! (`fixtures/chaos/drill/results/`, which `report` renders in tests and docs), and read back
//! with the same consistency checks as a run's.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::drill::backup::BackupRef;
use crate::drill::check::ServiceCheck;
use crate::drill::compare::{BackupContents, RestoredContents, compare};
use crate::drill::record::Cleanup;
use crate::outcome::RestorePhase;
use crate::timeline::{Mark, Phase};
use crate::verdict::CheckName;

const SEC: u64 = 1_000_000_000;

fn wall(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 14, 30, 0).unwrap() + chrono::Duration::seconds(secs)
}

fn at(secs: u64) -> Stamp {
    Stamp {
        wall: wall(i64::try_from(secs).unwrap()),
        mono_nanos: secs * SEC,
    }
}

fn backup_ref(name: &str, phase: &str, day: u32, warnings: u32, errors: u32) -> BackupRef {
    BackupRef {
        name: name.into(),
        phase: phase.into(),
        started: Some(Utc.with_ymd_and_hms(2026, 12, day, 2, 0, 0).unwrap()),
        completed: Some(Utc.with_ymd_and_hms(2026, 12, day, 2, 4, 0).unwrap()),
        warnings,
        errors,
    }
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// What the backup holds: the ledger, and a CronJob's finished run (a completed Job and its
/// Pod), which Velero never restores.
fn backup_contents() -> BackupContents {
    BackupContents {
        items: BTreeMap::from([
            ("apps/v1/StatefulSet".to_owned(), names(&["ledger"])),
            ("batch/v1/Job".to_owned(), names(&["compact-29001"])),
            ("v1/Service".to_owned(), names(&["ledger"])),
            (
                "v1/PersistentVolumeClaim".to_owned(),
                names(&["data-ledger-0"]),
            ),
            (
                "v1/Pod".to_owned(),
                names(&["compact-29001-x7k2p", "ledger-0"]),
            ),
        ]),
        pvcs: BTreeMap::from([("data-ledger-0".to_owned(), "1Gi".to_owned())]),
        pod_volume_backups: names(&["ledger-0/data"]),
    }
}

fn restored_contents() -> RestoredContents {
    let restored = BTreeMap::from([
        ("apps/v1/StatefulSet".to_owned(), names(&["ledger"])),
        ("v1/Service".to_owned(), names(&["ledger"])),
        (
            "v1/PersistentVolumeClaim".to_owned(),
            names(&["data-ledger-0"]),
        ),
        ("v1/Pod".to_owned(), names(&["ledger-0"])),
    ]);
    RestoredContents {
        velero: restored
            .iter()
            .map(|(resource, names)| {
                let created = names.iter().map(|n| (n.clone(), "created".to_owned()));
                (resource.clone(), created.collect())
            })
            .collect(),
        items: restored,
        pvcs: backup_contents().pvcs,
        pod_volume_restores: BTreeMap::from([("ledger-0/data".to_owned(), "Completed".to_owned())]),
        unlisted: BTreeMap::new(),
    }
}

/// What a drill saw, before judgement; each case changes one thing.
struct Seen {
    drill: DrillRecord,
    marks: Vec<(Phase, u64)>,
    restore: Option<RestoreOutcome>,
    pods: PodsOutcome,
}

fn passing() -> Seen {
    let restore_namespace = "data-platform-drill-20261203-143000";
    Seen {
        drill: DrillRecord {
            schedule: "daily".into(),
            source_namespace: "data-platform".into(),
            restore_namespace: restore_namespace.into(),
            in_place: false,
            restore_pvs: true,
            wait: true,
            timeout_ms: 600_000,
            backup: Some(backup_ref("daily-20261202020000", "Completed", 2, 1, 0)),
            skipped_backups: vec![backup_ref(
                "daily-20261203020000",
                "PartiallyFailed",
                3,
                2,
                3,
            )],
            checks_requested: vec!["http://ledger:8080/healthz".into()],
            service_checks: vec![ServiceCheck {
                target: "http://ledger:8080/healthz".into(),
                proxy_path: format!(
                    "/api/v1/namespaces/{restore_namespace}/services/ledger:8080/proxy/healthz"
                ),
                status: Some(200),
                detail: "ok".into(),
                at: at(141),
            }],
            comparison: Some(compare(&backup_contents(), &restored_contents(), true)),
            why_not_compared: None,
            cleanup_requested: true,
            cleanup: Some(Cleanup {
                namespace_deleted: true,
                restore_deleted: true,
                detail: format!(
                    "namespace {restore_namespace} Terminating; Restore velero/drill-{restore_namespace} deleted"
                ),
                at: at(150),
            }),
        },
        marks: vec![
            (Phase::Backups, 1),
            (Phase::RestoreStart, 2),
            (Phase::RestoreComplete, 95),
            (Phase::PodsReady, 140),
            (Phase::DataVerified, 142),
            (Phase::Teardown, 150),
        ],
        restore: Some(RestoreOutcome {
            name: format!("drill-{restore_namespace}"),
            backup: "daily-20261202020000".into(),
            phase: RestorePhase::Completed,
            warnings: vec![],
            errors: vec![],
        }),
        pods: PodsOutcome {
            ready: true,
            detail: format!("1/1 pods Ready in {restore_namespace}"),
        },
    }
}

fn assemble(seen: Seen) -> DrillResult {
    let timeline = Timeline {
        started: at(0),
        marks: seen
            .marks
            .iter()
            .map(|&(phase, s)| Mark { phase, at: at(s) })
            .collect(),
    };
    assert_eq!(timeline.problems(), Vec::<String>::new());
    DrillResult::assemble(
        seen.drill,
        Versions {
            kubernetes: "v1.33.1".into(),
            kind: "none (existing cluster)".into(),
            velero: "v1.16.1".into(),
            backstop: "0.1.0".into(),
        },
        &timeline,
        seen.restore,
        seen.pods,
    )
}

/// The result must equal `fixtures/chaos/drill/results/<name>.json` (rewritten instead with
/// `BACKSTOP_UPDATE_FIXTURES=1`), and read back to itself.
fn assert_fixture(result: &DrillResult, name: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/chaos/drill/results")
        .join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(result).unwrap() + "\n";
    if std::env::var_os("BACKSTOP_UPDATE_FIXTURES").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "{}",
        path.display()
    );
    assert!(is_drill(&text));
    assert_eq!(&parse(&path, &text).unwrap(), result);
}

fn failed(r: &DrillResult) -> Vec<CheckName> {
    r.checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name)
        .collect()
}

#[test]
fn a_drill_that_did_everything_passes_with_a_timestamp_for_every_step() {
    let r = assemble(passing());
    assert_eq!(r.verdict, Verdict::Pass);
    let names: Vec<CheckName> = r.checks.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            CheckName::CompletedBackupFound,
            CheckName::RestoreCompleted,
            CheckName::PodsReady,
            CheckName::ServiceChecksPass,
            CheckName::RestoredMatchesBackup,
            CheckName::CleanedUp
        ]
    );
    let steps: Vec<&str> = r.phases.iter().map(|p| p.phase.name()).collect();
    assert_eq!(
        steps,
        [
            "backups",
            "restore-start",
            "restore-complete",
            "pods-ready",
            "data-verified",
            "teardown"
        ]
    );
    assert!(
        r.checks[0]
            .evidence
            .contains("skipped daily-20261203020000 (PartiallyFailed, 3 error(s))")
    );
    assert_fixture(&r, "pass");
}

#[test]
fn no_completed_backup_fails_the_drill_and_stops_it_there() {
    let mut seen = passing();
    seen.drill.skipped_backups = vec![
        backup_ref("daily-20261203020000", "PartiallyFailed", 3, 2, 3),
        backup_ref("daily-20261202020000", "Failed", 2, 0, 1),
    ];
    seen.drill.backup = None;
    seen.drill.service_checks.clear();
    seen.drill.comparison = None;
    seen.drill.why_not_compared = Some("no backup was restored".into());
    seen.drill.cleanup = None;
    seen.marks.truncate(0);
    seen.restore = None;
    seen.pods = PodsOutcome {
        ready: false,
        detail: "no restore: no Completed backup".into(),
    };
    let r = assemble(seen);
    assert_eq!(r.verdict, Verdict::Fail);
    assert_eq!(failed(&r), [CheckName::CompletedBackupFound]);
    assert_eq!(r.checks.len(), 1);
    assert_eq!(
        r.checks[0].evidence,
        "no Completed backup of schedule daily; skipped daily-20261203020000 (PartiallyFailed, \
         3 error(s)), daily-20261202020000 (Failed, 1 error(s))"
    );
    assert_fixture(&r, "no-completed-backup");
}

#[test]
fn a_partially_failed_restore_fails_the_drill() {
    let mut seen = passing();
    if let Some(r) = seen.restore.as_mut() {
        r.phase = RestorePhase::PartiallyFailed;
        r.errors = vec!["error restoring persistentvolumeclaims/data-ledger-0: timed out".into()];
    }
    seen.drill.comparison = Some(compare(
        &backup_contents(),
        &RestoredContents {
            pod_volume_restores: BTreeMap::from([(
                "ledger-0/data".to_owned(),
                "Failed".to_owned(),
            )]),
            ..restored_contents()
        },
        true,
    ));
    let r = assemble(seen);
    assert_eq!(
        failed(&r),
        [
            CheckName::RestoreCompleted,
            CheckName::RestoredMatchesBackup
        ]
    );
    assert!(
        r.checks[1]
            .evidence
            .contains("a partial restore is a failed restore")
    );
    assert_fixture(&r, "restore-partially-failed");
}

#[test]
fn pods_never_ready_and_a_failing_check_fail_the_drill() {
    let mut seen = passing();
    seen.pods = PodsOutcome {
        ready: false,
        detail: "0/1 pods Ready in data-platform-drill-20261203-143000 after 10m 00s: ledger-0 \
                 Pending (Unschedulable)"
            .into(),
    };
    seen.drill.service_checks[0].status = Some(503);
    seen.drill.service_checks[0].detail = "no endpoints available for service \"ledger\"".into();
    seen.marks.retain(|(p, _)| *p != Phase::PodsReady);
    let r = assemble(seen);
    assert_eq!(
        failed(&r),
        [CheckName::PodsReady, CheckName::ServiceChecksPass]
    );
    assert!(
        r.checks[3].evidence.contains("answered 503"),
        "{}",
        r.checks[3].evidence
    );
    assert_fixture(&r, "pods-never-ready");
}

#[test]
fn a_check_that_never_ran_is_not_a_pass() {
    let mut seen = passing();
    seen.drill.service_checks.clear();
    let r = assemble(seen);
    assert_eq!(failed(&r), [CheckName::ServiceChecksPass]);
    assert!(r.checks[3].evidence.contains("1 not run"));
}

#[test]
fn a_cleanup_that_could_not_delete_the_restore_fails_the_drill() {
    let mut seen = passing();
    if let Some(c) = seen.drill.cleanup.as_mut() {
        c.restore_deleted = false;
    }
    assert_eq!(failed(&assemble(seen)), [CheckName::CleanedUp]);
    let mut seen = passing();
    seen.drill.cleanup = None;
    assert_eq!(failed(&assemble(seen)), [CheckName::CleanedUp]);
}

#[test]
fn without_cleanup_or_checks_those_checks_are_not_made() {
    let mut seen = passing();
    seen.drill.cleanup_requested = false;
    seen.drill.cleanup = None;
    seen.drill.checks_requested.clear();
    seen.drill.service_checks.clear();
    let r = assemble(seen);
    assert_eq!(r.verdict, Verdict::Pass);
    assert_eq!(r.checks.len(), 4);
}

#[test]
fn without_wait_the_drill_is_judged_on_starting_the_restore() {
    let mut seen = passing();
    seen.drill.wait = false;
    seen.drill.checks_requested.clear();
    seen.drill.service_checks.clear();
    seen.drill.comparison = None;
    seen.drill.cleanup_requested = false;
    seen.drill.cleanup = None;
    let r = assemble(seen);
    let names: Vec<CheckName> = r.checks.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [CheckName::CompletedBackupFound, CheckName::RestoreCreated]
    );
    assert_eq!(r.verdict, Verdict::Pass);
}

#[test]
fn an_edited_verdict_or_check_is_refused() {
    let r = assemble(passing());
    let text = serde_json::to_string(&r).unwrap();
    let path = std::path::Path::new("result.json");
    let tampered = text.replace("\"verdict\":\"pass\"", "\"verdict\":\"fail\"");
    let e = parse(path, &tampered).unwrap_err();
    assert!(e.to_string().contains("verdict"), "{e}");
    let tampered = text.replace("\"status\":200", "\"status\":500");
    let e = parse(path, &tampered).unwrap_err();
    assert!(e.to_string().contains("checks[3]"), "{e}");
}

#[test]
fn run_results_are_not_drills() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/chaos/results");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!is_drill(&text));
        seen += 1;
    }
    assert!(seen >= 5);
}
