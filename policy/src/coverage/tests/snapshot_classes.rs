//! Which VolumeSnapshotClass Velero uses for a claim's CSI snapshot (issue 19, rule 4):
//! `pkg/util/csi/volume_snapshot.go`, `GetVolumeSnapshotClass`, with cases after
//! `volume_snapshot_test.go`, `TestGetVolumeSnapshotClass`. The choice itself is unit-tested in
//! `coverage/snapshot_class.rs`; these judge whole claims. Fixtures in
//! `fixtures/velero-snapshot-classes/`.

use super::*;

const TWO_UNLABELLED: &str =
    include_str!("../../../../fixtures/velero-snapshot-classes/two-unlabelled-classes.yaml");
const KUBERNETES_DEFAULT: &str =
    include_str!("../../../../fixtures/velero-snapshot-classes/kubernetes-default-class.yaml");
const CLAIM_NAMES_CLASS: &str =
    include_str!("../../../../fixtures/velero-snapshot-classes/claim-names-its-class.yaml");
const SCHEDULE_NAMES_CLASS: &str = include_str!(
    "../../../../fixtures/velero-snapshot-classes/schedule-names-the-class-per-driver.yaml"
);
const LABEL_ANY_VALUE: &str =
    include_str!("../../../../fixtures/velero-snapshot-classes/label-with-any-value.yaml");

fn data(index: &CoverageIndex) -> Verdict {
    pvc_verdict(index, "team-snap", "data")
}

/// `GetVolumeSnapshotClassForStorageClass`: with two classes of the driver and neither labelled
/// (nor, from 1.17, default), Velero finds none; the CSI action fails and there is no snapshot.
#[test]
fn two_unlabelled_classes_leave_the_claim_without_a_snapshot() {
    let verdict = data(&index(TWO_UNLABELLED));
    assert_eq!(error_codes(&verdict), [GapCode::VolumeNotBackedUp]);
    let message = &verdict.gaps[0].message;
    assert!(
        message.contains("2 VolumeSnapshotClasses exist for its CSI driver ebs.csi.aws.com and none carries the velero.io/csi-volumesnapshot-class label")
            && message.contains("label the one to use"),
        "{message}"
    );
}

/// From 1.17 the Kubernetes default class of the driver is chosen (rule 8: per version).
#[test]
fn kubernetes_default_class_is_the_fallback_from_1_17() {
    assert_eq!(
        data(&index_for_version("1.17", KUBERNETES_DEFAULT)).covered_by,
        ["daily"]
    );
    let old = data(&index_for_version("1.16", KUBERNETES_DEFAULT));
    assert_eq!(error_codes(&old), [GapCode::VolumeNotBackedUp]);
    assert!(
        old.gaps[0].message.contains(
            "Velero v1.16 does not fall back to the Kubernetes default class; v1.17 does"
        ),
        "{}",
        old.gaps[0].message
    );
}

/// `GetVolumeSnapshotClassFromPVCAnnotationsForDriver`: the claim's annotation names the class.
#[test]
fn claim_annotation_names_the_class() {
    assert_eq!(data(&index(CLAIM_NAMES_CLASS)).covered_by, ["daily"]);
}

/// A claim annotation that names no class of the driver is passed over, and said so.
#[test]
fn claim_annotation_naming_no_class_of_the_driver_is_passed_over() {
    let wrong = CLAIM_NAMES_CLASS.replace(
        "velero.io/csi-volumesnapshot-class: ebs-gold",
        "velero.io/csi-volumesnapshot-class: ebs-platinum",
    );
    let verdict = data(&index(&wrong));
    assert_eq!(error_codes(&verdict), [GapCode::VolumeNotBackedUp]);
    assert!(
        verdict.gaps[0]
            .message
            .contains("the name \"ebs-platinum\" given for it matches no class of that driver"),
        "{}",
        verdict.gaps[0].message
    );
}

/// `GetVolumeSnapshotClassFromBackupAnnotationsForDriver`: a scheduled Backup carries the
/// Schedule's annotations (`pkg/builder/backup_builder.go`, `FromSchedule`).
#[test]
fn schedule_annotation_names_the_class_per_driver() {
    assert_eq!(data(&index(SCHEDULE_NAMES_CLASS)).covered_by, ["daily"]);
}

/// After 1.18 a Backup takes `spec.template.metadata.annotations` when the template sets them,
/// instead of the Schedule's own.
#[test]
fn template_annotations_replace_the_schedule_annotations_after_1_18() {
    let template = SCHEDULE_NAMES_CLASS.replace(
        "    includedNamespaces: [team-snap]\n",
        "    includedNamespaces: [team-snap]\n    metadata:\n      annotations: {team: storage}\n",
    );
    assert_eq!(
        data(&index_for_version("1.18", &template)).covered_by,
        ["daily"]
    );
    let next = data(&index_with_velero(
        &format!("version: '{}'", crate::versions::VeleroVersion::UNRELEASED),
        &template,
    ));
    assert_eq!(error_codes(&next), [GapCode::VolumeNotBackedUp], "{next:?}");
}

/// `GetVolumeSnapshotClassForStorageClass`: `_, hasLabelSelector := sc.Labels[...]`: the label
/// counts by its presence, whatever its value.
#[test]
fn velero_label_counts_whatever_its_value() {
    assert_eq!(data(&index(LABEL_ANY_VALUE)).covered_by, ["daily"]);
}
