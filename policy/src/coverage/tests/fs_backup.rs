//! Data reach by file-system backup: running pods, `backup-volumes` and `backup-volumes-excludes`.
//! Which volumes a pod backs up: `pkg/util/podvolume/pod_volume.go`, `GetVolumesByPod` (opt-in
//! annotation or the default with its excludes), through
//! `internal/volumehelper/volume_policy_helper.go`, `ShouldPerformFSBackup` /
//! `shouldPerformFSBackupLegacy`; the copy needs a running pod (`pkg/podvolume/backupper.go`,
//! `BackupPodVolumes`, `kube.IsPodRunning`).

use super::*;

#[test]
fn default_fs_backup_covers_a_volume_mounted_by_a_running_pod() {
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "local")
            + &pod("registry", "registry-0", "storage", "data", "", "Running")
            + &schedule("s", "0 2 * * *", &fs_default(""))),
    );
    let verdict = pvc_verdict(&index, "registry", "data");
    assert_eq!(verdict.covered_by, ["s"]);
    assert!(verdict.gaps.is_empty(), "{:?}", verdict.gaps);
}

#[test]
fn fs_backup_only_for_an_unmounted_pvc_is_its_own_gap() {
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "local")
            + &schedule("s", "0 2 * * *", &fs_default(""))),
    );
    assert_eq!(
        error_codes(&pvc_verdict(&index, "registry", "data")),
        [GapCode::UnmountedFsBackupOnly]
    );
}

#[test]
fn fs_backup_through_a_pod_that_is_not_running_is_unmounted() {
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "local")
            + &pod("registry", "registry-0", "storage", "data", "", "Pending")
            + &schedule("s", "0 2 * * *", &fs_default(""))),
    );
    assert_eq!(
        error_codes(&pvc_verdict(&index, "registry", "data")),
        [GapCode::UnmountedFsBackupOnly]
    );
}

#[test]
fn backup_volumes_annotation_must_name_the_volume_not_the_claim() {
    let naming_claim = ", annotations: {backup.velero.io/backup-volumes: data}";
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "local")
            + &pod(
                "registry",
                "registry-0",
                "storage",
                "data",
                naming_claim,
                "Running",
            )
            + &schedule("s", "0 2 * * *", "{}")),
    );
    let verdict = pvc_verdict(&index, "registry", "data");
    assert_eq!(error_codes(&verdict), [GapCode::VolumeNotBackedUp]);
    assert!(
        verdict.gaps[0].message.contains("write \"storage\""),
        "{}",
        verdict.gaps[0].message
    );
}

#[test]
fn backup_volumes_annotation_naming_the_volume_opts_it_in() {
    let naming_volume = ", annotations: {backup.velero.io/backup-volumes: 'cache,storage'}";
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "local")
            + &pod(
                "registry",
                "registry-0",
                "storage",
                "data",
                naming_volume,
                "Running",
            )
            + &schedule("s", "0 2 * * *", "{}")),
    );
    assert_eq!(pvc_verdict(&index, "registry", "data").covered_by, ["s"]);
}

/// Issue 16 item 2: the claim is mounted; what keeps its data out is the pod's exclusion
/// (`internal/volumehelper/volume_policy_helper.go`, `shouldPerformFSBackupLegacy`, opt-out way).
#[test]
fn backup_volumes_excludes_opts_a_volume_out_of_default_fs_backup() {
    let opt_out = ", annotations: {backup.velero.io/backup-volumes-excludes: storage}";
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "local")
            + &pod(
                "registry",
                "registry-0",
                "storage",
                "data",
                opt_out,
                "Running",
            )
            + &schedule("s", "0 2 * * *", &fs_default(""))),
    );
    let verdict = pvc_verdict(&index, "registry", "data");
    assert_eq!(error_codes(&verdict), [GapCode::VolumeNotBackedUp]);
    let message = &verdict.gaps[0].message;
    assert!(
        message.contains("pod registry-0")
            && message.contains("backup.velero.io/backup-volumes-excludes")
            && message.contains("remove \"storage\" from the annotation"),
        "{message}"
    );
    assert!(!message.contains("no running pod"), "{message}");
}

/// A pod outside the backup still chooses the claim for file-system backup, which stops the
/// snapshot (`internal/volumehelper/volume_policy_helper.go`, `ShouldPerformSnapshot`, the pods
/// using the claim), while the copy itself needs the pod in the backup.
#[test]
fn fs_backup_needs_the_mounting_pod_in_the_backup() {
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "local")
            + &pod("registry", "registry-0", "storage", "data", "", "Running")
            + &schedule("s", "0 2 * * *", &fs_default(", excludedResources: [pods]"))),
    );
    let verdict = pvc_verdict(&index, "registry", "data");
    assert_eq!(error_codes(&verdict), [GapCode::VolumeNotBackedUp]);
    assert!(
        verdict.gaps[0]
            .message
            .contains("pod registry-0 selects it for file-system backup"),
        "{}",
        verdict.gaps[0].message
    );
}
