//! Velero's silent skips: a volume chosen for file-system backup that `BackupPodVolumes`
//! (`pkg/podvolume/backupper.go`) skips with only a warning, and that is then not snapshotted
//! either (`internal/volumehelper/volume_policy_helper.go`, `ShouldPerformSnapshot`). Fixtures in
//! `fixtures/velero-skips/`.

use super::*;
use crate::objects::PvcSpecFacts;
use crate::verdict::Gap;

const LOCAL_PATH_HOSTPATH: &str =
    include_str!("../../../../fixtures/velero-skips/local-path-claim-hostpath.yaml");
const LOCAL_PATH_VOLUME_TYPE_LOCAL: &str = include_str!(
    "../../../../fixtures/velero-skips/local-path-claim-volume-type-local-backed-up.yaml"
);
const LOCAL_PATH_CLASS_DEFAULT_LOCAL: &str =
    include_str!("../../../../fixtures/velero-skips/local-path-class-default-local-backed-up.yaml");
const BOUND_HOSTPATH_VOLUME: &str =
    include_str!("../../../../fixtures/velero-skips/bound-hostpath-volume.yaml");
const INIT_CONTAINER_ONLY: &str =
    include_str!("../../../../fixtures/velero-skips/claim-mounted-only-by-init-container.yaml");
const BLOCK_MODE_CLAIM: &str =
    include_str!("../../../../fixtures/velero-skips/block-mode-claim.yaml");

/// The one gap of an uncovered claim, which must be `volume-not-backed-up`.
fn only_gap(verdict: &Verdict) -> Gap {
    assert!(verdict.covered_by.is_empty(), "{verdict:?}");
    assert_eq!(error_codes(verdict), [GapCode::VolumeNotBackedUp]);
    verdict.gaps[0].clone()
}

/// `backupper.go`, `isHostPathVolume`, predicted for a claim of Rancher's local-path class
/// (`provisioner.go`, `provisionFor`: `hostPath` unless the claim or class says `local`).
#[test]
fn local_path_claim_without_volume_type_is_skipped_as_host_path() {
    let index = index(LOCAL_PATH_HOSTPATH);
    let message = only_gap(&pvc_verdict(&index, "team-skips", "data")).message;
    assert!(
        message.contains("storage class standard (Rancher local-path) provisions hostPath volumes")
            && message.contains("pod app-0")
            && message.contains("volumeType: local"),
        "{message}"
    );
}

/// `provisioner.go`, `provisionFor`: the claim's `volumeType` annotation wins over the class.
#[test]
fn local_path_claim_annotated_volume_type_local_is_backed_up() {
    let verdict = pvc_verdict(&index(LOCAL_PATH_VOLUME_TYPE_LOCAL), "team-skips", "data");
    assert_eq!(verdict.covered_by, ["daily-fs"]);
    assert!(verdict.gaps.is_empty(), "{:?}", verdict.gaps);
}

/// `provisioner.go`, `provisionFor`: the class's `defaultVolumeType` annotation.
#[test]
fn local_path_class_with_default_volume_type_local_is_backed_up() {
    let verdict = pvc_verdict(&index(LOCAL_PATH_CLASS_DEFAULT_LOCAL), "team-skips", "data");
    assert_eq!(verdict.covered_by, ["daily-fs"]);
}

/// `provisioner.go`: a claim's `volumeType: hostPath` on a `local` class still gets hostPath
/// (the value is compared case-insensitively).
#[test]
fn claim_volume_type_host_path_wins_over_a_local_class() {
    let manifests = LOCAL_PATH_CLASS_DEFAULT_LOCAL.replace(
        "  namespace: team-skips\nspec:\n  accessModes",
        "  namespace: team-skips\n  annotations: {volumeType: HostPath}\nspec:\n  accessModes",
    );
    only_gap(&pvc_verdict(&index(&manifests), "team-skips", "data"));
}

/// `backupper.go`, `isHostPathVolume`: the bound PV's `hostPath` source.
#[test]
fn claim_bound_to_a_host_path_persistent_volume_is_skipped() {
    let index = index(BOUND_HOSTPATH_VOLUME);
    let message = only_gap(&pvc_verdict(&index, "team-skips", "data")).message;
    assert!(
        message.contains("PersistentVolume pv-data is a hostPath volume"),
        "{message}"
    );
}

