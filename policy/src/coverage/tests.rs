//! Named tests for the Velero coverage rules (`docs/architecture.md`, "The coverage rules"), one
//! module per rule family; the fixture builders they share are here.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::verdict::{GapCode, Severity};

mod admission;
mod detail;
mod fs_backup;
mod fs_backup_skips;
mod label_pull_in;
mod labels;
mod namespaces;
mod resources;
mod retention;
mod rpo;
mod schedule_edits;
mod schedule_state;
mod server;
mod snapshot_classes;
mod snapshots;
mod tiers;
mod validation;
mod volume_policies;

const POLICY: &str = include_str!("../../../fixtures/policy/rules-daily-meets-standard.yaml");

const H: u64 = 3600;

/// The Velero server the rule tests judge against unless a test says otherwise: the newest
/// release, with `--features=EnableCSI` (CSI snapshots on, as in most CSI installs).
const TEST_SERVER: &str = "features: [EnableCSI]";

fn index(manifests: &str) -> CoverageIndex {
    index_with_velero("", manifests)
}

/// [`index`] with more fields in the policy's `velero:` section (`version: '1.16'`).
fn index_with_velero(fields: &str, manifests: &str) -> CoverageIndex {
    let separator = if fields.is_empty() { "" } else { ", " };
    index_with_policy(
        &format!("{POLICY}\nvelero: {{{TEST_SERVER}{separator}{fields}}}\n"),
        manifests,
    )
}

/// [`index`] with the policy's `velero:` section exactly `velero` (`{}`: Velero's defaults).
fn index_with_server(velero: &str, manifests: &str) -> CoverageIndex {
    index_with_policy(&format!("{POLICY}\nvelero: {velero}\n"), manifests)
}

fn index_for_version(version: &str, manifests: &str) -> CoverageIndex {
    index_with_velero(&format!("version: '{version}'"), manifests)
}

fn index_with_policy(policy: &str, manifests: &str) -> CoverageIndex {
    let policy = Arc::new(Policy::from_yaml(policy, "policy.yaml").unwrap());
    let mut inventory = Inventory::default();
    inventory.add_yaml(manifests, "test.yaml").unwrap();
    CoverageIndex::build(policy, inventory)
}

fn schedule(name: &str, cron: &str, template: &str) -> String {
    format!(
        "---\napiVersion: velero.io/v1\nkind: Schedule\nmetadata: {{name: {name}, namespace: velero}}\nspec:\n  schedule: '{cron}'\n  template: {template}\n"
    )
}

fn namespace(name: &str, labels: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {{{labels}}}}}\n"
    )
}

fn pvc(namespace: &str, name: &str, extra_metadata: &str, storage_class: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: {name}, namespace: {namespace}{extra_metadata}}}\nspec: {{storageClassName: {storage_class}}}\n"
    )
}

fn pod(
    namespace: &str,
    name: &str,
    volume: &str,
    claim: &str,
    extra_metadata: &str,
    phase: &str,
) -> String {
    format!(
        "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {namespace}{extra_metadata}}}\nspec:\n  containers: [{{name: app, volumeMounts: [{{name: {volume}, mountPath: /data}}]}}]\n  volumes: [{{name: {volume}, persistentVolumeClaim: {{claimName: {claim}}}}}]\nstatus: {{phase: {phase}}}\n"
    )
}

const CSI_STORAGE: &str = "
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast}
provisioner: ebs.csi.aws.com
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local}
provisioner: rancher.io/local-path
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata: {name: ebs, labels: {velero.io/csi-volumesnapshot-class: 'true'}}
driver: ebs.csi.aws.com
deletionPolicy: Retain
";

fn namespace_verdict(index: &CoverageIndex, name: &str) -> Verdict {
    index.evaluate_namespace(index.namespace(name).unwrap())
}

fn pvc_verdict(index: &CoverageIndex, namespace: &str, name: &str) -> Verdict {
    index
        .evaluate_all()
        .into_iter()
        .find(|verdict| {
            verdict.kind == ObjectKind::PersistentVolumeClaim
                && verdict.namespace == namespace
                && verdict.name == name
        })
        .unwrap()
}

fn codes(verdict: &Verdict) -> Vec<GapCode> {
    verdict.gaps.iter().map(|gap| gap.code).collect()
}

fn error_codes(verdict: &Verdict) -> Vec<GapCode> {
    verdict.errors().map(|gap| gap.code).collect()
}

fn fs_default(extra: &str) -> String {
    format!("{{defaultVolumesToFsBackup: true{extra}}}")
}
