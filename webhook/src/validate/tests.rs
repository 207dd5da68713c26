//! What the validation tests share: a small cluster, its index, and reviews as the apiserver
//! sends them.

use std::sync::Arc;

use policy::Inventory;
use serde_json::{Value, json};

use policy::{CoverageIndex, Policy};

use super::decide;
use crate::review::{self, Decision};

const POLICY: &str = include_str!("../../../fixtures/policy/rules-daily-meets-standard.yaml");

/// Every ten minutes for data-platform (7 days kept), daily for registry (30 days), and a
/// CSI snapshot path for the `fast` storage class. `team-a` is in no schedule.
const CLUSTER: &str = "
apiVersion: velero.io/v1
kind: Schedule
metadata: {name: ten-minutes, namespace: velero}
spec:
  schedule: '*/10 * * * *'
  template: {includedNamespaces: [data-platform], ttl: 168h0m0s}
---
apiVersion: velero.io/v1
kind: Schedule
metadata: {name: daily, namespace: velero}
spec:
  schedule: '0 2 * * *'
  template: {includedNamespaces: [registry], ttl: 720h0m0s}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast}
provisioner: csi.example.com
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata: {name: fast-snapshots, labels: {velero.io/csi-volumesnapshot-class: 'true'}}
driver: csi.example.com
---
apiVersion: v1
kind: Namespace
metadata: {name: data-platform}
---
apiVersion: v1
kind: Namespace
metadata: {name: registry}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-a}
";

/// The test cluster's Velero runs with `--features=EnableCSI`, so its labelled
/// VolumeSnapshotClass gives CSI claims a snapshot.
pub(crate) fn index() -> CoverageIndex {
    let policy = Policy::from_yaml(
        &format!("{POLICY}\nvelero: {{features: [EnableCSI]}}\n"),
        "policy.yaml",
    )
    .unwrap();
    let mut inventory = Inventory::default();
    inventory.add_yaml(CLUSTER, "cluster.yaml").unwrap();
    CoverageIndex::build(Arc::new(policy), inventory)
}

/// An AdmissionReview body as the apiserver would send it.
pub(crate) fn body(
    kind: (&str, &str),
    operation: &str,
    namespace: &str,
    name: &str,
    object: Value,
    old_object: Value,
) -> String {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "u-1",
            "kind": {"group": kind.0, "version": "v1", "kind": kind.1},
            "resource": {"group": kind.0, "version": "v1", "resource": "x"},
            "name": name,
            "namespace": namespace,
            "operation": operation,
            "userInfo": {"username": "admin"},
            "object": object,
            "oldObject": old_object,
            "dryRun": false,
        }
    })
    .to_string()
}

pub(crate) fn namespace_object(name: &str, labels: Value, annotations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace",
           "metadata": {"name": name, "labels": labels, "annotations": annotations}})
}

pub(crate) fn pvc_object(namespace: &str, name: &str, storage_class: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
           "metadata": {"name": name, "namespace": namespace},
           "spec": {"storageClassName": storage_class}})
}

pub(crate) fn schedule_object(name: &str, cron: &str, template: Value) -> Value {
    json!({"apiVersion": "velero.io/v1", "kind": "Schedule",
           "metadata": {"name": name, "namespace": "velero"},
           "spec": {"schedule": cron, "template": template}})
}

/// `/validate`'s answer to `body` over [`index`].
pub(crate) fn validate(body: &str) -> Decision {
    let review = review::decode(body.as_bytes()).unwrap();
    decide(&index(), &review.request)
}

pub(crate) const NAMESPACE: (&str, &str) = ("", "Namespace");
pub(crate) const PVC: (&str, &str) = ("", "PersistentVolumeClaim");
pub(crate) const SCHEDULE: (&str, &str) = ("velero.io", "Schedule");
