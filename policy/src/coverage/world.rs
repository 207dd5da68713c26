//! The non-Schedule facts coverage consults, indexed for lookups by namespace and claim.

use std::collections::{BTreeMap, HashMap};

use crate::inventory::Inventory;
use crate::objects::{Meta, NamespaceFacts, PodFacts, PvcFacts};
use crate::resources::{PODS, PVCS};

use super::storage::Storage;

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
    /// Storage classes, PersistentVolumes, snapshot classes and locations.
    pub storage: Storage,
}

impl World {
    pub fn build(inventory: Inventory, velero_namespace: &str) -> Self {
        let mut world = Self {
            storage: Storage::build(
                inventory.storage_classes,
                inventory.persistent_volumes,
                &inventory.snapshot_classes,
                &inventory.snapshot_locations,
                velero_namespace,
            ),
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
        self.pods_mounting_indexed(namespace, claim)
            .map(|(_, pod)| pod)
    }

    /// [`World::pods_mounting`], with each pod's index (stable within this world).
    pub fn pods_mounting_indexed(
        &self,
        namespace: &str,
        claim: &str,
    ) -> impl Iterator<Item = (usize, &PodFacts)> {
        self.pods_by_claim
            .get(namespace)
            .and_then(|claims| claims.get(claim))
            .into_iter()
            .flatten()
            .filter_map(|index| self.pods.get(*index).map(|pod| (*index, pod)))
    }

    pub fn pod(&self, index: usize) -> Option<&PodFacts> {
        self.pods.get(index)
    }

    /// The claim `namespace/name`, when the world has it.
    pub fn claim(&self, namespace: &str, name: &str) -> Option<&PvcFacts> {
        let claims = self.pvcs.get(namespace)?;
        claims
            .binary_search_by(|pvc| pvc.metadata.name.as_str().cmp(name))
            .ok()
            .and_then(|index| claims.get(index))
    }

    /// Does some PVC or pod of `namespace` pass `selected` (its labels, its resource name)?
    /// Velero backs up the Namespace object of a namespace it collects a selected item from
    /// (`pkg/backup/item_collector.go`, the items listed by label selector), even one labelled
    /// `velero.io/exclude-from-backup=true`, which is dropped only later (`itemInclusionChecks`).
    pub fn selects_an_item_in(
        &self,
        namespace: &str,
        selected: impl Fn(&BTreeMap<String, String>, &str) -> bool,
    ) -> bool {
        let kept = |meta: &Meta, resource: &str| selected(&meta.labels, resource);
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
    /// A CSI snapshot through a VolumeSnapshotClass of the claim's driver.
    Csi,
}
