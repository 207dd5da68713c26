//! Everything coverage looks at, gathered from manifests or from a cluster's caches.

use serde_json::Value;

use crate::objects::{
    NamespaceFacts, PersistentVolumeFacts, PodFacts, PvcFacts, SnapshotLocationFacts,
    StorageClassFacts, StorageLocationFacts, VolumeSnapshotClassFacts,
};
use crate::velero::{Backup, DataUpload, PodVolumeBackup, Schedule};
use crate::{PolicyError, yaml};

#[derive(Debug, Default, Clone)]
pub struct Inventory {
    pub namespaces: Vec<NamespaceFacts>,
    pub pvcs: Vec<PvcFacts>,
    pub pods: Vec<PodFacts>,
    /// Bound volumes, when known (a cluster; manifests rarely carry them).
    pub persistent_volumes: Vec<PersistentVolumeFacts>,
    pub schedules: Vec<Schedule>,
    pub storage_classes: Vec<StorageClassFacts>,
    pub snapshot_classes: Vec<VolumeSnapshotClassFacts>,
    pub snapshot_locations: Vec<SnapshotLocationFacts>,
    /// Velero's records of what really ran: read by `crate::evidence`, never by coverage.
    pub backups: Vec<Backup>,
    pub pod_volume_backups: Vec<PodVolumeBackup>,
    pub data_uploads: Vec<DataUpload>,
    /// BackupStorageLocations, when known: always in a cluster; from manifests only once they
    /// hold one (a repository without any says nothing about the cluster's locations, so the
    /// location checks are left out rather than failing every schedule).
    pub storage_locations: Option<Vec<StorageLocationFacts>>,
}

/// What [`Inventory::add_document`] did with a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    Kept,
    /// A kind coverage does not look at (Deployments, Services, ...).
    Ignored,
}

impl Inventory {
    /// Adds every document of a (multi-document) YAML text. `origin` names the file in errors.
    pub fn add_yaml(&mut self, text: &str, origin: &str) -> Result<usize, PolicyError> {
        let mut kept = 0;
        for (index, document) in yaml::documents(text, origin)?.into_iter().enumerate() {
            let origin = format!("{origin} (document {})", index + 1);
            if self.add_document(document, &origin)? == Added::Kept {
                kept += 1;
            }
        }
        Ok(kept)
    }

    /// Adds one Kubernetes object (or every item of a `List`) by its `apiVersion` and `kind`.
    pub fn add_document(&mut self, document: Value, origin: &str) -> Result<Added, PolicyError> {
        let api_version = document
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = document
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if api_version.is_empty() || kind.is_empty() {
            return Err(PolicyError::Document {
                origin: origin.to_string(),
                path: ".".to_string(),
                message: "not a Kubernetes object: apiVersion and kind are required".to_string(),
            });
        }
        let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
        match (group, kind) {
            ("", "List") => {
                let items = match document.get("items") {
                    Some(Value::Array(items)) => items.clone(),
                    _ => Vec::new(),
                };
                for (index, item) in items.into_iter().enumerate() {
                    self.add_document(item, &format!("{origin} items[{index}]"))?;
                }
                return Ok(Added::Kept);
            }
            ("", "Namespace") => self.namespaces.push(yaml::decode(document, origin)?),
            ("", "PersistentVolumeClaim") => self.pvcs.push(yaml::decode(document, origin)?),
            ("", "Pod") => self.pods.push(yaml::decode(document, origin)?),
            ("", "PersistentVolume") => self
                .persistent_volumes
                .push(yaml::decode(document, origin)?),
            ("velero.io", "Schedule") => self.schedules.push(yaml::decode(document, origin)?),
            ("velero.io", "Backup") => self.backups.push(yaml::decode(document, origin)?),
            ("velero.io", "PodVolumeBackup") => self
                .pod_volume_backups
                .push(yaml::decode(document, origin)?),
            ("velero.io", "DataUpload") => self.data_uploads.push(yaml::decode(document, origin)?),
            ("velero.io", "VolumeSnapshotLocation") => self
                .snapshot_locations
                .push(yaml::decode(document, origin)?),
            ("velero.io", "BackupStorageLocation") => self
                .storage_locations
                .get_or_insert_with(Vec::new)
                .push(yaml::decode(document, origin)?),
            ("storage.k8s.io", "StorageClass") => {
                self.storage_classes.push(yaml::decode(document, origin)?)
            }
            ("snapshot.storage.k8s.io", "VolumeSnapshotClass") => {
                self.snapshot_classes.push(yaml::decode(document, origin)?)
            }
            _ => return Ok(Added::Ignored),
        }
        Ok(Added::Kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_document_and_ignores_other_kinds() {
        let mut inventory = Inventory::default();
        let kept = inventory
            .add_yaml(
                "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n\
                 apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n---\n\
                 apiVersion: velero.io/v1\nkind: Schedule\nmetadata: {name: s, namespace: velero}\n\
                 spec: {schedule: '0 * * * *', template: {includedNamespaces: [a]}}\n",
                "a.yaml",
            )
            .unwrap();
        assert_eq!(kept, 2);
        assert_eq!(inventory.namespaces[0].metadata.name, "a");
        assert_eq!(inventory.schedules[0].spec.schedule, "0 * * * *");
    }

    #[test]
    fn expands_lists() {
        let mut inventory = Inventory::default();
        inventory
            .add_yaml(
                "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n- {apiVersion: v1, kind: Namespace, metadata: {name: b}}\n",
                "list.yaml",
            )
            .unwrap();
        assert_eq!(inventory.namespaces.len(), 2);
    }

    #[test]
    fn bad_document_names_file_document_and_field() {
        let error = Inventory::default()
            .add_yaml(
                "apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n---\n\
                 apiVersion: velero.io/v1\nkind: Schedule\nmetadata: {name: s}\nspec: {paused: sometimes}\n",
                "schedules.yaml",
            )
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("schedules.yaml (document 2): spec.paused"),
            "{error}"
        );
    }

    #[test]
    fn document_without_kind_is_an_error() {
        let error = Inventory::default()
            .add_yaml("metadata: {name: x}\n", "x.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("apiVersion and kind are required"),
            "{error}"
        );
    }
}
