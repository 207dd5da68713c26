//! Everything coverage looks at, gathered from manifests or from a cluster's caches.
//!
//! Manifests are read document by document ([`Inventory::add_yaml`]), each object remembered
//! with its place ([`crate::origin`]); [`Inventory::finish`] then counts an object defined twice
//! once (the later definition, as `kubectl apply` would leave it, with an [`InputNote`]) and
//! turns workload controllers into the pods and claims they will run ([`crate::workloads`]).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::objects::{
    ConfigMapFacts, Meta, NamespaceFacts, PersistentVolumeFacts, PodFacts, PvcFacts,
    SnapshotLocationFacts, StorageClassFacts, StorageLocationFacts, VeleroDeploymentFacts,
    VolumeSnapshotClassFacts,
};
use crate::origin::{ObjectKey, Origins, Place};
use crate::velero::{Backup, DataUpload, PodVolumeBackup, Schedule};
use crate::workloads::{self, Controller, PodOwner, Workload, WorkloadKind};
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
    /// Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs, until
    /// [`Inventory::finish`] turns them into the pods and claims they will run.
    pub workloads: Vec<Workload>,
    /// The controller of each pod that has one: a controller with a real pod runs real pods,
    /// which win over what it would predict.
    pub pod_owners: Vec<PodOwner>,
    /// Where each object came from (manifests, and predicted objects); coverage never reads it.
    pub origins: Origins,
    /// What is worth telling about the input itself (an object defined twice).
    pub notes: Vec<InputNote>,
    /// ConfigMaps: those of the Velero namespace may hold the volume policies a schedule names.
    pub config_maps: Vec<ConfigMapFacts>,
    /// The Velero namespace's ConfigMaps were listed from a cluster, so a resource policy not
    /// among them does not exist (from manifests it may just live elsewhere).
    pub config_maps_listed: bool,
    /// The Velero server's Deployment, read from a cluster (offline the policy's `velero:`
    /// section says what it runs).
    pub velero_deployment: Option<VeleroDeploymentFacts>,
}

/// What [`Inventory::add_document`] did with a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    Kept,
    /// A kind coverage does not look at (Services, ConfigMaps, ...).
    Ignored,
}

/// Something about the input a report should show beside the findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputNote {
    /// The same object (kind, namespace, name) is defined twice: it is counted once, as the
    /// later definition has it.
    DefinedTwice {
        object: ObjectKey,
        first: Place,
        second: Place,
        /// Both definitions say the same (as far as coverage reads them).
        identical: bool,
    },
}

impl InputNote {
    /// A stable code, as gap codes are: `defined-twice`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::DefinedTwice { .. } => "defined-twice",
        }
    }

    /// Where the note points: the definition that is kept.
    pub fn place(&self) -> &Place {
        match self {
            Self::DefinedTwice { second, .. } => second,
        }
    }
}

impl fmt::Display for InputNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DefinedTwice {
                object,
                first,
                second,
                identical,
            } => {
                write!(
                    f,
                    "{object} is defined twice, in {first} and in {second}; it is counted once"
                )?;
                if *identical {
                    f.write_str(" (both definitions are the same)")
                } else {
                    f.write_str(
                        ", as the later definition has it (as `kubectl apply` of both would leave it): the two differ, remove one",
                    )
                }
            }
        }
    }
}

impl Inventory {
    /// Adds every document of a (multi-document) YAML text. `file` names it in errors and
    /// origins (`deploy/db.yaml`, `<stdin>`).
    pub fn add_yaml(&mut self, text: &str, file: &str) -> Result<usize, PolicyError> {
        let file: Arc<str> = Arc::from(file);
        let mut kept = 0;
        for document in yaml::located_documents(text, &file)? {
            let place = Place {
                file: Arc::clone(&file),
                document: document.index,
                line: document.line,
                item: None,
                template: document.template,
            };
            if self.add_document_at(document.value, place)? == Added::Kept {
                kept += 1;
            }
        }
        Ok(kept)
    }

