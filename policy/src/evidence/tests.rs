//! The evidence judged over `fixtures/evidence/`: Velero objects shaped by its CRD schemas
//! (`ci/schemas/velero.io/`), as `kubectl get -o yaml` exports them. Velero behaviours read
//! from its source: `pkg/podvolume/backupper.go` (`newPodVolumeBackup`: the backup-name label
//! and pvc-name annotation; `BackupPodVolumes`: skipped volumes get no PodVolumeBackup),
//! `pkg/label/label.go` (`GetValidName`), `pkg/builder/backup_builder.go` (`FromSchedule`: the
//! schedule-name label).

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::{Inventory, Policy, Severity};

const POLICY: &str = include_str!("../../../fixtures/evidence/policy.yaml");
const CLUSTER: &str = include_str!("../../../fixtures/evidence/cluster/shop.yaml");
const CACHE_CLAIM: &str = include_str!(
    "../../../fixtures/evidence/completed-backup-skipped-hostpath-volume/cache-claim.yaml"
);
const EVERY_VOLUME: &str =
    include_str!("../../../fixtures/evidence/completed-backup-with-every-volume/backups.yaml");
const SKIPPED_HOSTPATH: &str = include_str!(
    "../../../fixtures/evidence/completed-backup-skipped-hostpath-volume/backups.yaml"
);
const PARTIALLY_FAILED: &str =
    include_str!("../../../fixtures/evidence/partially-failed-newest-after-completed/backups.yaml");
const OVERDUE: &str = include_str!("../../../fixtures/evidence/overdue-schedule/backups.yaml");
const IN_PROGRESS: &str =
    include_str!("../../../fixtures/evidence/in-progress-newest-not-judged/backups.yaml");
const DATA_MOVER_CLUSTER: &str =
    include_str!("../../../fixtures/evidence/cluster-data-mover/shop.yaml");
const UPLOAD_COMPLETED: &str =
    include_str!("../../../fixtures/evidence/data-mover-upload-completed/backups.yaml");
const UPLOAD_FAILED: &str = include_str!(
    "../../../fixtures/evidence/data-mover-upload-failed-after-completed/backups.yaml"
);

/// The moment every fixture is judged at.
const NOW: &str = "2026-12-03T02:30:00Z";

fn judge(documents: &[&str], now: &str) -> Evidence {
    judge_in(CLUSTER, documents, now)
}

fn judge_in(cluster: &str, documents: &[&str], now: &str) -> Evidence {
    let policy = Arc::new(Policy::from_yaml(POLICY, "policy.yaml").unwrap());
    let mut inventory = Inventory::default();
    inventory.add_yaml(cluster, "shop.yaml").unwrap();
    for (index, text) in documents.iter().enumerate() {
        inventory
            .add_yaml(text, &format!("fixture {index}"))
            .unwrap();
    }
    let backups = std::mem::take(&mut inventory.backups);
    let volumes = std::mem::take(&mut inventory.pod_volume_backups);
    let uploads = std::mem::take(&mut inventory.data_uploads);
    let index = CoverageIndex::build(policy, inventory);
    let verdicts = index.evaluate_all();
    gather(
        &index,
        &verdicts,
        &VeleroRecords {
            backups: backups.iter().collect(),
            pod_volume_backups: volumes.iter().collect(),
            data_uploads: uploads.iter().collect(),
        },
        now.parse().unwrap(),
    )
}

fn object<'e>(evidence: &'e Evidence, name: &str) -> &'e ObjectEvidence {
    evidence
        .objects
        .iter()
        .find(|object| object.name == name)
        .unwrap_or_else(|| panic!("no evidence for {name}: {evidence:#?}"))
}

fn codes(object: &ObjectEvidence) -> Vec<&'static str> {
    object
        .findings
        .iter()
        .map(|gap| gap.code.as_str())
        .collect()
}

