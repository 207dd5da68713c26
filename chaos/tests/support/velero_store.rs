//! A bucket laid out as Velero lays it out (`pkg/persistence/object_store_layout.go`), for the
//! storage faults' tests: backup folders with every file `PutBackup` writes, restore folders,
//! and file-system backup repositories (kopia pack and index blobs, restic's folders).

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use backstop_chaos::store::Store;

pub const SCHEDULE: &str = "backstop-storage-loss";

/// The files `PutBackup` (`pkg/persistence/object_store.go`) writes for backup `name`, each
/// named by its `object_store_layout.go` function (`velero-backup.json` apart).
pub fn backup_files(name: &str) -> Vec<String> {
    [
        format!("{name}-logs.gz"),                  // getBackupLogKey
        format!("{name}.tar.gz"),                   // getBackupContentsKey
        format!("{name}-podvolumebackups.json.gz"), // getPodVolumeBackupsKey
        format!("{name}-volumesnapshots.json.gz"),  // getBackupVolumeSnapshotsKey
        format!("{name}-itemoperations.json.gz"),   // getBackupItemOperationsKey
        format!("{name}-resource-list.json.gz"),    // getBackupResourceListKey
        format!("{name}-results.gz"),               // getBackupResultsKey
        format!("{name}-volumeinfo.json.gz"),       // getBackupVolumeInfoKey
    ]
    .into_iter()
    .map(|f| format!("backups/{name}/{f}"))
    .collect()
}

/// `velero-backup.json` of `name` (from `fixtures/chaos/faults/velero-backup-completed.json`),
/// with its phase, start time and schedule label.
pub fn metadata(name: &str, phase: &str, started: &str, schedule: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/chaos/faults/velero-backup-completed.json");
    let mut backup: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    backup["metadata"]["name"] = name.into();
    backup["metadata"]["labels"]["velero.io/schedule-name"] = schedule.into();
    backup["status"]["phase"] = phase.into();
    backup["status"]["startTimestamp"] = started.into();
    serde_json::to_vec_pretty(&backup).unwrap()
}

/// Every object of a bucket, key to bytes.
pub async fn snapshot(store: &Store) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for object in store.list("").await.unwrap() {
        let bytes = store.get(&object.key).await.unwrap();
        out.insert(object.key, bytes);
    }
    out
}

/// Writes one backup folder; each file's bytes are distinct (its key repeated).
pub async fn put_backup(store: &Store, name: &str, phase: &str, started: &str, schedule: &str) {
    store
        .put(
            &format!("backups/{name}/velero-backup.json"),
            metadata(name, phase, started, schedule),
        )
        .await
        .unwrap();
    for key in backup_files(name) {
        let bytes = key.repeat(3).into_bytes();
        store.put(&key, bytes).await.unwrap();
    }
}

/// A kopia repository of `namespace` as kopia's S3 backend writes it (blob ID as the key
/// under `kopia/<namespace>/`, unsharded): format and config blobs, two data packs (`p`),
/// a metadata pack (`q`), an epoch index blob (`xn0_`) and a log blob (`_log_`).
pub fn kopia_repository(namespace: &str) -> Vec<(String, Vec<u8>)> {
    [
        ("kopia.repository", 1100),
        ("kopia.blobcfg", 30),
        ("kopia.maintenance", 400),
        ("p0d41b3c7e2a9f8e6-s8c1f0a2b3c4d5e6f-c1", 5200),
        ("p9a7e51c0b2d4f6a8-s8c1f0a2b3c4d5e6f-c1", 3100),
        ("q5e3c1a9b7d5f3e1a-s8c1f0a2b3c4d5e6f-c1", 2400),
        (
            "xn0_7c2e4a6b8d0f1e3c5a7b9d1f3e5a7c9b-s8c1f0a2b3c4d5e6f-c1",
            900,
        ),
        (
            "_log_20261203121503_4a1f_1764764103_1764764104_1_f0e1d2c3b4a59687",
            700,
        ),
    ]
    .into_iter()
    .map(|(blob, size)| {
        let key = format!("kopia/{namespace}/{blob}");
        let bytes = key.bytes().cycle().take(size).collect();
        (key, bytes)
    })
    .collect()
}

/// A restic repository of `namespace` (`restic/<namespace>/`): config, a key, two data files
/// in their two-hex-digit folders, an index and a snapshot.
pub fn restic_repository(namespace: &str) -> Vec<(String, Vec<u8>)> {
    [
        ("config", 155),
        ("keys/5c1f2e3d4c5b6a79", 450),
        ("data/3f/3f1c2a9d8e7b6a5c4d3e2f1a0b9c8d7e", 4100),
        ("data/a0/a07b6c5d4e3f2a1b0c9d8e7f6a5b4c3d", 2300),
        ("index/7e6d5c4b3a291807", 600),
        ("snapshots/1a2b3c4d5e6f7a8b", 320),
    ]
    .into_iter()
    .map(|(file, size)| {
        let key = format!("restic/{namespace}/{file}");
        let bytes = key.bytes().cycle().take(size).collect();
        (key, bytes)
    })
    .collect()
}

pub async fn put_all(store: &Store, objects: &[(String, Vec<u8>)]) {
    for (key, bytes) in objects {
        store.put(key, bytes.clone()).await.unwrap();
    }
}
