//! The non-Schedule facts coverage consults, indexed for lookups by namespace and claim.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::inventory::Inventory;
use crate::objects::{Meta, NamespaceFacts, PodFacts, PvcFacts};
use crate::resources::{PODS, PVCS};
use crate::velero::keys::{CSI_SNAPSHOT_CLASS, EXCLUDE_FROM_BACKUP};

const DEFAULT_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";

/// Rancher's local-path provisioner (kind's `standard` class, k3s's `local-path`): it creates
/// `hostPath` PersistentVolumes unless told otherwise (`provisioner.go`, `provisionFor`).
pub(crate) const LOCAL_PATH_PROVISIONER: &str = "rancher.io/local-path";
/// On a local-path StorageClass: the volume type of the PVs it creates (`hostPath` when absent).
pub(crate) const LOCAL_PATH_CLASS_VOLUME_TYPE: &str = "defaultVolumeType";
/// On a claim of a local-path class: its own volume type, over the class's.
pub(crate) const LOCAL_PATH_CLAIM_VOLUME_TYPE: &str = "volumeType";

#[derive(Debug, Default)]
pub(crate) struct World {
    pub namespaces: BTreeMap<String, NamespaceFacts>,
    /// PVCs by namespace, each list sorted by name.
    pub pvcs: BTreeMap<String, Vec<PvcFacts>>,
    pvc_count: usize,
    pods: Vec<PodFacts>,
    /// namespace → claim → indexes into `pods` of the pods that mount the claim.
    pods_by_claim: HashMap<String, HashMap<String, Vec<usize>>>,
    /// namespace → indexes into `pods` of its pods.
    pods_by_namespace: HashMap<String, Vec<usize>>,
    /// A VolumeSnapshotLocation exists in the Velero namespace.
    has_snapshot_location: bool,
    /// CSI drivers with a VolumeSnapshotClass labelled for Velero.
    csi_snapshot_drivers: HashSet<String>,
    provisioner_by_class: HashMap<String, String>,
    default_class: Option<String>,
    /// Local-path classes → whether the PVs they create are `hostPath` by default.
    local_path_classes: HashMap<String, bool>,
    /// Known PersistentVolumes → whether they are `hostPath` volumes.
    volume_is_host_path: HashMap<String, bool>,
}

impl World {
    pub fn build(inventory: Inventory, velero_namespace: &str) -> Self {
        let mut world = Self {
            has_snapshot_location: inventory
                .snapshot_locations
                .iter()
                .any(|location| location.metadata.namespace.as_deref() == Some(velero_namespace)),
            csi_snapshot_drivers: inventory
                .snapshot_classes
                .iter()
                .filter(|class| {
                    class
                        .metadata
                        .labels
                        .get(CSI_SNAPSHOT_CLASS)
                        .map(String::as_str)
                        == Some("true")
                })
                .map(|class| class.driver.clone())
                .collect(),
            default_class: inventory
                .storage_classes
                .iter()
                .find(|class| {
                    class
                        .metadata
                        .annotations
                        .get(DEFAULT_CLASS_ANNOTATION)
                        .map(String::as_str)
                        == Some("true")
                })
                .map(|class| class.metadata.name.clone()),
            local_path_classes: inventory
                .storage_classes
                .iter()
                .filter(|class| class.provisioner == LOCAL_PATH_PROVISIONER)
                .map(|class| {
                    let host_path = class
                        .metadata
                        .annotations
                        .get(LOCAL_PATH_CLASS_VOLUME_TYPE)
                        .is_none_or(|kind| kind.eq_ignore_ascii_case("hostPath"));
                    (class.metadata.name.clone(), host_path)
                })
                .collect(),
            volume_is_host_path: inventory
                .persistent_volumes
                .into_iter()
                .map(|volume| (volume.metadata.name, volume.spec.host_path.is_some()))
                .collect(),
            provisioner_by_class: inventory
                .storage_classes
                .into_iter()
                .map(|class| (class.metadata.name, class.provisioner))
                .collect(),
            ..Self::default()
        };
        for namespace in inventory.namespaces {
            world
                .namespaces
                .insert(namespace.metadata.name.clone(), namespace);
        }
        world.pvc_count = inventory.pvcs.len();
        for pvc in inventory.pvcs {
            world
                .pvcs
                .entry(pvc.metadata.namespace_or_default().to_string())
                .or_default()
                .push(pvc);
        }
        for list in world.pvcs.values_mut() {
            list.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        }
        for (index, pod) in inventory.pods.iter().enumerate() {
            let namespace = pod.metadata.namespace_or_default();
            world
                .pods_by_namespace
                .entry(namespace.to_string())
                .or_default()
                .push(index);
            for volume in &pod.spec.volumes {
                if let Some(claim) = &volume.persistent_volume_claim {
                    world
                        .pods_by_claim
                        .entry(namespace.to_string())
                        .or_default()
                        .entry(claim.claim_name.clone())
                        .or_default()
                        .push(index);
                }
            }
        }
        world.pods = inventory.pods;
        world
    }

