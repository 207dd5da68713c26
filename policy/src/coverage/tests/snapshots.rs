//! Data reach by snapshot: VolumeSnapshotLocations, VolumeSnapshotClasses, `snapshotVolumes`,
//! bound claims. Whether a claim is snapshotted at all: `internal/volumehelper/
//! volume_policy_helper.go`, `ShouldPerformSnapshot` (`snapshotVolumes: false` and no policy:
//! no snapshot); a native snapshot through a VolumeSnapshotLocation: `pkg/backup/
//! item_backupper.go`, `takePVSnapshot`; a CSI one: `pkg/backup/actions/csi/pvc_action.go`, with
//! the class from `pkg/util/csi/volume_snapshot.go`, `GetVolumeSnapshotClassForStorageClass`.

use super::*;

#[test]
fn snapshot_class_for_another_driver_gives_no_snapshot_path() {
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "local")
            + CSI_STORAGE
            + &schedule("s", "0 2 * * *", "{}")),
    );
    assert_eq!(
        error_codes(&pvc_verdict(&index, "registry", "data")),
        [GapCode::VolumeNotBackedUp]
    );
}

/// `pkg/util/csi/volume_snapshot.go`, `GetVolumeSnapshotClassForStorageClass`: the only class
/// of the driver is used without Velero's label (rule 4); more are in `snapshot_classes`.
#[test]
fn only_snapshot_class_of_the_driver_is_used_without_the_velero_label() {
    let unlabelled = CSI_STORAGE.replace(
        "labels: {velero.io/csi-volumesnapshot-class: 'true'}",
        "labels: {}",
    );
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "fast")
            + &unlabelled
            + &schedule("s", "0 2 * * *", "{}")),
    );
    assert_eq!(pvc_verdict(&index, "registry", "data").covered_by, ["s"]);
}

#[test]
fn volume_snapshot_location_in_velero_namespace_gives_a_snapshot_path() {
    let vsl = "---\napiVersion: velero.io/v1\nkind: VolumeSnapshotLocation\nmetadata: {name: default, namespace: velero}\nspec: {provider: aws}\n";
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "local")
            + vsl
            + &schedule("s", "0 2 * * *", "{}")),
    );
    assert_eq!(pvc_verdict(&index, "registry", "data").covered_by, ["s"]);
}

#[test]
fn snapshot_volumes_false_leaves_data_uncovered() {
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "fast")
            + CSI_STORAGE
            + &schedule("s", "0 2 * * *", "{snapshotVolumes: false}")),
    );
    let verdict = pvc_verdict(&index, "registry", "data");
    assert_eq!(error_codes(&verdict), [GapCode::VolumeNotBackedUp]);
    assert!(verdict.gaps[0].message.contains("snapshotVolumes: false"));
}

/// `pkg/backup/actions/csi/pvc_action.go`: the claim's own action takes the CSI snapshot, so
/// neither PersistentVolumes nor cluster resources need to be in the backup.
#[test]
fn csi_snapshot_needs_no_persistent_volumes_in_the_backup() {
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "fast")
            + CSI_STORAGE
            + &schedule(
                "s",
                "0 2 * * *",
                "{includedResources: [pvc, pods], includeClusterResources: false}",
            )),
    );
    assert_eq!(pvc_verdict(&index, "registry", "data").covered_by, ["s"]);
}

/// A VolumeSnapshotLocation snapshot is taken when the PV itself is backed up
/// (`item_backupper.go`, `takePVSnapshot`): excluding PVs loses it.
#[test]
fn volume_snapshot_location_snapshot_needs_the_persistent_volume() {
    let vsl = "---\napiVersion: velero.io/v1\nkind: VolumeSnapshotLocation\nmetadata: {name: default, namespace: velero}\nspec: {provider: aws}\n";
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "local")
            + vsl
            + &schedule("s", "0 2 * * *", "{excludedResources: [pv]}")),
    );
    let verdict = pvc_verdict(&index, "registry", "data");
    assert_eq!(error_codes(&verdict), [GapCode::VolumeNotBackedUp]);
    assert!(
        verdict.gaps[0]
            .message
            .contains("VolumeSnapshotLocation snapshot needs")
    );
}

/// `pkg/util/kube/pvc_pv.go`, `GetPVForPVC`: a claim that is not bound is never snapshotted.
#[test]
fn unbound_claim_is_never_snapshotted() {
    let pending = pvc("registry", "data", "", "fast") + "status: {phase: Pending}\n";
    let index = index(
        &(namespace("registry", "") + &pending + CSI_STORAGE + &schedule("s", "0 2 * * *", "{}")),
    );
    let verdict = pvc_verdict(&index, "registry", "data");
    assert_eq!(error_codes(&verdict), [GapCode::VolumeNotBackedUp]);
    assert!(
        verdict.gaps[0]
            .message
            .contains("not bound to a volume (phase Pending)"),
        "{}",
        verdict.gaps[0].message
    );
}
