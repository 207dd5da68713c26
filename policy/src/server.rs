//! The Velero server coverage is judged against: its release and the flags that change what a
//! backup does. Offline it comes from the policy's `velero:` section; in a cluster the same
//! fields may be read from the Velero Deployment.

use std::collections::BTreeMap;

use crate::versions::VeleroVersion;

/// Velero's own default for `--default-backup-storage-location`.
pub const DEFAULT_BACKUP_STORAGE_LOCATION: &str = "default";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VeleroServer {
    /// The release line whose rules apply ([`VeleroVersion::LATEST`] when unset).
    pub version: VeleroVersion,
    /// `--default-backup-storage-location`: used when a backup names none and no
    /// BackupStorageLocation is marked `spec.default`.
    pub default_backup_storage_location: String,
    /// `--default-volume-snapshot-locations` (`provider:name` pairs): the location a backup uses
    /// for a provider with several VolumeSnapshotLocations when it names none.
    pub default_volume_snapshot_locations: BTreeMap<String, String>,
}

impl Default for VeleroServer {
    fn default() -> Self {
        Self {
            version: VeleroVersion::LATEST,
            default_backup_storage_location: DEFAULT_BACKUP_STORAGE_LOCATION.to_string(),
            default_volume_snapshot_locations: BTreeMap::new(),
        }
    }
}