    pub fn pods_mounting(&self, namespace: &str, claim: &str) -> impl Iterator<Item = &PodFacts> {
        self.pods_by_claim
            .get(namespace)
            .and_then(|claims| claims.get(claim))
            .into_iter()
            .flatten()
            .filter_map(|index| self.pods.get(*index))
    }

    /// Does some PVC or pod of `namespace`, not labelled out of backups, pass `selected` (its
    /// labels, its resource name)? Velero backs up the Namespace object of a namespace it
    /// collects a selected item from.
    pub fn selects_an_item_in(
        &self,
        namespace: &str,
        selected: impl Fn(&BTreeMap<String, String>, &str) -> bool,
    ) -> bool {
        let kept = |meta: &Meta, resource: &str| {
            meta.labels.get(EXCLUDE_FROM_BACKUP).map(String::as_str) != Some("true")
                && selected(&meta.labels, resource)
        };
        self.pvcs
            .get(namespace)
            .into_iter()
            .flatten()
            .any(|pvc| kept(&pvc.metadata, PVCS))
            || self
                .pods_by_namespace
                .get(namespace)
                .into_iter()
                .flatten()
                .filter_map(|index| self.pods.get(*index))
                .any(|pod| kept(&pod.metadata, PODS))
    }

    /// Can Velero snapshot this claim's volume: a VolumeSnapshotLocation in its namespace, or a
    /// Velero-labelled VolumeSnapshotClass for the claim's CSI driver?
    ///
    /// A CSI snapshot is taken by the claim's own action (`pkg/backup/actions/csi/pvc_action.go`)
    /// and needs neither the PersistentVolume nor cluster resources in the backup; a
    /// VolumeSnapshotLocation snapshot is taken when the PersistentVolume itself is backed up, so
    /// it needs `volumes_included`.
    pub fn snapshot_path(&self, pvc: &PvcFacts, volumes_included: bool) -> Option<SnapshotPath> {
        if self.has_snapshot_location && volumes_included {
            return Some(SnapshotPath::VolumeSnapshotLocation);
        }
        let class = pvc
            .spec
            .storage_class_name
            .as_deref()
            .or(self.default_class.as_deref())?;
        let driver = self.provisioner_by_class.get(class)?;
        self.csi_snapshot_drivers
            .contains(driver)
            .then_some(SnapshotPath::Csi)
    }

    /// Why the claim's volume is (or, once provisioned, will be) a `hostPath` volume, which
    /// Velero's file-system backup skips; `None` when it is not. The bound PersistentVolume
    /// decides when the world knows it; otherwise a local-path class predicts it.
    pub fn host_path_source(&self, pvc: &PvcFacts) -> Option<HostPathSource> {
        if let Some(volume) = pvc
            .spec
            .volume_name
            .as_deref()
            .filter(|name| !name.is_empty())
            && let Some(host_path) = self.volume_is_host_path.get(volume)
        {
            return host_path.then(|| HostPathSource::BoundVolume(volume.to_string()));
        }
        let class = pvc
            .spec
            .storage_class_name
            .as_deref()
            .or(self.default_class.as_deref())?;
        let class_default = *self.local_path_classes.get(class)?;
        let host_path = match pvc.metadata.annotations.get(LOCAL_PATH_CLAIM_VOLUME_TYPE) {
            Some(kind) => kind.eq_ignore_ascii_case("hostPath"),
            None => class_default,
        };
        host_path.then(|| HostPathSource::LocalPathClass(class.to_string()))
    }

    /// Every namespace the world knows: with a Namespace object, PVCs, or both.
    pub fn namespace_names(&self) -> impl Iterator<Item = &str> {
        self.namespaces
            .keys()
            .chain(
                self.pvcs
                    .keys()
                    .filter(|name| !self.namespaces.contains_key(*name)),
            )
            .map(String::as_str)
    }

    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }

    pub fn pvc_count(&self) -> usize {
        self.pvc_count
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SnapshotPath {
    VolumeSnapshotLocation,
    /// A Velero-labelled VolumeSnapshotClass for the claim's CSI driver.
    Csi,
}

/// Where a claim's `hostPath` volume comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostPathSource {
    /// The bound PersistentVolume has a `hostPath` source.
    BoundVolume(String),
    /// The claim's class is a local-path class that creates `hostPath` volumes, and the claim
    /// does not ask for `volumeType: local`.
    LocalPathClass(String),
}
