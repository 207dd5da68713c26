//! `storage-loss`, `mode: delete-newest-backup`: every object of one backup deleted from the
//! store, as Velero's own `DeleteBackup` does it (`pkg/persistence/object_store.go`: list the
//! backup's folder `backups/<name>/`, delete each key), and confirmed gone.
//!
//! What is left, on purpose: the file-system backup repository (`kopia/<namespace>/`,
//! `restic/<namespace>/`) is shared by every backup of the namespace (its packs are
//! deduplicated across backups), and Velero removes a backup's snapshot from it only through
//! the repository (`batchDeleteSnapshots` in `backup_deletion_controller.go`), never by
//! object; a Restore's files (`restores/<restore>/`) belong to the restore. Without the
//! backup's folder, its `<name>-podvolumebackups.json.gz` (which names the repository
//! snapshot) is gone with it, so nothing can reach that data through Velero.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::store::{Store, backup_prefix};

/// One object the fault removed or altered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StoreObject {
    pub key: String,
    pub size: u64,
}

/// What the deletion removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeletedBackup {
    pub backup: String,
    /// Every object removed, by key.
    pub objects: Vec<StoreObject>,
}

/// Deletes every object under `backups/<name>/`, then lists the folder again: the fault has
/// taken only when nothing is left (Velero would still list the backup otherwise).
pub async fn delete(store: &Store, name: &str) -> Result<DeletedBackup, Error> {
    if name.is_empty() || name.contains('/') {
        return Err(Error::InvalidArgument {
            argument: "backup name".into(),
            message: format!("{name:?} is not a backup name"),
        });
    }
    let prefix = backup_prefix(name);
    let mut objects = store.list(&prefix).await?;
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    if objects.is_empty() {
        return Err(Error::FaultDidNotTake(format!(
            "the store holds no object under {prefix}: there was no backup {name} to delete"
        )));
    }
    for object in &objects {
        store.delete(&object.key).await?;
    }
    let left = store.list(&prefix).await?;
    if !left.is_empty() {
        return Err(Error::FaultDidNotTake(format!(
            "{} object(s) of backup {name} are still in the store after deleting them: {}",
            left.len(),
            left.iter()
                .map(|o| o.key.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(DeletedBackup {
        backup: name.to_owned(),
        objects: objects
            .into_iter()
            .map(|o| StoreObject {
                key: o.key,
                size: o.size,
            })
            .collect(),
    })
}
