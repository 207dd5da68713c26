//! The Velero server coverage is judged against: its release and the flags that change what a
//! backup does. Offline it comes from the policy's `velero:` section; in a cluster from the
//! Velero Deployment's image and arguments ([`deployment`]), the policy's section filling in what
//! the Deployment does not say.

pub mod deployment;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::versions::VeleroVersion;

/// Velero's own default for `--default-backup-storage-location`.
pub const DEFAULT_BACKUP_STORAGE_LOCATION: &str = "default";
/// Velero's own default for `--default-backup-ttl` (30 days).
pub const DEFAULT_BACKUP_TTL: Duration = Duration::from_secs(720 * 3600);
/// [`VeleroServer::origin`] of a server the policy's `velero:` section describes.
pub const POLICY_SECTION: &str = "the policy's velero: section";
/// The `--features` entry that turns on CSI snapshots (`velerov1api.CSIFeatureFlag`).
pub const CSI_FEATURE: &str = "EnableCSI";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VeleroServer {
    /// The release line whose rules apply ([`VeleroVersion::LATEST`] when unset).
    pub version: VeleroVersion,
    /// `--features`: the server's feature flags, as Velero splits them (on `,`, untrimmed).
    pub features: Vec<String>,
    /// `--default-volumes-to-fs-backup`: what a backup without `defaultVolumesToFsBackup` takes.
    pub default_volumes_to_fs_backup: bool,
    /// `--default-backup-ttl`: what a backup without a `ttl` (or with `0`) keeps.
    pub default_backup_ttl: Duration,
    /// `--default-backup-storage-location`: used when a backup names none and no
    /// BackupStorageLocation is marked `spec.default`.
    pub default_backup_storage_location: String,
    /// `--default-volume-snapshot-locations` (`provider:name` pairs): the location a backup uses
    /// for a provider with several VolumeSnapshotLocations when it names none.
    pub default_volume_snapshot_locations: BTreeMap<String, String>,
    /// Where this configuration was read, for messages: `the policy's velero: section`, `the
    /// Velero Deployment velero/velero`.
    pub origin: String,
    /// The flags the policy's `velero:` section states (`features`, `defaultVolumesToFsBackup`),
    /// compared with what a Velero Deployment runs.
    pub stated: Vec<&'static str>,
}

impl Default for VeleroServer {
    fn default() -> Self {
        Self {
            version: VeleroVersion::LATEST,
            features: Vec::new(),
            default_volumes_to_fs_backup: false,
            default_backup_ttl: DEFAULT_BACKUP_TTL,
            default_backup_storage_location: DEFAULT_BACKUP_STORAGE_LOCATION.to_string(),
            default_volume_snapshot_locations: BTreeMap::new(),
            origin: "Velero's defaults".to_string(),
            stated: Vec::new(),
        }
    }
}

impl VeleroServer {
    /// CSI snapshots are taken only with `--features=EnableCSI` (`pkg/util/csi/util.go`,
    /// `ShouldSkipAction`, for every release Backstop models); with it, a VolumeSnapshotLocation
    /// never snapshots a CSI volume (`pkg/backup/item_backupper.go`, `takePVSnapshot`).
    pub fn csi_enabled(&self) -> bool {
        self.features.iter().any(|feature| feature == CSI_FEATURE)
    }
}
