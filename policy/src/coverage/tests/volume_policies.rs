//! Velero volume policies (issue 16, item 6; issue 19): the `resourcePolicy` ConfigMap of a
//! Schedule's template chooses `skip`, `snapshot` or `fs-backup` per volume
//! (`internal/volumehelper/volume_policy_helper.go`, `ShouldPerformSnapshot`,
//! `ShouldPerformFSBackup`; cases after `volume_policy_helper_test.go`,
//! `TestVolumeHelperImpl_ShouldPerformSnapshot`), and a ConfigMap Velero cannot read fails the
//! backup (`pkg/controller/backup_controller.go`, `prepareBackupRequest`). Reading and matching
//! are unit-tested in `volume_policy/tests.rs`. Fixtures in `fixtures/velero-volume-policies/`.

use super::*;

const SKIP_BY_CLASS: &str =
    include_str!("../../../../fixtures/velero-volume-policies/skip-by-storage-class.yaml");
const SNAPSHOT_WINS: &str = include_str!(
    "../../../../fixtures/velero-volume-policies/snapshot-wins-over-pod-annotation.yaml"
);
const FS_WITHOUT_POD: &str = include_str!(
    "../../../../fixtures/velero-volume-policies/fs-backup-without-a-running-pod.yaml"
);
const INVALID: &str = include_str!(
    "../../../../fixtures/velero-volume-policies/invalid-policy-fails-the-backup.yaml"
);
const SMALL_CLAIMS: &str = include_str!(
    "../../../../fixtures/velero-volume-policies/small-claims-skipped-by-capacity.yaml"
);

fn claim(index: &CoverageIndex, name: &str) -> Verdict {
    pvc_verdict(index, "team-vp", name)
}

/// Issue 16's fixture "a volume policy that skips by storage class": `skip` keeps both copies
/// away (`ShouldPerformSnapshot` and `ShouldPerformFSBackup` return false; `BackupPodVolumes`
/// records "matched action is 'skip'").
#[test]
fn volume_policy_skips_a_storage_class() {
    let index = index(SKIP_BY_CLASS);
    assert_eq!(claim(&index, "data").covered_by, ["daily"]);
    let cache = claim(&index, "cache");
    assert_eq!(error_codes(&cache), [GapCode::VolumeNotBackedUp]);
    assert!(
        cache.gaps[0].message.contains(
            "volume policy 0 of ConfigMap velero/volume-policy matches it with the action skip"
        ),
        "{}",
        cache.gaps[0].message
    );
}

/// `TestVolumeHelperImpl_ShouldPerformSnapshot`, "VolumePolicy match, snapshotVolumes is false,
/// return true": a `snapshot` policy wins over `snapshotVolumes: false` and over the pod's
/// `backup-volumes` choice, which without the policy leaves the claim with neither copy.
#[test]
fn snapshot_policy_wins_over_pod_annotation_and_snapshot_volumes() {
    assert_eq!(claim(&index(SNAPSHOT_WINS), "data").covered_by, ["daily"]);
    let without_policy = SNAPSHOT_WINS.replace(
        "    resourcePolicy:\n      kind: configmap\n      name: volume-policy\n",
        "",
    );
    let verdict = claim(&index(&without_policy), "data");
    assert!(verdict.covered_by.is_empty(), "{verdict:?}");
    assert_eq!(error_codes(&verdict), [GapCode::UnmountedFsBackupOnly]);
}

/// `TestVolumeHelperImpl_ShouldPerformSnapshot`, "VolumePolicy match but action is
/// unexpected, return false": `fs-backup` stops the snapshot; without a running pod nothing
/// copies the data.
#[test]
fn fs_backup_policy_without_a_running_pod_leaves_the_data() {
    let verdict = claim(&index(FS_WITHOUT_POD), "data");
    assert_eq!(error_codes(&verdict), [GapCode::UnmountedFsBackupOnly]);
    let mounted = FS_WITHOUT_POD.to_string()
        + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: app-0, namespace: team-vp}\nspec:\n  containers: [{name: app, volumeMounts: [{name: data, mountPath: /data}]}]\n  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]\n";
    assert_eq!(claim(&index(&mounted), "data").covered_by, ["daily"]);
}

/// `unmarshalVolConditions` with `KnownFields`: an unknown condition fails the backup, so the
/// schedule covers nothing.
#[test]
fn unreadable_policy_fails_the_whole_backup() {
    let verdict = namespace_verdict(&index(INVALID), "team-vp");
    assert_eq!(error_codes(&verdict), [GapCode::ScheduleInvalid]);
    assert!(
        verdict.gaps[0]
            .message
            .contains("ConfigMap velero/volume-policy")
            && verdict.gaps[0].message.contains("storageClasses"),
        "{}",
        verdict.gaps[0].message
    );
}

/// `capacityCondition`: matched against the volume's capacity; before the volume is known, the
/// claim's requested size stands in.
#[test]
fn capacity_condition_reads_the_requested_size() {
    let index = index(SMALL_CLAIMS);
    assert_eq!(claim(&index, "data").covered_by, ["daily"]);
    assert_eq!(
        error_codes(&claim(&index, "cache")),
        [GapCode::VolumeNotBackedUp]
    );
}

