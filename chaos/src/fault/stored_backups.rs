//! The backups as the backup store holds them, read through S3 in Velero's layout
//! (`pkg/persistence/object_store_layout.go`): each backup is the folder `backups/<name>/`,
//! and its `velero-backup.json` is the Backup object as Velero last wrote it (the backup
//! finalizer rewrites it with the final phase: `PutBackupMetadata` in
//! `pkg/controller/backup_finalizer_controller.go`).
//!
//! Velero itself counts a backup as present in the store while *any* object is left under
//! its folder (`ListBackups` lists the common prefixes of `backups/`), and syncs it into a
//! cluster only while its `velero-backup.json` is there (`BackupExists`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use policy::velero::Backup;

use crate::drill::backup::{self, BackupRef};
use crate::error::Error;
use crate::store::{Object, Store};

/// Velero's top-level folder of backups.
pub const BACKUPS_DIR: &str = "backups/";
/// The metadata file of every backup (`getBackupMetadataKey`).
pub const METADATA_FILE: &str = "velero-backup.json";

/// One backup folder of the store.
#[derive(Debug, Clone)]
pub struct StoredBackup {
    pub name: String,
    /// The Backup object from `velero-backup.json`; `None` when the file is missing or does
    /// not decode (then [`StoredBackup::problem`] says which).
    pub metadata: Option<Backup>,
    pub problem: Option<String>,
    /// Every object under `backups/<name>/`, by key.
    pub objects: Vec<Object>,
}

impl StoredBackup {
    /// The backup in the words of the drill's evidence (phase, start, completion).
    pub fn reference(&self) -> Option<BackupRef> {
        self.metadata.as_ref().map(backup::reference)
    }

    /// Whether both files a restore reads first are there: the metadata and the contents
    /// tarball (`getBackupContentsKey`: `<name>.tar.gz`).
    pub fn is_whole(&self) -> bool {
        let has = |file: &str| {
            self.objects
                .iter()
                .any(|o| o.key == format!("{BACKUPS_DIR}{}/{file}", self.name))
        };
        self.metadata.is_some() && has(METADATA_FILE) && has(&format!("{}.tar.gz", self.name))
    }
}

/// Groups a listing of `backups/` by backup folder (pure).
pub fn folders(objects: &[Object]) -> BTreeMap<String, Vec<Object>> {
    let mut out: BTreeMap<String, Vec<Object>> = BTreeMap::new();
    for object in objects {
        let Some(rest) = object.key.strip_prefix(BACKUPS_DIR) else {
            continue;
        };
        if let Some((name, _)) = rest.split_once('/')
            && !name.is_empty()
        {
            out.entry(name.to_owned()).or_default().push(object.clone());
        }
    }
    out
}

/// Decodes a `velero-backup.json` (pure).
pub fn parse_metadata(bytes: &[u8]) -> Result<Backup, String> {
    let backup: Backup = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if backup
        .metadata
        .name
        .as_deref()
        .unwrap_or_default()
        .is_empty()
    {
        return Err("the Backup object has no metadata.name".into());
    }
    Ok(backup)
}

/// Every backup folder in the store, with its metadata read.
pub async fn read(store: &Store) -> Result<Vec<StoredBackup>, Error> {
    let listing = store.list(BACKUPS_DIR).await?;
    let mut out = Vec::new();
    for (name, objects) in folders(&listing) {
        let key = format!("{BACKUPS_DIR}{name}/{METADATA_FILE}");
        let (metadata, problem) = if objects.iter().any(|o| o.key == key) {
            match parse_metadata(&store.get(&key).await?) {
                Ok(backup) => (Some(backup), None),
                Err(e) => (None, Some(format!("{key} does not decode: {e}"))),
            }
        } else {
            (None, Some(format!("{key} is missing")))
        };
        out.push(StoredBackup {
            name,
            metadata,
            problem,
            objects,
        });
    }
    Ok(out)
}

/// The newest `Completed` backup of `schedule` that started before `before`, as Velero
/// would pick it for a Restore from the schedule (the drill's [`backup::choose`]).
pub fn newest_completed<'a>(
    stored: &'a [StoredBackup],
    schedule: &str,
    before: DateTime<Utc>,
) -> Option<&'a StoredBackup> {
    let earlier: Vec<Backup> = stored
        .iter()
        .filter_map(|s| s.metadata.clone())
        .filter(|b| backup::reference(b).started.is_some_and(|t| t < before))
        .collect();
    let chosen = backup::choose(schedule, &earlier).chosen?;
    stored.iter().find(|s| s.name == chosen.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(key: &str) -> Object {
        Object {
            key: key.to_owned(),
            size: 1,
        }
    }

    #[test]
    fn a_listing_is_grouped_by_backup_folder_and_a_name_that_extends_another_stays_apart() {
        let grouped = folders(&[
            object("backups/b1/velero-backup.json"),
            object("backups/b1/b1.tar.gz"),
            object("backups/b10/velero-backup.json"),
            object("backups/stray"),
        ]);
        assert_eq!(grouped.keys().collect::<Vec<_>>(), ["b1", "b10"]);
        assert_eq!(grouped["b1"].len(), 2);
        assert_eq!(grouped["b10"].len(), 1);
    }

    #[test]
    fn metadata_without_a_name_is_refused() {
        let err = parse_metadata(
            br#"{"apiVersion":"velero.io/v1","kind":"Backup","metadata":{},"spec":{}}"#,
        )
        .unwrap_err();
        assert!(err.contains("metadata.name"), "{err}");
        assert!(parse_metadata(b"not json").is_err());
    }
}
