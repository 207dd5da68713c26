//! The files and manifests a run writes or applies. Every interpolated value is
//! validated scenario data or quoted as a YAML (JSON-compatible) string.

use policy::duration::format_go_duration;

use crate::kube::namespace::RUN_LABEL;
use crate::scenario::Scenario;

/// kind cluster config: one control plane and the scenario's workers.
pub fn kind_config(scenario: &Scenario) -> String {
    let mut out = String::from(
        "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n  - role: control-plane\n",
    );
    for _ in 0..scenario.cluster.workers {
        out.push_str("  - role: worker\n");
    }
    out
}

/// The Velero Schedule that backs up the workload namespace with file-system backup,
/// labelled for the run `run_id`.
pub fn schedule(name: &str, namespace: &str, scenario: &Scenario, run_id: &str) -> String {
    format!(
        "apiVersion: velero.io/v1
kind: Schedule
metadata:
  name: {name}
  namespace: velero
  labels:
    {RUN_LABEL}: {run_id}
spec:
  schedule: {schedule}
  useOwnerReferencesInBackup: false
  template:
    includedNamespaces: [{namespace}]
    defaultVolumesToFsBackup: true
    snapshotVolumes: false
    storageLocation: {location}
    ttl: {ttl}
",
        schedule = quote(&scenario.backup.schedule),
        location = quote(scenario.velero.backup_storage_location()),
        ttl = format_go_duration(scenario.backup.ttl.0),
    )
}

/// The Restore of the workload namespace from `backup`, labelled for the run `run_id`.
pub fn restore(name: &str, namespace: &str, backup: &str, run_id: &str) -> String {
    format!(
        "apiVersion: velero.io/v1
kind: Restore
metadata:
  name: {name}
  namespace: velero
  labels:
    {RUN_LABEL}: {run_id}
spec:
  backupName: {backup}
  includedNamespaces: [{namespace}]
  restorePVs: true
  existingResourcePolicy: none
"
    )
}

/// The Restore of every namespace `backup` holds (after cluster loss: no
/// `includedNamespaces`, so Velero restores all of them), labelled for the run `run_id`.
pub fn restore_everything(name: &str, backup: &str, run_id: &str) -> String {
    format!(
        "apiVersion: velero.io/v1
kind: Restore
metadata:
  name: {name}
  namespace: velero
  labels:
    {RUN_LABEL}: {run_id}
spec:
  backupName: {backup}
  restorePVs: true
  existingResourcePolicy: none
"
    )
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn quote(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cron_with_special_characters_is_quoted() {
        assert_eq!(quote("*/5 * * * *"), "\"*/5 * * * *\"");
    }
}