/// The bound PV decides over the class's prediction: a local-path claim already bound to a
/// `local` PV is copied.
#[test]
fn bound_volume_that_is_not_host_path_wins_over_the_class_prediction() {
    let manifests = LOCAL_PATH_HOSTPATH.to_string()
        + "---\napiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pvc-1234}\n\
           spec: {storageClassName: standard, local: {path: /opt/local-path-provisioner/x}}\n";
    let manifests = manifests.replace(
        "spec:\n  accessModes: [ReadWriteOnce]\n  storageClassName: standard",
        "spec:\n  volumeName: pvc-1234\n  accessModes: [ReadWriteOnce]\n  storageClassName: standard",
    );
    let verdict = pvc_verdict(&index(&manifests), "team-skips", "data");
    assert_eq!(verdict.covered_by, ["daily-fs"], "{:?}", verdict.gaps);
}

/// `backupper.go`, `BackupPodVolumes`: "declared in pod but not mounted by any container";
/// only `pod.Spec.Containers` are read, not init containers.
#[test]
fn claim_mounted_only_by_an_init_container_is_skipped() {
    let index = index(INIT_CONTAINER_ONLY);
    let message = only_gap(&pvc_verdict(&index, "team-skips", "data")).message;
    assert!(
        message.contains("mounted by no regular container (init containers do not count)"),
        "{message}"
    );
}

/// `backupper.go`, `BackupPodVolumes`: "Block volumes are not supported for fs backup".
#[test]
fn block_device_claim_is_skipped() {
    let index = index(BLOCK_MODE_CLAIM);
    let message = only_gap(&pvc_verdict(&index, "team-skips", "data")).message;
    assert!(message.contains("raw block device"), "{message}");
}

/// At admission no pod mounts the claim yet: a local-path hostPath claim or a block claim
/// will be skipped by the default file-system backup all the same.
#[test]
fn new_local_path_or_block_claim_is_not_counted_as_covered_once_mounted() {
    for (manifests, block) in [(LOCAL_PATH_HOSTPATH, false), (BLOCK_MODE_CLAIM, true)] {
        let index = index(manifests);
        let mut new_pvc = PvcFacts {
            metadata: Meta::namespaced("team-skips", "new"),
            spec: PvcSpecFacts {
                storage_class_name: Some(if block { "fast" } else { "standard" }.to_string()),
                ..PvcSpecFacts::default()
            },
            status: Default::default(),
        };
        if block {
            new_pvc.spec.volume_mode = Some("Block".to_string());
        }
        let verdict = index.evaluate_pvc_at_admission(&new_pvc);
        assert_eq!(error_codes(&verdict), [GapCode::VolumeNotBackedUp]);
        assert!(
            verdict.gaps[0]
                .message
                .contains("file-system backup of it will be skipped once a pod mounts it"),
            "{}",
            verdict.gaps[0].message
        );
    }
}

/// `ShouldPerformSnapshot`: a claim that a pod chooses for file-system backup is not
/// snapshotted even when that pod is pending, so neither copy is made (issue 19, rule 3).
#[test]
fn pending_pod_choosing_fs_backup_stops_the_snapshot_too() {
    let opt_in = ", annotations: {backup.velero.io/backup-volumes: storage}";
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "fast")
            + CSI_STORAGE
            + &pod(
                "registry",
                "registry-0",
                "storage",
                "data",
                opt_in,
                "Pending",
            )
            + &schedule("s", "0 2 * * *", "{ttl: 720h}")),
    );
    let verdict = pvc_verdict(&index, "registry", "data");
    assert!(verdict.covered_by.is_empty());
    assert_eq!(error_codes(&verdict), [GapCode::UnmountedFsBackupOnly]);
}

