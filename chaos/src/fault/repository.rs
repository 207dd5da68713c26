//! `storage-loss`, `mode: corrupt-repository`: the data of the namespace's file-system backup
//! repository overwritten in place, through S3, and exactly which objects were altered.
//!
//! Where the repository is: Velero keeps one per volume namespace and engine, under the
//! backup location's prefix, at `<engine>/<namespace>/` (kopia: `getStorageVariables` in
//! `pkg/repository/provider/unified_repo.go` joins `prefix, "kopia", VolumeNamespace`; restic:
//! `GetResticDir` of `pkg/persistence/object_store_layout.go` plus the repository name, the
//! namespace, as `GetRepoIdentifier` builds it in v1.16's `pkg/repository/config/config.go`).
//! The run's own location has no prefix.
//!
//! Which objects hold the data: kopia writes file contents into pack blobs whose IDs start
//! with `p` (`PackBlobIDPrefixRegular` in kopia's `repo/content/content_manager.go`; `q` packs
//! hold its metadata, and the S3 backend stores blob `b` as `<prefix><b>`, unsharded); restic
//! writes them under `data/`. Every byte of each such object is inverted, so each object is
//! certainly different while keeping its size (as bit rot would), and each is read back to
//! confirm the store now serves the altered bytes.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::scenario::FsBackup;
use crate::store::Store;

/// One object of the repository the fault altered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlteredObject {
    pub key: String,
    pub size: u64,
    /// SHA-256 of the object before and after, hex.
    pub sha256_before: String,
    pub sha256_after: String,
}

/// What the corruption did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CorruptedRepository {
    pub engine: FsBackup,
    /// The repository's folder (`kopia/backstop-chaos/`).
    pub prefix: String,
    pub altered: Vec<AlteredObject>,
    /// Objects of the repository left as they were (metadata, indexes, config), by key.
    pub untouched: Vec<String>,
}

/// The repository folder of `namespace`'s volumes for `engine`.
pub fn prefix(engine: FsBackup, namespace: &str) -> String {
    format!("{engine}/{namespace}/")
}

/// Whether the object `name` (its key below the repository folder) holds file data.
pub fn holds_data(engine: FsBackup, name: &str) -> bool {
    match engine {
        FsBackup::Kopia => name.starts_with('p') && !name.contains('/'),
        FsBackup::Restic => name.starts_with("data/"),
    }
}

/// The bytes the fault writes in place of `original`: every bit inverted.
pub fn damaged(original: &[u8]) -> Vec<u8> {
    original.iter().map(|b| !b).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Overwrites every data object of `namespace`'s repository and reads each back. A
/// repository with no non-empty data object is a fault that cannot take (nothing of the
/// namespace was backed up by file-system backup).
pub async fn corrupt(
    store: &Store,
    engine: FsBackup,
    namespace: &str,
) -> Result<CorruptedRepository, Error> {
    let prefix = prefix(engine, namespace);
    let mut objects = store.list(&prefix).await?;
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    let (data, rest): (Vec<_>, Vec<_>) = objects.into_iter().partition(|o| {
        o.size > 0 && holds_data(engine, o.key.strip_prefix(&prefix).unwrap_or_default())
    });
    if data.is_empty() {
        return Err(Error::FaultDidNotTake(format!(
            "the {engine} repository {prefix} holds no data object to overwrite ({}): \
             nothing of namespace {namespace} was backed up by file-system backup",
            match engine {
                FsBackup::Kopia => "pack blobs p*",
                FsBackup::Restic => "files under data/",
            }
        )));
    }
    let mut altered = Vec::with_capacity(data.len());
    for object in data {
        let original = store.get(&object.key).await?;
        let replacement = damaged(&original);
        let after = sha256_hex(&replacement);
        store.put(&object.key, replacement).await?;
        let served = store.get(&object.key).await?;
        if sha256_hex(&served) != after {
            return Err(Error::FaultDidNotTake(format!(
                "{} still reads back as other bytes than those written over it",
                object.key
            )));
        }
        altered.push(AlteredObject {
            key: object.key,
            size: original.len() as u64,
            sha256_before: sha256_hex(&original),
            sha256_after: after,
        });
    }
    Ok(CorruptedRepository {
        engine,
        prefix,
        altered,
        untouched: rest.into_iter().map(|o| o.key).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kopia_data_is_in_top_level_pack_blobs_starting_with_p() {
        assert!(holds_data(
            FsBackup::Kopia,
            "p3f1c2a9d8e7b6a5c4d3e2f1a0b9c8d7-s5b2c1d0e9f8a7b6c-c1"
        ));
        for other in [
            "q3f1c2a9d8e7b6a5c4d3e2f1a0b9c8d7-s5b2c1d0e9f8a7b6c-c1",
            "xn0_5f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c-s5b2c1d0e9f8a7b6c-c1",
            "kopia.repository",
            "kopia.blobcfg",
            "_log_20261203120000_1a2b_1765000000_1765000001_1_0123456789abcdef",
        ] {
            assert!(!holds_data(FsBackup::Kopia, other), "{other}");
        }
    }

    #[test]
    fn restic_data_is_under_data() {
        assert!(holds_data(FsBackup::Restic, "data/3f/3f1c2a9d8e7b6a5c"));
        for other in [
            "config",
            "keys/abc",
            "index/abc",
            "snapshots/abc",
            "locks/abc",
        ] {
            assert!(!holds_data(FsBackup::Restic, other), "{other}");
        }
    }

    #[test]
    fn the_repository_of_a_namespace_is_engine_then_namespace() {
        assert_eq!(
            prefix(FsBackup::Kopia, "backstop-chaos"),
            "kopia/backstop-chaos/"
        );
        assert_eq!(
            prefix(FsBackup::Restic, "backstop-chaos"),
            "restic/backstop-chaos/"
        );
    }

    #[test]
    fn damage_changes_every_byte_and_keeps_the_length() {
        let original = [0u8, 0x5a, 0xff, 7];
        let out = damaged(&original);
        assert_eq!(out.len(), original.len());
        assert!(out.iter().zip(original).all(|(a, b)| *a != b));
    }
}
