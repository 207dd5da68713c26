//! The files and manifests a run writes or applies. Every interpolated value is
//! validated scenario data or quoted as a YAML (JSON-compatible) string.

use policy::duration::format_go_duration;

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

/// Velero's credentials file for the MinIO bucket.
pub fn velero_credentials(user: &str, password: &str) -> String {
    format!("[default]\naws_access_key_id = {user}\naws_secret_access_key = {password}\n")
}

/// The Velero Schedule that backs up the workload namespace with file-system backup.
pub fn schedule(name: &str, namespace: &str, scenario: &Scenario) -> String {
    format!(
        "apiVersion: velero.io/v1
kind: Schedule
metadata:
  name: {name}
  namespace: velero
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

/// The Restore of the workload namespace from `backup`.
pub fn restore(name: &str, namespace: &str, backup: &str) -> String {
    format!(
        "apiVersion: velero.io/v1
kind: Restore
metadata:
  name: {name}
  namespace: velero
spec:
  backupName: {backup}
  includedNamespaces: [{namespace}]
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
