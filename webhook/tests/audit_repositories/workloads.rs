//! Workload controllers count as the pods they will run, with their templates' claims.

use crate::*;

#[test]
fn statefulset_with_claim_templates_and_three_replicas_has_three_covered_claims() {
    let (output, report) = report(&[
        "--manifests",
        &fixture("statefulset-with-claim-templates-3-replicas.yaml"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        claims(&report),
        ["data-web-store-0", "data-web-store-1", "data-web-store-2"]
    );
    for ordinal in 0..3 {
        let claim = object(
            &report,
            "PersistentVolumeClaim",
            "team-apps",
            &format!("data-web-store-{ordinal}"),
        );
        assert_eq!(claim["coveredBy"][0], "daily-fs", "{claim:#}");
        assert!(gap_codes(claim).is_empty(), "{claim:#}");
        let source = &claim["source"];
        assert_eq!(
            source["file"],
            "fixtures/workload-controllers/statefulset-with-claim-templates-3-replicas.yaml"
        );
        assert_eq!(source["document"], 4);
        assert_eq!(source["line"], 27, "the StatefulSet's first line");
        assert_eq!(source["predictedFrom"]["kind"], "StatefulSet");
        assert_eq!(source["predictedFrom"]["name"], "web-store");
        assert_eq!(
            source["predictedFrom"]["path"],
            "spec.volumeClaimTemplates[0]"
        );
    }
}

#[test]
fn deployment_scaled_to_zero_leaves_its_claim_unmounted() {
    let (output, report) = report(&["--manifests", &fixture("deployment-scaled-to-zero.yaml")]);
    assert_eq!(output.status.code(), Some(1));
    let claim = object(&report, "PersistentVolumeClaim", "team-apps", "uploads");
    assert_eq!(gap_codes(claim), ["unmounted-fs-backup-only"]);
}

#[test]
fn the_same_deployment_with_a_replica_backs_its_claim_up() {
    let scaled = std::fs::read_to_string(repo().join(fixture("deployment-scaled-to-zero.yaml")))
        .unwrap()
        .replace("replicas: 0", "replicas: 1");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scaled-up.yaml");
    std::fs::write(&file, scaled).unwrap();
    let (output, report) = report(&["--manifests", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let claim = object(&report, "PersistentVolumeClaim", "team-apps", "uploads");
    assert_eq!(claim["coveredBy"][0], "daily-fs");
}

#[test]
fn suspended_cronjob_leaves_its_claim_unmounted() {
    let (output, report) = report(&["--manifests", &fixture("suspended-cronjob.yaml")]);
    assert_eq!(output.status.code(), Some(1));
    let claim = object(&report, "PersistentVolumeClaim", "team-apps", "reports");
    assert_eq!(gap_codes(claim), ["unmounted-fs-backup-only"]);
}
