//! Velero `velero.io/v1` custom resources (and the data mover's `velero.io/v2alpha1`
//! DataUpload), with the fields Backstop reads.
//!
//! Unknown fields are tolerated (serde ignores them), so newer Velero versions still decode.
//! Schemas follow the upstream CRDs in `config/crd/v1/bases` and `config/crd/v2alpha1/bases`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::SecretKeySelector;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
use kube::CustomResource;
use serde::{Deserialize, Serialize};

/// `spec` of a Backup, and `spec.template` of a Schedule.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "velero.io",
    version = "v1",
    kind = "Backup",
    namespaced,
    status = "BackupStatus",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct BackupSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_namespaces: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_namespaces: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_resources: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_resources: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_cluster_scoped_resources: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_cluster_scoped_resources: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_namespace_scoped_resources: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_namespace_scoped_resources: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_cluster_resources: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub or_label_selectors: Option<Vec<LabelSelector>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_volumes: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_volumes_to_fs_backup: Option<bool>,
    /// Deprecated spelling of `defaultVolumesToFsBackup`; `true` still counts
    /// (`prepareBackupRequest` remaps it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_volumes_to_restic: Option<bool>,
    /// The ConfigMap of volume policies the backup follows (`kind: configmap`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_policy: Option<ResourcePolicyReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_move_data: Option<bool>,
    /// Go duration (`720h0m0s`); absent or zero means the server default, 720h.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_snapshot_locations: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csi_snapshot_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_operation_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordered_resources: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BackupMetadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<BackupHooks>,
}

/// `spec.hooks`: commands Velero runs in the containers of the pods it backs up.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
pub struct BackupHooks {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<BackupResourceHookSpec>>,
}

/// One entry of `spec.hooks.resources`: the pods it applies to (namespaces, resources, label
/// selector) and its `pre` and `post` hooks.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BackupResourceHookSpec {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_namespaces: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_namespaces: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_resources: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_resources: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre: Option<Vec<BackupResourceHook>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post: Option<Vec<BackupResourceHook>>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
pub struct BackupResourceHook {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecHook>,
}

/// A command run in a container of the pod (the first container when none is named).
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExecHook {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
pub struct BackupMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Read by Velero after 1.18 only (`FromSchedule`); not in the released CRDs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// `spec.resourcePolicy` (a `TypedLocalObjectReference`): Velero reads it only when `kind` is
/// `configmap` (any case), from the backup's namespace.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResourcePolicyReference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_group: Option<String>,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
}

