//! What the evidence caches keep of each record: exactly what [`policy::evidence`] reads, cut
//! as the object arrives (the typed structs already drop every field Backstop does not
//! declare; this drops the rest of the metadata and the spec the judge never looks at).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use policy::velero::keys::{BACKUP_NAME, PVC_NAME, SCHEDULE_NAME};
use policy::velero::{Backup, BackupSpec, DataUpload, PodVolumeBackup};

/// Name, namespace, creation time and only the labels and annotations named.
fn meta(meta: &mut ObjectMeta, labels: &[&str], annotations: &[&str]) {
    let keep = |map: Option<BTreeMap<String, String>>, keys: &[&str]| {
        map.map(|map| {
            map.into_iter()
                .filter(|(key, _)| keys.contains(&key.as_str()))
                .collect::<BTreeMap<_, _>>()
        })
        .filter(|map| !map.is_empty())
    };
    *meta = ObjectMeta {
        name: meta.name.take(),
        namespace: meta.namespace.take(),
        creation_timestamp: meta.creation_timestamp.take(),
        labels: keep(meta.labels.take(), labels),
        annotations: keep(meta.annotations.take(), annotations),
        ..ObjectMeta::default()
    };
}

/// A Backup: its schedule label, whether it moves snapshot data, and its status but the
/// expiration.
pub fn backup(backup: &mut Backup) {
    meta(&mut backup.metadata, &[SCHEDULE_NAME], &[]);
    backup.spec = BackupSpec {
        snapshot_move_data: backup.spec.snapshot_move_data,
        ..BackupSpec::default()
    };
    if let Some(status) = backup.status.as_mut() {
        status.expiration = None;
    }
}

/// A PodVolumeBackup: its backup label, its claim annotation, the pod and volume, and its
/// phase and message.
pub fn pod_volume_backup(volume: &mut PodVolumeBackup) {
    meta(&mut volume.metadata, &[BACKUP_NAME], &[PVC_NAME]);
    if let Some(status) = volume.status.as_mut() {
        status.start_timestamp = None;
        status.completion_timestamp = None;
    }
}

/// A DataUpload: its backup label, its claim, and its phase and message.
pub fn data_upload(upload: &mut DataUpload) {
    meta(&mut upload.metadata, &[BACKUP_NAME], &[]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_keeps_its_schedule_label_and_what_the_judge_reads() {
        let mut backup: Backup = serde_json::from_value(serde_json::json!({
            "apiVersion": "velero.io/v1", "kind": "Backup",
            "metadata": {
                "name": "daily-1", "namespace": "velero", "uid": "u", "resourceVersion": "9",
                "creationTimestamp": "2026-12-03T02:00:05Z",
                "labels": {"velero.io/schedule-name": "daily", "velero.io/storage-location": "default"},
                "annotations": {"velero.io/resource-timeout": "10m0s"},
                "managedFields": [{"manager": "velero-server"}]
            },
            "spec": {"includedNamespaces": ["shop"], "snapshotMoveData": true, "ttl": "720h0m0s"},
            "status": {"phase": "Completed", "expiration": "2027-01-02T02:00:05Z", "warnings": 1}
        }))
        .unwrap();
        self::backup(&mut backup);
        let kept = serde_json::to_value(&backup).unwrap();
        assert_eq!(
            kept,
            serde_json::json!({
                "apiVersion": "velero.io/v1", "kind": "Backup",
                "metadata": {
                    "name": "daily-1", "namespace": "velero",
                    "creationTimestamp": "2026-12-03T02:00:05Z",
                    "labels": {"velero.io/schedule-name": "daily"}
                },
                "spec": {"snapshotMoveData": true},
                "status": {"phase": "Completed", "warnings": 1}
            })
        );
    }
}