/// A bound PersistentVolume, when known, decides what the policy reads: its class, capacity and
/// CSI driver, not the claim's (`parsePV`).
#[test]
fn bound_volume_decides_what_the_policy_reads() {
    let bound = SMALL_CLAIMS.replace(
        "  storageClassName: gp3\n  resources:\n    requests:\n      storage: 512Mi",
        "  storageClassName: gp3\n  volumeName: pv-cache\n  resources:\n    requests:\n      storage: 512Mi",
    ) + "---\napiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv-cache}\nspec:\n  capacity: {storage: 5Gi}\n  storageClassName: gp3\n  csi: {driver: ebs.csi.aws.com, volumeHandle: vol-1}\n";
    assert_eq!(claim(&index(&bound), "cache").covered_by, ["daily"]);
}

/// A resource policy the manifests do not hold is not judged offline (a warning), but in a
/// cluster, where the Velero namespace's ConfigMaps are all known, it fails the backup.
#[test]
fn missing_config_map_is_a_warning_offline_and_a_failure_in_a_cluster() {
    let elsewhere = SKIP_BY_CLASS.replace(
        "  name: volume-policy\n  namespace: velero\n",
        "  name: volume-policy\n  namespace: other\n",
    );
    let offline = claim(&index(&elsewhere), "cache");
    assert_eq!(offline.covered_by, ["daily"]);
    assert_eq!(codes(&offline), [GapCode::VolumePoliciesUnknown]);
    assert!(
        offline.gaps[0]
            .message
            .contains("which the manifests do not hold"),
        "{}",
        offline.gaps[0].message
    );
    assert!(
        namespace_verdict(&index(&elsewhere), "team-vp")
            .gaps
            .is_empty()
    );

    let policy = Arc::new(
        Policy::from_yaml(
            &format!("{POLICY}\nvelero: {{{TEST_SERVER}}}\n"),
            "policy.yaml",
        )
        .unwrap(),
    );
    let mut inventory = Inventory::default();
    inventory.add_yaml(&elsewhere, "cluster.yaml").unwrap();
    inventory.config_maps_listed = true;
    let cluster = CoverageIndex::build(policy, inventory);
    let verdict = namespace_verdict(&cluster, "team-vp");
    assert_eq!(error_codes(&verdict), [GapCode::ScheduleInvalid]);
    assert!(
        verdict.gaps[0]
            .message
            .contains("names ConfigMap velero/volume-policy, which does not exist"),
        "{}",
        verdict.gaps[0].message
    );
}

/// Conditions follow the release: `pvcLabels` from 1.16 (before, the policy fails the backup),
/// `pvcPhase` from 1.18, where an unbound claim is matched by the claim alone.
#[test]
fn claim_conditions_follow_the_release() {
    let by_labels = SKIP_BY_CLASS
        .replace(
            "          storageClass: [scratch]\n",
            "          pvcLabels: {tier: scratch}\n",
        )
        .replace(
            "  name: cache\n  namespace: team-vp\n",
            "  name: cache\n  namespace: team-vp\n  labels: {tier: scratch}\n",
        );
    let new = index_for_version("1.16", &by_labels);
    assert_eq!(
        error_codes(&claim(&new, "cache")),
        [GapCode::VolumeNotBackedUp]
    );
    assert_eq!(claim(&new, "data").covered_by, ["daily"]);
    let old = index_for_version("1.15", &by_labels);
    assert_eq!(
        error_codes(&claim(&old, "data")),
        [GapCode::ScheduleInvalid]
    );

    let by_phase = SKIP_BY_CLASS.replace(
        "          storageClass: [scratch]\n",
        "          pvcPhase: [Pending]\n",
    ) + "status: {phase: Pending}\n";
    let message = |version: &str| {
        claim(&index_for_version(version, &by_phase), "cache").gaps[0]
            .message
            .clone()
    };
    assert!(
        message("1.18").contains("matches it with the action skip"),
        "{}",
        message("1.18")
    );
    assert!(
        message("1.17").contains("fail Velero v1.17's checks"),
        "{}",
        message("1.17")
    );
}

/// `includeExcludePolicy` (from 1.17) merges into the scoped resource filters
/// (`ScopeIncludesExcludes.CombineWithPolicy`): excluding claims leaves them out of the backup;
/// beside the old-style filters it fails validation.
#[test]
fn include_exclude_policy_filters_resources_from_1_17() {
    let excluding = SKIP_BY_CLASS.replace(
        "    version: v1\n    volumePolicies:\n",
        "    version: v1\n    includeExcludePolicy:\n      excludedNamespaceScopedResources: [persistentvolumeclaims]\n    volumePolicies:\n",
    );
    let verdict = claim(&index_for_version("1.17", &excluding), "data");
    assert_eq!(codes(&verdict), [GapCode::NoSchedule]);
    assert_eq!(
        error_codes(&claim(&index_for_version("1.16", &excluding), "data")),
        [GapCode::ScheduleInvalid]
    );
    let old_style = excluding.replace(
        "    ttl: 720h0m0s\n",
        "    ttl: 720h0m0s\n    includedResources: ['*']\n",
    );
    let message = namespace_verdict(&index_for_version("1.17", &old_style), "team-vp").gaps[0]
        .message
        .clone();
    assert!(
        message.contains("cannot be used with the includeExcludePolicy"),
        "{message}"
    );
}
