use chrono::{DateTime, Utc};
use policy::velero::Backup;

use super::*;
use crate::fault::stored_backups::StoredBackup;
use crate::store::Object;

const SCHEDULE: &str = "backstop-storage-loss";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// Steady writes from 11:50, the fault at 12:17.
fn window() -> Window<'static> {
    Window {
        schedule: SCHEDULE,
        after: at("2026-12-03T11:50:00Z"),
        before: at("2026-12-03T12:17:00Z"),
    }
}

/// A Backup as Velero's API serves it (the fields its CRD has; labels as a Schedule sets them).
fn backup(name: &str, phase: &str, started: &str) -> Backup {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "velero.io/v1",
        "kind": "Backup",
        "metadata": {
            "name": name,
            "namespace": "velero",
            "labels": { "velero.io/schedule-name": SCHEDULE, "velero.io/storage-location": "default" }
        },
        "spec": { "includedNamespaces": ["backstop-chaos"], "storageLocation": "default" },
        "status": { "phase": phase, "startTimestamp": started }
    }))
    .unwrap()
}

/// The store's folder of `b`: whole (metadata and contents) or with only its log left.
fn stored(b: &Backup, whole: bool) -> StoredBackup {
    let name = b.metadata.name.clone().unwrap();
    let mut files = vec![format!("{name}-logs.gz")];
    if whole {
        files.push("velero-backup.json".into());
        files.push(format!("{name}.tar.gz"));
    }
    StoredBackup {
        metadata: whole.then(|| b.clone()),
        problem: (!whole).then(|| format!("backups/{name}/velero-backup.json is missing")),
        objects: files
            .into_iter()
            .map(|f| Object {
                key: format!("backups/{name}/{f}"),
                size: 10,
            })
            .collect(),
        name,
    }
}

fn lost() -> BackupRef {
    crate::drill::backup::reference(&backup(
        "backstop-storage-loss-20261203121500",
        "Completed",
        "2026-12-03T12:15:00Z",
    ))
}

fn failed_restore() -> Unrestorable {
    Unrestorable::RestoreFailed {
        restore: "backstop-storage-loss-newest".into(),
        phase: RestorePhase::Failed,
        reason: "error downloading backup: NoSuchKey".into(),
    }
}

#[test]
fn falls_back_to_the_newest_whole_completed_backup_before_the_fault() {
    let older = backup(
        "backstop-storage-loss-20261203120500",
        "Completed",
        "2026-12-03T12:05:00Z",
    );
    let previous = backup(
        "backstop-storage-loss-20261203121000",
        "Completed",
        "2026-12-03T12:10:00Z",
    );
    let after_fault = backup(
        "backstop-storage-loss-20261203122000",
        "Completed",
        "2026-12-03T12:20:00Z",
    );
    let cluster = [older.clone(), previous.clone(), after_fault.clone()];
    let store = [
        stored(&older, true),
        stored(&previous, true),
        stored(&after_fault, true),
    ];
    let choice = choose(lost(), failed_restore(), window(), &cluster, &store);
    assert_eq!(
        choice.restored_from.map(|b| b.name).as_deref(),
        Some("backstop-storage-loss-20261203121000")
    );
    assert!(choice.passed_over.is_empty(), "{:?}", choice.passed_over);
}

