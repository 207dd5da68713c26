//! The Velero server's flags (issue 19, rule 5): CSI snapshots need `--features=EnableCSI`
//! (`pkg/util/csi/util.go`, `ShouldSkipAction`), with which a VolumeSnapshotLocation never
//! snapshots a CSI volume (`pkg/backup/item_backupper.go`, `takePVSnapshot`); a template without
//! `defaultVolumesToFsBackup` takes `--default-volumes-to-fs-backup`
//! (`pkg/controller/backup_controller.go`, `prepareBackupRequest`). In a cluster the flags come
//! from the Velero Deployment (`policy/src/server/deployment.rs`). Fixtures in
//! `fixtures/velero-server/`.

use super::*;
use crate::objects::VeleroDeploymentFacts;

const CSI_WITH_CLASS: &str =
    include_str!("../../../../fixtures/velero-server/csi-claim-with-labelled-class.yaml");
const CSI_WITH_LOCATION: &str =
    include_str!("../../../../fixtures/velero-server/csi-claim-with-snapshot-location.yaml");
const NO_FS_DEFAULT: &str =
    include_str!("../../../../fixtures/velero-server/template-without-fs-backup-default.yaml");
const DEPLOYMENT: &str = include_str!("../../../../fixtures/velero-server/velero-deployment.yaml");

fn data(index: &CoverageIndex) -> Verdict {
    pvc_verdict(index, "team-srv", "data")
}

/// Without `EnableCSI` the CSI action is skipped: no CSI snapshot, and the message says why.
#[test]
fn csi_snapshot_needs_the_enable_csi_feature() {
    assert_eq!(data(&index(CSI_WITH_CLASS)).covered_by, ["daily"]);
    let off = data(&index_with_policy(POLICY, CSI_WITH_CLASS));
    assert_eq!(error_codes(&off), [GapCode::VolumeNotBackedUp]);
    let message = &off.gaps[0].message;
    assert!(
        message.contains("VolumeSnapshotClass ebs would serve its CSI driver ebs.csi.aws.com, but the Velero server runs without --features=EnableCSI")
            && message.contains("Velero's defaults (the policy has no velero: section)"),
        "{message}"
    );
    let stated = data(&index_with_server(
        "{features: [EnableAPIGroupVersions]}",
        CSI_WITH_CLASS,
    ));
    assert!(
        stated.gaps[0]
            .message
            .contains("per the policy's velero: section"),
        "{}",
        stated.gaps[0].message
    );
}

/// With `EnableCSI` a VolumeSnapshotLocation leaves CSI volumes to the CSI plugin; without it,
/// it snapshots them.
#[test]
fn snapshot_location_never_snapshots_a_csi_volume_with_enable_csi() {
    let on = data(&index(CSI_WITH_LOCATION));
    assert_eq!(error_codes(&on), [GapCode::VolumeNotBackedUp]);
    assert!(
        on.gaps[0].message.contains(
            "a VolumeSnapshotLocation does not snapshot CSI volumes while EnableCSI is on"
        ),
        "{}",
        on.gaps[0].message
    );
    assert_eq!(
        data(&index_with_server("{}", CSI_WITH_LOCATION)).covered_by,
        ["daily"]
    );
}

/// `prepareBackupRequest`: `DefaultVolumesToFsBackup == nil` takes the server's default; a
/// template's own value, and the deprecated `defaultVolumesToRestic: true`, win.
#[test]
fn template_without_the_field_takes_the_server_default() {
    let with_default = index_with_velero("defaultVolumesToFsBackup: true", NO_FS_DEFAULT);
    assert_eq!(data(&with_default).covered_by, ["daily"]);
    let without = data(&index(NO_FS_DEFAULT));
    assert_eq!(error_codes(&without), [GapCode::VolumeNotBackedUp]);
    let opted_out = NO_FS_DEFAULT.replace(
        "    ttl: 720h0m0s\n",
        "    ttl: 720h0m0s\n    defaultVolumesToFsBackup: false\n",
    );
    assert_eq!(
        error_codes(&data(&index_with_velero(
            "defaultVolumesToFsBackup: true",
            &opted_out
        ))),
        [GapCode::VolumeNotBackedUp]
    );
    let restic = NO_FS_DEFAULT.replace(
        "    ttl: 720h0m0s\n",
        "    ttl: 720h0m0s\n    defaultVolumesToRestic: true\n",
    );
    assert_eq!(data(&index(&restic)).covered_by, ["daily"]);
}

/// `--default-backup-ttl`: a template without a ttl keeps backups as long as the server says.
#[test]
fn template_without_ttl_takes_the_server_default_ttl() {
    let without_ttl = CSI_WITH_CLASS.replace("    ttl: 720h0m0s\n", "");
    let verdict = data(&index_with_velero("defaultBackupTTL: 168h", &without_ttl));
    assert_eq!(error_codes(&verdict), [GapCode::RetentionBelowMinimum]);
    assert_eq!(data(&index(&without_ttl)).covered_by, ["daily"]);
}

/// In a cluster the Deployment decides: `velero install --features=EnableCSI
/// --default-volumes-to-fs-backup` on v1.16.2, whatever the policy's section says.
#[test]
fn the_velero_deployment_decides_in_a_cluster() {
    let deployment: VeleroDeploymentFacts = crate::yaml::decode(
        crate::yaml::documents(DEPLOYMENT, "velero-deployment.yaml")
            .unwrap()
            .remove(0),
        "velero-deployment.yaml",
    )
    .unwrap();
    let build = |manifests: &str| {
        let policy = Arc::new(
            Policy::from_yaml(
                &format!("{POLICY}\nvelero: {{version: '1.18'}}\n"),
                "policy.yaml",
            )
            .unwrap(),
        );
        let mut inventory = Inventory::default();
        inventory.add_yaml(manifests, "test.yaml").unwrap();
        inventory.velero_deployment = Some(deployment.clone());
        CoverageIndex::build(policy, inventory)
    };
    let index = build(NO_FS_DEFAULT);
    let view = index.server_view();
    assert_eq!(view.version(), crate::versions::VeleroVersion::new(1, 16));
    assert!(view.server.csi_enabled());
    assert!(view.notes.is_empty(), "{:?}", view.notes);
    assert_eq!(
        data(&index).covered_by,
        ["daily"],
        "server default file-system backup"
    );
    assert_eq!(
        data(&build(CSI_WITH_CLASS)).covered_by,
        ["daily"],
        "EnableCSI"
    );
}