    /// Adds one Kubernetes object (or every item of a `List`) by its `apiVersion` and `kind`;
    /// `origin` names it in errors. Its place is not known, so a report cannot point at it.
    pub fn add_document(&mut self, document: Value, origin: &str) -> Result<Added, PolicyError> {
        self.add_object(document, origin, None)
    }

    fn add_document_at(&mut self, document: Value, place: Place) -> Result<Added, PolicyError> {
        let origin = place.to_string();
        self.add_object(document, &origin, Some(place))
    }

    fn add_object(
        &mut self,
        document: Value,
        origin: &str,
        place: Option<Place>,
    ) -> Result<Added, PolicyError> {
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
        if (group, kind) == ("", "List") {
            let items = match document.get("items") {
                Some(Value::Array(items)) => items.clone(),
                _ => Vec::new(),
            };
            for (index, item) in items.into_iter().enumerate() {
                let item_place = place.clone().map(|place| Place {
                    item: Some(index),
                    ..place
                });
                self.add_object(item, &format!("{origin} items[{index}]"), item_place)?;
            }
            return Ok(Added::Kept);
        }
        let key = |meta: &Meta, kind: &'static str, namespaced: bool| {
            let namespace = if namespaced {
                meta.namespace.clone().unwrap_or_default()
            } else {
                String::new()
            };
            ObjectKey {
                kind,
                namespace,
                name: meta.name.clone(),
            }
        };
        let added = match (group, kind) {
            ("", "Namespace") => {
                let namespace: NamespaceFacts = yaml::decode(document, origin)?;
                let key = key(&namespace.metadata, "Namespace", false);
                self.namespaces.push(namespace);
                Some(key)
            }
            ("", "PersistentVolumeClaim") => {
                let pvc: PvcFacts = yaml::decode(document, origin)?;
                let key = ObjectKey::new(
                    "PersistentVolumeClaim",
                    pvc.metadata.namespace_or_default(),
                    &pvc.metadata.name,
                );
                self.pvcs.push(pvc);
                Some(key)
            }
            ("", "Pod") => {
                let controller = Controller::of(&document);
                let pod: PodFacts = yaml::decode(document, origin)?;
                let namespace = pod.metadata.namespace_or_default().to_string();
                if let Some(controller) = controller {
                    self.pod_owners.push(PodOwner {
                        namespace: namespace.clone(),
                        controller,
                    });
                }
                let key = ObjectKey::new("Pod", &namespace, &pod.metadata.name);
                self.pods.push(pod);
                Some(key)
            }
            ("", "PersistentVolume") => {
                let volume: PersistentVolumeFacts = yaml::decode(document, origin)?;
                let key = key(&volume.metadata, "PersistentVolume", false);
                self.persistent_volumes.push(volume);
                Some(key)
            }
            ("velero.io", "Schedule") => {
                let schedule: Schedule = yaml::decode(document, origin)?;
                let key = velero_key("Schedule", &schedule.metadata);
                self.schedules.push(schedule);
                Some(key)
            }
            ("velero.io", "Backup") => {
                let backup: Backup = yaml::decode(document, origin)?;
                let key = velero_key("Backup", &backup.metadata);
                self.backups.push(backup);
                Some(key)
            }
            ("velero.io", "PodVolumeBackup") => {
                let record: PodVolumeBackup = yaml::decode(document, origin)?;
                let key = velero_key("PodVolumeBackup", &record.metadata);
                self.pod_volume_backups.push(record);
                Some(key)
            }
            ("velero.io", "DataUpload") => {
                let upload: DataUpload = yaml::decode(document, origin)?;
                let key = velero_key("DataUpload", &upload.metadata);
                self.data_uploads.push(upload);
                Some(key)
            }
            ("velero.io", "VolumeSnapshotLocation") => {
                let location: SnapshotLocationFacts = yaml::decode(document, origin)?;
                let key = key(&location.metadata, "VolumeSnapshotLocation", true);
                self.snapshot_locations.push(location);
                Some(key)
            }
            ("velero.io", "BackupStorageLocation") => {
                let location: StorageLocationFacts = yaml::decode(document, origin)?;
                let key = key(&location.metadata, "BackupStorageLocation", true);
                self.storage_locations
                    .get_or_insert_with(Vec::new)
                    .push(location);
                Some(key)
            }
            ("", "ConfigMap") => {
                let config_map: ConfigMapFacts = yaml::decode(document, origin)?;
                let key = key(&config_map.metadata, "ConfigMap", true);
                self.config_maps.push(config_map);
                Some(key)
            }
            ("storage.k8s.io", "StorageClass") => {
                let class: StorageClassFacts = yaml::decode(document, origin)?;
                let key = key(&class.metadata, "StorageClass", false);
                self.storage_classes.push(class);
                Some(key)
            }
            ("snapshot.storage.k8s.io", "VolumeSnapshotClass") => {
                let class: VolumeSnapshotClassFacts = yaml::decode(document, origin)?;
                let key = key(&class.metadata, "VolumeSnapshotClass", false);
                self.snapshot_classes.push(class);
                Some(key)
            }
            _ => match WorkloadKind::of(group, kind) {
                Some(kind) => {
                    let workload = Workload::decode(kind, document, origin)?;
                    let key = workload.key();
                    self.workloads.push(workload);
                    Some(key)
                }
                None => None,
            },
        };
        let Some(key) = added else {
            return Ok(Added::Ignored);
        };
        if let Some(place) = place {
            self.origins.read_at(key, place);
        }
        Ok(Added::Kept)
    }

    /// Done adding: an object defined twice is counted once (the later definition) with an
    /// [`InputNote`], and workload controllers become the pods and claims they will run (real
    /// ones win). Call it once, after the last `add_yaml`; a cluster's inventory needs it too.
    pub fn finish(&mut self) {
        let duplicates = self.origins.take_duplicates();
        if !duplicates.is_empty() {
            self.count_duplicates_once(duplicates);
        }
        workloads::predict(self);
    }

    fn count_duplicates_once(&mut self, duplicates: Vec<(ObjectKey, Place, Place)>) {
        let twice: HashSet<&ObjectKey> = duplicates.iter().map(|(key, _, _)| key).collect();
        let mut identical = HashMap::new();
        let ns = |meta: &Meta| meta.namespace_or_default().to_string();
        let plain = |meta: &Meta| meta.namespace.clone().unwrap_or_default();
        keep_last(
            &mut self.namespaces,
            &twice,
            &mut identical,
            |o| ObjectKey::new("Namespace", "", &o.metadata.name),
            |a, b| a == b,
        );
        keep_last(
            &mut self.pvcs,
            &twice,
            &mut identical,
            |o| ObjectKey {
                kind: "PersistentVolumeClaim",
                namespace: ns(&o.metadata),
                name: o.metadata.name.clone(),
            },
            |a, b| a == b,
        );
        keep_last(
            &mut self.pods,
            &twice,
            &mut identical,
            |o| ObjectKey {
                kind: "Pod",
                namespace: ns(&o.metadata),
                name: o.metadata.name.clone(),
            },
            |a, b| a == b,
        );
        keep_last(
            &mut self.persistent_volumes,
            &twice,
            &mut identical,
            |o| ObjectKey::new("PersistentVolume", "", &o.metadata.name),
            |a, b| a == b,
        );
        keep_last(
            &mut self.schedules,
            &twice,
            &mut identical,
            |o| velero_key("Schedule", &o.metadata),
            |a, b| a.spec == b.spec && a.status == b.status,
        );
        keep_last(
            &mut self.backups,
            &twice,
            &mut identical,
            |o| velero_key("Backup", &o.metadata),
            |a, b| a.spec == b.spec && a.status == b.status,
        );
        keep_last(
            &mut self.pod_volume_backups,
            &twice,
            &mut identical,
            |o| velero_key("PodVolumeBackup", &o.metadata),
            |a, b| a.spec == b.spec && a.status == b.status,
        );
        keep_last(
            &mut self.data_uploads,
            &twice,
            &mut identical,
            |o| velero_key("DataUpload", &o.metadata),
            |a, b| a.spec == b.spec && a.status == b.status,
        );
        keep_last(
            &mut self.snapshot_locations,
            &twice,
            &mut identical,
            |o| ObjectKey {
                kind: "VolumeSnapshotLocation",
                namespace: plain(&o.metadata),
                name: o.metadata.name.clone(),
            },
            |a, b| a == b,
        );
        if let Some(locations) = self.storage_locations.as_mut() {
            keep_last(
                locations,
                &twice,
                &mut identical,
                |o| ObjectKey {
                    kind: "BackupStorageLocation",
                    namespace: plain(&o.metadata),
                    name: o.metadata.name.clone(),
                },
                |a, b| a == b,
            );
        }
        keep_last(
            &mut self.config_maps,
            &twice,
            &mut identical,
            |o| ObjectKey {
                kind: "ConfigMap",
                namespace: plain(&o.metadata),
                name: o.metadata.name.clone(),
            },
            |a, b| a == b,
        );
        keep_last(
            &mut self.storage_classes,
            &twice,
            &mut identical,
            |o| ObjectKey::new("StorageClass", "", &o.metadata.name),
            |a, b| a == b,
        );
        keep_last(
            &mut self.snapshot_classes,
            &twice,
            &mut identical,
            |o| ObjectKey::new("VolumeSnapshotClass", "", &o.metadata.name),
            |a, b| a == b,
        );
        keep_last(
            &mut self.workloads,
            &twice,
            &mut identical,
            Workload::key,
            |a, b| a == b,
        );
        // A pod defined twice is one pod: its controller is counted once too.
        let mut seen = HashSet::new();
        self.pod_owners.retain(|owner| seen.insert(owner.clone()));
        for (object, first, second) in duplicates {
            let identical = identical.get(&object).copied().unwrap_or(false);
            self.notes.push(InputNote::DefinedTwice {
                object,
                first,
                second,
                identical,
            });
        }
    }
}