#[test]
fn a_completed_backup_with_every_volume_leaves_no_finding_and_gives_the_achieved_rpo() {
    let evidence = judge(&[EVERY_VOLUME], NOW);
    assert!(!evidence.has_errors(), "{evidence:#?}");
    let orders = object(&evidence, "orders");
    assert_eq!(orders.schedules, ["daily"]);
    assert_eq!(
        orders.restorable_from.as_deref(),
        Some("daily-20261203020005")
    );
    // 02:30:00 − 02:00:05, beside the predicted 24h1m.
    assert_eq!(orders.achieved_rpo, Some(Duration::from_secs(29 * 60 + 55)));
    assert_eq!(
        orders.predicted_rpo,
        Some(Duration::from_secs(24 * 3600 + 60))
    );
    let shop = object(&evidence, "shop");
    assert_eq!(shop.achieved_rpo, Some(Duration::from_secs(29 * 60 + 55)));
    let daily = &evidence.schedules[0];
    assert!(!daily.overdue);
    assert_eq!(
        daily.last_completed_age,
        Some(Duration::from_secs(29 * 60 + 55))
    );
}

#[test]
fn a_completed_backup_without_a_pod_volume_backup_of_a_hostpath_claim_missed_that_volume() {
    let evidence = judge(&[CACHE_CLAIM, SKIPPED_HOSTPATH], NOW);
    let cache = object(&evidence, "cache");
    assert_eq!(codes(cache), ["last-backup-missed-volume"]);
    let finding = &cache.findings[0];
    assert_eq!(finding.severity, Severity::Error);
    assert_eq!(finding.schedule.as_deref(), Some("daily"));
    for part in [
        "PersistentVolumeClaim shop/cache",
        "daily-20261203020005 (Completed",
        "Velero made no PodVolumeBackup for it",
        "this backup counts 1 warning)",
    ] {
        assert!(
            finding.message.contains(part),
            "{part:?} not in {}",
            finding.message
        );
    }
    assert_eq!(cache.achieved_rpo, None);
    assert!(codes(object(&evidence, "orders")).is_empty());
}

#[test]
fn a_partially_failed_newest_backup_is_a_failure_and_the_older_completed_one_gives_the_rpo() {
    let evidence = judge(&[PARTIALLY_FAILED], NOW);
    let orders = object(&evidence, "orders");
    assert_eq!(codes(orders), ["last-backup-failed"]);
    assert!(
        orders.findings[0]
            .message
            .contains("daily-20261203020005 (PartiallyFailed, started 2026-12-03T02:00:05Z), did not complete (1 error)"),
        "{}",
        orders.findings[0].message
    );
    assert_eq!(
        orders.restorable_from.as_deref(),
        Some("daily-20261202020004")
    );
    assert_eq!(
        orders.achieved_rpo,
        Some(Duration::from_secs(24 * 3600 + 29 * 60 + 56))
    );
    assert_eq!(codes(object(&evidence, "shop")), ["last-backup-failed"]);
}

#[test]
fn a_failed_pod_volume_backup_in_a_completed_backup_names_velero_s_message() {
    // The PartiallyFailed fixture's failed PodVolumeBackup, in a backup that reads Completed.
    let completed = PARTIALLY_FAILED.replacen("phase: PartiallyFailed", "phase: Completed", 1);
    let evidence = judge(&[&completed], NOW);
    let orders = object(&evidence, "orders");
    assert_eq!(codes(orders), ["last-backup-missed-volume"]);
    let message = &orders.findings[0].message;
    assert!(
        message.contains("its PodVolumeBackup daily-20261203020005-7xk2p (pod shop/orders-db-0, volume \"data\") is Failed: running Kopia backup"),
        "{message}"
    );
}

