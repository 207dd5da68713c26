//! The non-Schedule facts coverage consults, indexed for lookups by namespace and claim.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::inventory::Inventory;
use crate::objects::{NamespaceFacts, PodFacts, PvcFacts};
use crate::velero::keys::CSI_SNAPSHOT_CLASS;

const DEFAULT_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";

#[derive(Debug, Default)]
pub(crate) struct World {
    pub namespaces: BTreeMap<String, NamespaceFacts>,
    /// PVCs by namespace, each list sorted by name.
    pub pvcs: BTreeMap<String, Vec<PvcFacts>>,
    pvc_count: usize,
    pods: Vec<PodFacts>,
    /// namespace → claim → indexes into `pods` of the pods that mount the claim.
    pods_by_claim: HashMap<String, HashMap<String, Vec<usize>>>,
    /// A VolumeSnapshotLocation exists in the Velero namespace.
    has_snapshot_location: bool,
    /// CSI drivers with a VolumeSnapshotClass labelled for Velero.
    csi_snapshot_drivers: HashSet<String>,
    provisioner_by_class: HashMap<String, String>,
    default_class: Option<String>,
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

    /// Can Velero snapshot this claim's volume: a VolumeSnapshotLocation in its namespace, or a
    /// Velero-labelled VolumeSnapshotClass for the claim's CSI driver?
    pub fn snapshot_path(&self, pvc: &PvcFacts) -> Option<SnapshotPath> {
        if self.has_snapshot_location {
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
