//! The excluded-volume diagnosis: a claim a running pod mounts but opts out of file-system
//! backup with `backup.velero.io/backup-volumes-excludes` is reported as what it is,
//! `volume-not-backed-up` naming the pod and the annotation, not as an unmounted claim
//! (`policy/src/coverage/rules.rs`, `why_not_chosen`; Velero's
//! `internal/volumehelper/volume_policy_helper.go`, `shouldPerformFSBackupLegacy`).

use crate::*;

fn assert_excluded_by(claim: &serde_json::Value, pod: &str) {
    assert_eq!(gap_codes(claim), ["volume-not-backed-up"], "{claim:#}");
    let message = claim["gaps"][0]["message"].as_str().unwrap();
    for expected in [
        &format!("pod {pod} mounts it"),
        "backup.velero.io/backup-volumes-excludes",
        "remove",
    ] {
        assert!(message.contains(expected), "{expected:?} in {message}");
    }
    assert!(
        !message.contains("no running pod"),
        "it is mounted, not unmounted: {message}"
    );
}

#[test]
fn a_mounted_claim_whose_pod_excludes_its_volume_is_not_reported_as_unmounted() {
    let (output, report) = report(&["--manifests", "fixtures/velero-skips/excluded-volume.yaml"]);
    assert_eq!(output.status.code(), Some(1));
    let claim = object(&report, "PersistentVolumeClaim", "team-skips", "data");
    assert_excluded_by(claim, "app-0");
}

#[test]
fn a_deployment_template_excluding_its_volume_gets_the_same_diagnosis() {
    let (output, report) = report(&[
        "--manifests",
        &fixture("deployment-excluding-its-volume.yaml"),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let claim = object(&report, "PersistentVolumeClaim", "team-apps", "cache");
    assert_excluded_by(claim, "deployment/web");
}