/// A Velero object's key: Velero objects count in their own namespace only.
fn velero_key(kind: &'static str, metadata: &kube::api::ObjectMeta) -> ObjectKey {
    ObjectKey {
        kind,
        namespace: metadata.namespace.clone().unwrap_or_default(),
        name: metadata.name.clone().unwrap_or_default(),
    }
}

/// Keeps, of the objects whose key is in `twice`, only the last definition, and records in
/// `identical` whether every earlier definition was the same (`same`).
fn keep_last<T>(
    items: &mut Vec<T>,
    twice: &HashSet<&ObjectKey>,
    identical: &mut HashMap<ObjectKey, bool>,
    key: impl Fn(&T) -> ObjectKey,
    same: impl Fn(&T, &T) -> bool,
) {
    let mut last: HashMap<ObjectKey, usize> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        let key = key(item);
        if twice.contains(&key) {
            last.insert(key, index);
        }
    }
    if last.is_empty() {
        return;
    }
    for (index, item) in items.iter().enumerate() {
        let key = key(item);
        if let Some(&kept) = last.get(&key)
            && kept != index
        {
            let same = items.get(kept).is_some_and(|kept| same(kept, item));
            let entry = identical.entry(key).or_insert(true);
            *entry = *entry && same;
        }
    }
    let mut index = 0;
    items.retain(|item| {
        let keep = last.get(&key(item)).is_none_or(|&kept| kept == index);
        index += 1;
        keep
    });
}

#[cfg(test)]
mod tests;