/// `ShouldPerformSnapshot`: the pods using the claim are every pod of its namespace, whether
/// the backup holds them or not (issue 19, rule 3): here a pod labelled out of backups, which
/// no selector or related item brings in.
#[test]
fn pod_outside_the_backup_choosing_fs_backup_stops_the_snapshot() {
    let opt_in = ", labels: {velero.io/exclude-from-backup: 'true'}, annotations: {backup.velero.io/backup-volumes: storage}";
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", ", labels: {app: db}", "fast")
            + CSI_STORAGE
            + &pod("registry", "web-0", "storage", "data", opt_in, "Running")
            + &schedule(
                "s",
                "0 2 * * *",
                "{ttl: 720h, labelSelector: {matchLabels: {app: db}}}",
            )),
    );
    let verdict = pvc_verdict(&index, "registry", "data");
    let gap = only_gap(&verdict);
    assert!(
        gap.message
            .contains("pod web-0 selects it for file-system backup, so Velero takes no snapshot"),
        "{}",
        gap.message
    );
}

/// `pkg/util/podvolume/pod_volume.go`, `GetVolumesToBackup`: `strings.Split` without trimming,
/// so `"logs, storage"` names `" storage"`, not `storage` (issue 19, rule 7).
#[test]
fn annotation_list_items_are_not_trimmed_and_the_blank_is_pointed_out() {
    let listed = ", annotations: {backup.velero.io/backup-volumes: 'logs, storage'}";
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "local")
            + &pod(
                "registry",
                "registry-0",
                "storage",
                "data",
                listed,
                "Running",
            )
            + &schedule("s", "0 2 * * *", "{ttl: 720h, snapshotVolumes: false}")),
    );
    let verdict = pvc_verdict(&index, "registry", "data");
    let gap = only_gap(&verdict);
    assert!(
        gap.message.contains("with blanks around it") && gap.message.contains("remove the spaces"),
        "{}",
        gap.message
    );
}

/// The same list without the blank opts the volume in.
#[test]
fn annotation_list_without_blanks_opts_the_volume_in() {
    let listed = ", annotations: {backup.velero.io/backup-volumes: 'logs,storage'}";
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "local")
            + &pod(
                "registry",
                "registry-0",
                "storage",
                "data",
                listed,
                "Running",
            )
            + &schedule("s", "0 2 * * *", "{ttl: 720h, snapshotVolumes: false}")),
    );
    assert_eq!(pvc_verdict(&index, "registry", "data").covered_by, ["s"]);
}

/// Rule 3: a block-mode claim chosen for file-system backup loses both copies: the copy is
/// skipped (`BackupPodVolumes`, "Block volumes are not supported for fs backup") and the choice
/// still stops the CSI snapshot its labelled class would give (`ShouldPerformSnapshot`).
#[test]
fn block_claim_chosen_for_fs_backup_loses_the_snapshot_too() {
    let index = index(&(BLOCK_MODE_CLAIM.to_string() + CSI_STORAGE));
    let message = only_gap(&pvc_verdict(&index, "team-skips", "data")).message;
    assert!(message.contains("raw block device"), "{message}");
    let opted_out = BLOCK_MODE_CLAIM.replace(
        "  name: app-0\n  namespace: team-skips\n",
        "  name: app-0\n  namespace: team-skips\n  annotations: {backup.velero.io/backup-volumes-excludes: data}\n",
    ) + CSI_STORAGE;
    assert_eq!(
        pvc_verdict(&super::index(&opted_out), "team-skips", "data").covered_by,
        ["daily-fs"]
    );
}

/// Rule 3: "whatever that pod's phase": a finished Job's pod (`Succeeded`) that opted the
/// volume in still stops the snapshot, and copies nothing.
#[test]
fn finished_pod_choosing_fs_backup_stops_the_snapshot_too() {
    let opt_in = ", annotations: {backup.velero.io/backup-volumes: storage}";
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "fast")
            + CSI_STORAGE
            + &pod(
                "registry",
                "migrate-x7k2",
                "storage",
                "data",
                opt_in,
                "Succeeded",
            )
            + &schedule("s", "0 2 * * *", "{ttl: 720h}")),
    );
    let verdict = pvc_verdict(&index, "registry", "data");
    assert!(verdict.covered_by.is_empty(), "{verdict:?}");
    assert_eq!(error_codes(&verdict), [GapCode::UnmountedFsBackupOnly]);
}
