//! Label selectors pull in related items (issue 19, rule 2): a pod in the backup brings the
//! claims it mounts (`pkg/util/actionhelpers/pod_helper.go`, `RelatedItemsForPod`), and from
//! Velero 1.15 a bound claim in the backup brings the running pods that mount it
//! (`pkg/itemblock/actions/pvc_action.go`, `PVCAction.GetRelatedItems`; cases after
//! `pvc_action_test.go`, `TestBackupPVAction`). Fixtures in `fixtures/velero-selectors/`.

use super::*;

const POD_BRINGS_CLAIMS: &str =
    include_str!("../../../../fixtures/velero-selectors/selected-pod-brings-its-claims.yaml");
const CLAIM_BRINGS_PODS: &str =
    include_str!("../../../../fixtures/velero-selectors/selected-claim-brings-running-pods.yaml");
const POD_BRINGS_OTHER_CLAIMS: &str = include_str!(
    "../../../../fixtures/velero-selectors/pulled-in-pod-brings-its-other-claims.yaml"
);
const PENDING_POD: &str =
    include_str!("../../../../fixtures/velero-selectors/pending-pod-is-not-pulled-in.yaml");

/// `RelatedItemsForPod` (every release): the selected pod's claims are backed up although their
/// own labels do not match, and the pod copies their data.
#[test]
fn selected_pod_brings_the_claims_it_mounts() {
    for version in ["1.14", "1.18"] {
        let index = index_for_version(version, POD_BRINGS_CLAIMS);
        for claim in ["orders", "cache"] {
            let verdict = pvc_verdict(&index, "team-sel", claim);
            assert_eq!(
                verdict.covered_by,
                ["daily-api"],
                "{version} {claim}: {:?}",
                verdict.gaps
            );
        }
    }
}

/// `TestBackupPVAction`, "Test with volume and one running pod": from 1.15 the selected bound
/// claim brings the running pod, whose `backup-volumes` annotation copies it.
#[test]
fn selected_bound_claim_brings_the_running_pod_that_mounts_it_from_1_15() {
    let verdict = pvc_verdict(
        &index_for_version("1.15", CLAIM_BRINGS_PODS),
        "team-sel",
        "db-data",
    );
    assert_eq!(verdict.covered_by, ["daily-db"], "{:?}", verdict.gaps);
}

/// Before 1.15 nothing brings the pod: it stays out of the backup, and its `backup-volumes`
/// choice still stops the snapshot (`ShouldPerformSnapshot`), so neither copy is made.
#[test]
fn before_1_15_the_pod_of_a_selected_claim_stays_out() {
    let verdict = pvc_verdict(
        &index_for_version("1.14", CLAIM_BRINGS_PODS),
        "team-sel",
        "db-data",
    );
    assert_eq!(error_codes(&verdict), [GapCode::VolumeNotBackedUp]);
    assert!(
        verdict.gaps[0]
            .message
            .contains("pod db-0 selects it for file-system backup, so Velero takes no snapshot of it, but the pod is not in the backup"),
        "{}",
        verdict.gaps[0].message
    );
}

/// `executeItemBlockActions` runs recursively: the claim brings the running pod, the pod brings
/// its other claim.
#[test]
fn pulled_in_pod_brings_its_other_claims() {
    let new = index_for_version("1.15", POD_BRINGS_OTHER_CLAIMS);
    assert_eq!(
        pvc_verdict(&new, "team-sel", "db-data").covered_by,
        ["daily-db"]
    );
    assert_eq!(
        pvc_verdict(&new, "team-sel", "db-wal").covered_by,
        ["daily-db"]
    );
    let old = index_for_version("1.14", POD_BRINGS_OTHER_CLAIMS);
    assert_eq!(
        codes(&pvc_verdict(&old, "team-sel", "db-wal")),
        [GapCode::NoSchedule]
    );
}

/// `TestBackupPVAction`, "some not running" (`kube.IsPodRunning`): a pending pod is not brought
/// in, so its file-system backup choice leaves the claim with neither copy.
#[test]
fn pending_pod_is_not_pulled_in() {
    let verdict = pvc_verdict(&index(PENDING_POD), "team-sel", "db-data");
    assert!(verdict.covered_by.is_empty());
    assert_eq!(error_codes(&verdict), [GapCode::VolumeNotBackedUp]);
    assert!(
        verdict.gaps[0].message.contains("pod db-0 selects it"),
        "{}",
        verdict.gaps[0].message
    );
}

/// `TestBackupPVAction`, "Test pending status phase": a claim that is not bound brings no pods.
#[test]
fn unbound_claim_brings_no_pods() {
    let pending = CLAIM_BRINGS_PODS.replace("  phase: Bound", "  phase: Pending");
    let verdict = pvc_verdict(&index(&pending), "team-sel", "db-data");
    assert!(verdict.covered_by.is_empty(), "{verdict:?}");
}

/// `itemInclusionChecks`: a pod labelled out of backups is not brought in, and a claim the
/// resource filter leaves out is not brought in by a selected pod.
#[test]
fn pulled_in_items_still_pass_the_inclusion_checks() {
    let labelled_out = CLAIM_BRINGS_PODS.replace(
        "  name: db-0\n  namespace: team-sel\n",
        "  name: db-0\n  namespace: team-sel\n  labels: {velero.io/exclude-from-backup: 'true'}\n",
    );
    let verdict = pvc_verdict(&index(&labelled_out), "team-sel", "db-data");
    assert!(verdict.covered_by.is_empty(), "{verdict:?}");

    let pods_only = POD_BRINGS_CLAIMS.replace(
        "    defaultVolumesToFsBackup: true\n",
        "    defaultVolumesToFsBackup: true\n    excludedResources: [persistentvolumeclaims]\n",
    );
    let verdict = pvc_verdict(&index(&pods_only), "team-sel", "orders");
    assert_eq!(codes(&verdict), [GapCode::NoSchedule]);
}