/// A Velero Schedule: a cron expression and the Backup it stamps out.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "velero.io",
    version = "v1",
    kind = "Schedule",
    namespaced,
    status = "ScheduleStatus",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleSpec {
    #[serde(default)]
    pub schedule: String,
    #[serde(default)]
    pub template: BackupSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_owner_references_in_backup: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_immediately: Option<bool>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleStatus {
    /// `New`, `Enabled` or `FailedValidation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_backup: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_skipped: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_errors: Option<Vec<String>>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BackupStatus {
    /// `New`, `FailedValidation`, `InProgress`, `WaitingForPluginOperations`, `Finalizing`,
    /// `Completed`, `PartiallyFailed`, `Failed`, `Deleting`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_timestamp: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_timestamp: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_errors: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_snapshots_attempted: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_snapshots_completed: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csi_volume_snapshots_attempted: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csi_volume_snapshots_completed: Option<u32>,
    /// Asynchronous plugin operations (one per DataUpload of the data mover, among others).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_item_operations_attempted: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_item_operations_completed: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_item_operations_failed: Option<u32>,
}

/// A PodVolumeBackup: one pod volume that a Backup copies by file-system backup
/// (`pkg/podvolume/backupper.go`, `newPodVolumeBackup`). Labelled with its backup's name
/// ([`keys::BACKUP_NAME`]) and, for a claim's volume, annotated with the claim's name
/// ([`keys::PVC_NAME`]). A volume Velero skips has none.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "velero.io",
    version = "v1",
    kind = "PodVolumeBackup",
    namespaced,
    status = "PodVolumeBackupStatus",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct PodVolumeBackupSpec {
    #[serde(default)]
    pub pod: PodReference,
    /// The pod volume's name (not the claim's).
    #[serde(default)]
    pub volume: String,
}

/// `spec.pod` of a PodVolumeBackup (an ObjectReference; only these fields are read).
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
pub struct PodReference {
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PodVolumeBackupStatus {
    /// `New`, `Accepted`, `Prepared`, `InProgress`, `Canceling`, `Canceled`, `Completed`,
    /// `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_timestamp: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_timestamp: Option<Time>,
}

/// A DataUpload (`velero.io/v2alpha1`): the data mover's copy of one claim's CSI snapshot, made
/// when a backup has `snapshotMoveData` (`pkg/backup/actions/csi/pvc_action.go`,
/// `newDataUpload`). Created in the backup's namespace, labelled with its backup's name
/// ([`keys::BACKUP_NAME`]); it stays until the backup is deleted.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "velero.io",
    version = "v2alpha1",
    kind = "DataUpload",
    namespaced,
    status = "DataUploadStatus",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct DataUploadSpec {
    /// The claim whose snapshot is moved, and its namespace.
    #[serde(default, rename = "sourcePVC")]
    pub source_pvc: String,
    #[serde(default)]
    pub source_namespace: String,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DataUploadStatus {
    /// `New`, `Accepted`, `Prepared`, `InProgress`, `Canceling`, `Canceled`, `Completed`,
    /// `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A Velero Restore.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "velero.io",
    version = "v1",
    kind = "Restore",
    namespaced,
    status = "RestoreStatus",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct RestoreSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_namespaces: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_namespaces: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_resources: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_resources: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_mapping: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub or_label_selectors: Option<Vec<LabelSelector>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_p_vs: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve_node_ports: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_cluster_resources: Option<bool>,
    /// `none` (default: skip objects that already exist) or `update`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_resource_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_operation_timeout: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RestoreStatus {
    /// `New`, `FailedValidation`, `InProgress`, `WaitingForPluginOperations`, `Finalizing`,
    /// `Completed`, `PartiallyFailed`, `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_timestamp: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_timestamp: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_errors: Option<Vec<String>>,
}

/// Where Velero stores backups (an S3 bucket for MinIO).
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "velero.io",
    version = "v1",
    kind = "BackupStorageLocation",
    namespaced,
    status = "BackupStorageLocationStatus",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct BackupStorageLocationSpec {
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub object_storage: ObjectStorageLocation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<SecretKeySelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<bool>,
    /// `ReadWrite` or `ReadOnly`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_sync_period: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_frequency: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ObjectStorageLocation {
    #[serde(default)]
    pub bucket: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BackupStorageLocationStatus {
    /// `Available` or `Unavailable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_synced_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_validation_time: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A VolumeSnapshotLocation: its presence in the Velero namespace gives PVCs a native snapshot path.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "velero.io",
    version = "v1",
    kind = "VolumeSnapshotLocation",
    namespaced,
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSnapshotLocationSpec {
    #[serde(default)]
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<BTreeMap<String, String>>,
}

/// Label and annotation keys Velero itself defines.
pub mod keys {
    /// On any object: `true` keeps it out of every backup.
    pub const EXCLUDE_FROM_BACKUP: &str = "velero.io/exclude-from-backup";
    /// On a pod: comma-separated *volume* names to back up with file-system backup (opt-in).
    pub const BACKUP_VOLUMES: &str = "backup.velero.io/backup-volumes";
    /// On a pod: comma-separated volume names to skip when fs-backup is the default (opt-out).
    pub const BACKUP_VOLUMES_EXCLUDES: &str = "backup.velero.io/backup-volumes-excludes";
    /// On a VolumeSnapshotClass (its presence, any value): Velero uses it for CSI snapshots of
    /// its driver. On a PVC: the name of the class to use for it. On a Backup, as
    /// `velero.io/csi-volumesnapshot-class_<driver>`: the class to use for that driver.
    pub const CSI_SNAPSHOT_CLASS: &str = "velero.io/csi-volumesnapshot-class";
    /// On a VolumeSnapshotClass (its presence): the Kubernetes default class of its driver.
    pub const DEFAULT_SNAPSHOT_CLASS: &str = "snapshot.storage.kubernetes.io/is-default-class";
    /// On a Backup: the Schedule that created it.
    pub const SCHEDULE_NAME: &str = "velero.io/schedule-name";
    /// On a PodVolumeBackup (and CSI objects): the Backup it belongs to.
    pub const BACKUP_NAME: &str = "velero.io/backup-name";
    /// On a PodVolumeBackup of a claim's volume: the claim's name.
    pub const PVC_NAME: &str = "velero.io/pvc-name";
    /// On a pod: the command of its pre-backup hook, which wins over the backup spec's hooks
    /// (`internal/hook/item_hook_handler.go`, `getPodExecHookFromAnnotations`).
    pub const PRE_BACKUP_HOOK_COMMAND: &str = "pre.hook.backup.velero.io/command";
    /// The same without a phase: Velero still reads it as the pre hook.
    pub const LEGACY_BACKUP_HOOK_COMMAND: &str = "hook.backup.velero.io/command";
    /// On a pod: the container its pre-backup hook runs in (the first container by default).
    pub const PRE_BACKUP_HOOK_CONTAINER: &str = "pre.hook.backup.velero.io/container";
}