#[test]
fn a_schedule_whose_newest_completed_backup_is_past_its_worst_case_is_overdue() {
    let evidence = judge(&[OVERDUE], NOW);
    assert!(evidence.schedules[0].overdue);
    let orders = object(&evidence, "orders");
    assert_eq!(codes(orders), ["backup-overdue"]);
    let message = &orders.findings[0].message;
    assert!(
        message.contains("daily-20261130020005, started 3d29m55s ago: beyond the predicted worst case of 1d1m plus the 1h tolerance (overdue: daily)"),
        "{message}"
    );
}

#[test]
fn an_hour_past_the_worst_case_is_within_the_tolerance_of_a_daily_schedule() {
    // The overdue fixture judged 25h after its backup started: 24h1m worst case + 1h tolerance.
    let evidence = judge(&[OVERDUE], "2026-12-01T03:01:05Z");
    assert!(!evidence.has_errors(), "{evidence:#?}");
    let evidence = judge(&[OVERDUE], "2026-12-01T03:01:06Z");
    assert_eq!(codes(object(&evidence, "orders")), ["backup-overdue"]);
}

#[test]
fn a_newest_backup_in_progress_is_not_judged_and_the_previous_completed_one_is() {
    let evidence = judge(&[IN_PROGRESS], NOW);
    assert!(!evidence.has_errors(), "{evidence:#?}");
    let orders = object(&evidence, "orders");
    assert_eq!(
        orders.restorable_from.as_deref(),
        Some("daily-20261202020004")
    );
    assert!(
        orders.notes.iter().any(|note| note
            .contains("daily-20261203020005 (InProgress, started 2026-12-03T02:00:05Z) of schedule daily is not finished: not judged yet")),
        "{:?}",
        orders.notes
    );
    let daily = &evidence.schedules[0];
    assert_eq!(
        daily.newest.as_ref().map(|b| b.phase.as_str()),
        Some("InProgress")
    );
    assert_eq!(
        daily.last_finished.as_ref().map(|b| b.name.as_str()),
        Some("daily-20261202020004")
    );
}

#[test]
fn a_schedule_without_any_backup_is_overdue_once_older_than_its_worst_case() {
    let evidence = judge(&[], NOW);
    assert!(
        evidence.schedules[0].overdue,
        "created a month before {NOW}"
    );
    let orders = object(&evidence, "orders");
    assert_eq!(codes(orders), ["backup-overdue"]);
    assert!(
        orders
            .notes
            .iter()
            .any(|note| note.contains("no finished backup yet"))
    );
    // A day after it was created, it may simply not have fired yet.
    let evidence = judge(&[], "2026-11-02T00:00:00Z");
    assert!(!evidence.has_errors(), "{evidence:#?}");
}

#[test]
fn backups_of_other_schedules_or_namespaces_are_not_evidence() {
    let elsewhere = EVERY_VOLUME.replace(
        "velero.io/schedule-name: daily",
        "velero.io/schedule-name: weekly",
    );
    let evidence = judge(&[&elsewhere], NOW);
    assert_eq!(codes(object(&evidence, "orders")), ["backup-overdue"]);
    let elsewhere = EVERY_VOLUME.replace("namespace: velero", "namespace: other");
    let evidence = judge(&[&elsewhere], NOW);
    assert_eq!(codes(object(&evidence, "orders")), ["backup-overdue"]);
}