#[test]
fn a_newer_backup_that_is_not_completed_or_not_whole_is_passed_over_with_its_reason() {
    let good = backup(
        "backstop-storage-loss-20261203120000",
        "Completed",
        "2026-12-03T12:00:00Z",
    );
    let partial = backup(
        "backstop-storage-loss-20261203120500",
        "PartiallyFailed",
        "2026-12-03T12:05:00Z",
    );
    let broken = backup(
        "backstop-storage-loss-20261203121000",
        "Completed",
        "2026-12-03T12:10:00Z",
    );
    let cluster = [good.clone(), partial.clone(), broken.clone()];
    let store = [
        stored(&good, true),
        stored(&partial, true),
        stored(&broken, false),
    ];
    let choice = choose(lost(), failed_restore(), window(), &cluster, &store);
    assert_eq!(
        choice.restored_from.as_ref().map(|b| b.name.as_str()),
        Some("backstop-storage-loss-20261203120000")
    );
    let passed: Vec<(&str, &str)> = choice
        .passed_over
        .iter()
        .map(|p| (p.backup.as_str(), p.why.as_str()))
        .collect();
    assert_eq!(
        passed,
        [
            (
                "backstop-storage-loss-20261203121000",
                "its folder in the store is incomplete (backups/backstop-storage-loss-20261203121000/velero-backup.json is missing)"
            ),
            (
                "backstop-storage-loss-20261203120500",
                "phase PartiallyFailed, not Completed"
            ),
        ]
    );
}

#[test]
fn the_lost_backup_itself_is_never_chosen_even_while_the_cluster_still_lists_it() {
    let lost_object = backup(
        "backstop-storage-loss-20261203121500",
        "Completed",
        "2026-12-03T12:15:00Z",
    );
    let store = [stored(&lost_object, true)];
    let choice = choose(lost(), failed_restore(), window(), &[lost_object], &store);
    assert_eq!(choice.restored_from, None);
    assert!(
        choice.explain().contains("there is nothing to restore"),
        "{}",
        choice.explain()
    );
}

#[test]
fn backups_of_other_schedules_are_not_candidates() {
    let mut other = backup(
        "nightly-20261203120000",
        "Completed",
        "2026-12-03T12:00:00Z",
    );
    other
        .metadata
        .labels
        .as_mut()
        .unwrap()
        .insert("velero.io/schedule-name".into(), "nightly".into());
    let store = [stored(&other, true)];
    let choice = choose(
        lost(),
        Unrestorable::RemovedBySync,
        window(),
        &[other],
        &store,
    );
    assert_eq!(choice.restored_from, None);
}

#[test]
fn the_explanation_names_both_backups_and_how_velero_showed_the_loss() {
    let previous = backup(
        "backstop-storage-loss-20261203121000",
        "Completed",
        "2026-12-03T12:10:00Z",
    );
    let store = [stored(&previous, true)];
    let choice = choose(
        lost(),
        Unrestorable::RemovedBySync,
        window(),
        std::slice::from_ref(&previous),
        &store,
    );
    let text = choice.explain();
    assert!(
        text.contains("backstop-storage-loss-20261203121500 (started 2026-12-03T12:15:00+00:00)"),
        "{text}"
    );
    assert!(
        text.contains("fell back to backstop-storage-loss-20261203121000"),
        "{text}"
    );
    assert!(
        text.contains("Velero's backup sync removed the Backup"),
        "{text}"
    );
    let failed = failed_restore().describe("b");
    assert_eq!(
        failed,
        "Restore backstop-storage-loss-newest of backup b ended Failed: error downloading backup: NoSuchKey"
    );
}

#[test]
fn a_backup_from_before_steady_writes_is_no_fallback() {
    let early = backup(
        "backstop-storage-loss-20261203114500",
        "Completed",
        "2026-12-03T11:45:00Z",
    );
    let store = [stored(&early, true)];
    let choice = choose(lost(), failed_restore(), window(), &[early], &store);
    assert_eq!(choice.restored_from, None);
}

#[test]
fn a_backup_stamped_in_the_second_steady_writes_began_is_a_fallback() {
    // Velero stamps whole seconds: steady writes from 11:50:00.4, a backup started 11:50:00.
    let same_second = backup(
        "backstop-storage-loss-20261203115000",
        "Completed",
        "2026-12-03T11:50:00Z",
    );
    let store = [stored(&same_second, true)];
    let window = Window {
        after: at("2026-12-03T11:50:00.4Z"),
        ..window()
    };
    let choice = choose(lost(), failed_restore(), window, &[same_second], &store);
    assert_eq!(
        choice.restored_from.map(|b| b.name),
        Some("backstop-storage-loss-20261203115000".to_owned())
    );
}