#[test]
fn long_names_are_matched_as_velero_shortens_label_values() {
    // `GetValidName`: a label value keeps the first 57 characters of a longer name and 6 hex
    // digits of its SHA-256. A schedule and a backup named past 63 characters:
    let schedule = format!("daily-{}", "s".repeat(60));
    let backup = format!("{schedule}-20261203020005");
    let shortened = |name: &str| format!("{}0c4f2e", &name[..57]);
    let cluster = CLUSTER.replace("name: daily\n", &format!("name: {schedule}\n"));
    let records = EVERY_VOLUME
        .replace(
            "velero.io/schedule-name: daily",
            &format!("velero.io/schedule-name: {}", shortened(&schedule)),
        )
        .replace(
            "velero.io/backup-name: daily-20261203020005",
            &format!("velero.io/backup-name: {}", shortened(&backup)),
        )
        .replace("name: daily-20261203020005\n", &format!("name: {backup}\n"));
    let evidence = judge_in(&cluster, &[&records], NOW);
    assert!(!evidence.has_errors(), "{evidence:#?}");
    assert_eq!(
        object(&evidence, "orders").restorable_from.as_deref(),
        Some(backup.as_str())
    );
    // Not hex: not a shortened name, so not this backup's.
    let other = records.replace(
        &format!("velero.io/backup-name: {}", shortened(&backup)),
        &format!("velero.io/backup-name: {}xyzxyz", &backup[..57]),
    );
    let evidence = judge_in(&cluster, &[&other], NOW);
    assert_eq!(
        codes(object(&evidence, "orders")),
        ["last-backup-missed-volume"]
    );
}

#[test]
fn the_overdue_tolerance_is_a_quarter_of_the_worst_case_within_five_minutes_and_an_hour() {
    assert_eq!(
        overdue_tolerance(Duration::from_secs(60)),
        OVERDUE_TOLERANCE_MIN
    );
    assert_eq!(
        overdue_tolerance(Duration::from_secs(3660)),
        Duration::from_secs(915)
    );
    assert_eq!(
        overdue_tolerance(Duration::from_secs(86_460)),
        OVERDUE_TOLERANCE_MAX
    );
}

// The data mover (`snapshotMoveData`): `pkg/backup/actions/csi/pvc_action.go`, `newDataUpload`
// (one DataUpload per claim, labelled with the backup's name); `pkg/backup/snapshots.go`,
// `GetBackupCSIResources` (no VolumeSnapshots are counted when data is moved).

#[test]
fn a_completed_data_upload_of_the_claim_is_its_copy_in_a_data_mover_backup() {
    let evidence = judge_in(DATA_MOVER_CLUSTER, &[UPLOAD_COMPLETED], NOW);
    assert!(!evidence.has_errors(), "{evidence:#?}");
    let orders = object(&evidence, "orders");
    assert_eq!(
        orders.restorable_from.as_deref(),
        Some("daily-20261203020005")
    );
    assert_eq!(orders.achieved_rpo, Some(Duration::from_secs(29 * 60 + 55)));
}

#[test]
fn a_data_mover_backup_is_not_judged_by_its_csi_snapshot_counters() {
    // Velero counts no VolumeSnapshots when it moves their data: csiVolumeSnapshotsAttempted
    // is absent from the fixture's Backup, and that is no evidence of a missing copy.
    assert!(!UPLOAD_COMPLETED.contains("csiVolumeSnapshotsAttempted"));
    let evidence = judge_in(DATA_MOVER_CLUSTER, &[UPLOAD_COMPLETED], NOW);
    assert!(codes(object(&evidence, "orders")).is_empty());
}

#[test]
fn a_failed_data_upload_in_the_newest_backup_names_velero_s_message_and_the_older_one_restores() {
    let evidence = judge_in(DATA_MOVER_CLUSTER, &[UPLOAD_FAILED], NOW);
    let orders = object(&evidence, "orders");
    assert_eq!(codes(orders), ["last-backup-failed"]);
    let message = &orders.findings[0].message;
    assert!(
        message.contains("daily-20261203020005 (PartiallyFailed, started 2026-12-03T02:00:05Z), did not complete (1 error); for this claim, its DataUpload daily-20261203020005-w5n9k (the data mover's copy of its CSI snapshot) is Failed: data path backup failed: Failed to run kopia backup: unable to write content chunk: no space left on device"),
        "{message}"
    );
    assert_eq!(
        orders.restorable_from.as_deref(),
        Some("daily-20261202020004")
    );
}

#[test]
fn a_completed_data_mover_backup_with_uploads_for_other_claims_only_missed_the_claim() {
    let elsewhere = UPLOAD_COMPLETED.replace("sourcePVC: orders", "sourcePVC: invoices");
    let evidence = judge_in(DATA_MOVER_CLUSTER, &[&elsewhere], NOW);
    let orders = object(&evidence, "orders");
    assert_eq!(codes(orders), ["last-backup-missed-volume"]);
    assert!(
        orders.findings[0]
            .message
            .contains("Velero made no DataUpload for it"),
        "{}",
        orders.findings[0].message
    );
}

#[test]
fn without_any_data_upload_of_a_backup_its_item_operation_counters_stand_in() {
    // An export without DataUploads (or a cluster that does not serve velero.io/v2alpha1).
    let backup_only = |text: &str| {
        text[..text.find("- apiVersion: velero.io/v2alpha1").unwrap()].to_string()
            + "kind: List\nmetadata:\n  resourceVersion: ''\n"
    };
    let evidence = judge_in(DATA_MOVER_CLUSTER, &[&backup_only(UPLOAD_COMPLETED)], NOW);
    assert!(
        !evidence.has_errors(),
        "1 of 1 operations completed: {evidence:#?}"
    );
    let none_attempted = backup_only(UPLOAD_COMPLETED)
        .replace(
            "backupItemOperationsAttempted: 1",
            "backupItemOperationsAttempted: 0",
        )
        .replace(
            "backupItemOperationsCompleted: 1",
            "backupItemOperationsCompleted: 0",
        );
    let evidence = judge_in(DATA_MOVER_CLUSTER, &[&none_attempted], NOW);
    let orders = object(&evidence, "orders");
    assert_eq!(codes(orders), ["last-backup-missed-volume"]);
    assert!(
        orders.findings[0].message.contains(
            "coverage expects a CSI snapshot of it moved by the data mover, and Velero completed 0 of the 0 item operations"
        ),
        "{}",
        orders.findings[0].message
    );
}

#[test]
fn a_csi_snapshot_left_in_place_is_judged_by_the_backup_s_snapshot_counters() {
    // The same backup without the data mover: Velero deleted its VolumeSnapshot when the
    // backup finalized (`pkg/backup/actions/csi/volumesnapshot_action.go`, `Execute`), so only
    // the Backup's counters remain.
    let in_place = UPLOAD_COMPLETED.replace("snapshotMoveData: true", "snapshotMoveData: false");
    let evidence = judge_in(DATA_MOVER_CLUSTER, &[&in_place], NOW);
    assert_eq!(
        codes(object(&evidence, "orders")),
        ["last-backup-missed-volume"],
        "no CSI snapshot counted"
    );
    let counted = in_place.replace(
        "backupItemOperationsAttempted: 1",
        "csiVolumeSnapshotsAttempted: 1\n    csiVolumeSnapshotsCompleted: 1\n    backupItemOperationsAttempted: 1",
    );
    let evidence = judge_in(DATA_MOVER_CLUSTER, &[&counted], NOW);
    assert!(!evidence.has_errors(), "{evidence:#?}");
}

#[test]
fn a_schedule_reports_what_its_restorable_data_dates_from_and_when_it_is_overdue() {
    let evidence = judge(&[EVERY_VOLUME], NOW);
    let daily = &evidence.schedules[0];
    assert_eq!(
        daily.restorable_since,
        Some("2026-12-03T02:00:05Z".parse().unwrap())
    );
    // 24h1m worst case plus the 1h tolerance.
    assert_eq!(
        daily.overdue_after,
        Some(Duration::from_secs(25 * 3600 + 60))
    );
    // Before its first backup, the schedule's own creation.
    let evidence = judge(&[], NOW);
    assert_eq!(
        evidence.schedules[0].restorable_since,
        Some("2026-11-01T00:00:00Z".parse().unwrap())
    );
}
