//! The storage facts coverage consults per claim: storage classes and their provisioners, the
//! bound PersistentVolumes (known, or predicted from the claim's class), VolumeSnapshotClasses
//! and VolumeSnapshotLocations.

use std::collections::{BTreeMap, HashMap};

use crate::objects::{
    PersistentVolumeFacts, PvcFacts, SnapshotLocationFacts, StorageClassFacts,
    VolumeSnapshotClassFacts,
};
use crate::quantity::Quantity;
use crate::velero::keys::{CSI_SNAPSHOT_CLASS, DEFAULT_SNAPSHOT_CLASS};
use crate::volume_policy::VolumeSide;

const DEFAULT_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";

/// Rancher's local-path provisioner (kind's `standard` class, k3s's `local-path`): it creates
/// `hostPath` PersistentVolumes unless told otherwise (`provisioner.go`, `provisionFor`).
pub(crate) const LOCAL_PATH_PROVISIONER: &str = "rancher.io/local-path";
/// On a local-path StorageClass: the volume type of the PVs it creates (`hostPath` when absent).
pub(crate) const LOCAL_PATH_CLASS_VOLUME_TYPE: &str = "defaultVolumeType";
/// On a claim of a local-path class: its own volume type, over the class's.
pub(crate) const LOCAL_PATH_CLAIM_VOLUME_TYPE: &str = "volumeType";

/// Provisioners built into Kubernetes (`kubernetes.io/aws-ebs`, `kubernetes.io/no-provisioner`,
/// ...) create volumes that are not CSI volumes.
const IN_TREE_PREFIX: &str = "kubernetes.io/";

static NO_ATTRIBUTES: BTreeMap<String, String> = BTreeMap::new();

/// A VolumeSnapshotClass as Velero's choice reads it.
#[derive(Debug, Clone)]
pub(crate) struct SnapshotClass {
    pub name: String,
    pub driver: String,
    /// Carries the `velero.io/csi-volumesnapshot-class` label (any value).
    pub labelled: bool,
    /// Carries the `snapshot.storage.kubernetes.io/is-default-class` annotation (any value).
    pub default: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Storage {
    /// A VolumeSnapshotLocation exists in the Velero namespace.
    pub has_snapshot_location: bool,
    provisioner_by_class: HashMap<String, String>,
    default_class: Option<String>,
    /// Local-path classes → whether the PVs they create are `hostPath` by default.
    local_path_classes: HashMap<String, bool>,
    /// Known PersistentVolumes by name.
    volumes: HashMap<String, PersistentVolumeFacts>,
    /// Sorted by name, as the API server lists them (Velero takes the first that fits).
    pub snapshot_classes: Vec<SnapshotClass>,
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

/// A claim's volume as coverage sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClaimVolume<'a> {
    /// What Velero reads of the PersistentVolume (`parsePV`); `None` while the claim is unbound.
    pub side: Option<VolumeSide<'a>>,
    /// The volume's CSI driver, when it is (or, provisioned by its class, will be) a CSI volume.
    pub csi_driver: Option<&'a str>,
    /// Predicted from the claim and its class: the bound PersistentVolume is not known.
    pub predicted: bool,
}

/// Why a claim has no class a CSI snapshot can go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClassProblem {
    /// `spec.storageClassName` is unset (and no default class filled it in) or empty.
    NoClass,
    /// The class it names is not among the known StorageClasses.
    UnknownClass(String),
}

impl Storage {
    pub fn build(
        storage_classes: Vec<StorageClassFacts>,
        persistent_volumes: Vec<PersistentVolumeFacts>,
        snapshot_classes: &[VolumeSnapshotClassFacts],
        snapshot_locations: &[SnapshotLocationFacts],
        velero_namespace: &str,
    ) -> Self {
        let mut classes: Vec<SnapshotClass> = snapshot_classes
            .iter()
            .map(|class| SnapshotClass {
                name: class.metadata.name.clone(),
                driver: class.driver.clone(),
                labelled: class.metadata.labels.contains_key(CSI_SNAPSHOT_CLASS),
                default: class
                    .metadata
                    .annotations
                    .contains_key(DEFAULT_SNAPSHOT_CLASS),
            })
            .collect();
        classes.sort_by(|a, b| a.name.cmp(&b.name));
        Self {
            has_snapshot_location: snapshot_locations
                .iter()
                .any(|location| location.metadata.namespace.as_deref() == Some(velero_namespace)),
            default_class: storage_classes
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
            local_path_classes: storage_classes
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
            volumes: persistent_volumes
                .into_iter()
                .map(|volume| (volume.metadata.name.clone(), volume))
                .collect(),
            provisioner_by_class: storage_classes
                .into_iter()
                .map(|class| (class.metadata.name, class.provisioner))
                .collect(),
            snapshot_classes: classes,
        }
    }

    /// The class the claim has, or will have: a claim read from a cluster keeps what admission
    /// wrote (nothing, when no default class existed); a manifest without one gets the default
    /// class, as the API server's `DefaultStorageClass` admission will give it.
    pub fn claim_class<'a>(&'a self, pvc: &'a PvcFacts) -> Option<&'a str> {
        match pvc.spec.storage_class_name.as_deref() {
            Some(class) => Some(class),
            None if pvc.status.phase.is_none() => self.default_class.as_deref(),
            None => None,
        }
    }

    /// The provisioner of the claim's class, which a CSI snapshot needs
    /// (`pkg/backup/actions/csi/pvc_action.go`, `validatePVCAndPV` and `createVolumeSnapshot`:
    /// a claim without a class, or whose class is missing, is not snapshotted).
    pub fn provisioner<'a>(&'a self, pvc: &'a PvcFacts) -> Result<&'a str, ClassProblem> {
        let class = self
            .claim_class(pvc)
            .filter(|class| !class.is_empty())
            .ok_or(ClassProblem::NoClass)?;
        self.provisioner_by_class
            .get(class)
            .map(String::as_str)
            .ok_or_else(|| ClassProblem::UnknownClass(class.to_string()))
    }

    /// The claim's volume: the bound PersistentVolume when known, else predicted from the
    /// claim (its requested size) and its class's provisioner (a CSI driver, a local-path
    /// class, or a provisioner built into Kubernetes).
    pub fn claim_volume<'a>(&'a self, pvc: &'a PvcFacts) -> ClaimVolume<'a> {
        if !pvc.is_bound() {
            return ClaimVolume {
                side: None,
                csi_driver: None,
                predicted: false,
            };
        }
        if let Some(volume) = pvc
            .spec
            .volume_name
            .as_deref()
            .filter(|name| !name.is_empty())
            .and_then(|name| self.volumes.get(name))
        {
            let spec = &volume.spec;
            let csi = spec
                .csi
                .as_ref()
                .map(|csi| (csi.driver.as_str(), &csi.volume_attributes));
            return ClaimVolume {
                side: Some(VolumeSide {
                    capacity: spec
                        .capacity
                        .as_deref()
                        .and_then(|text| Quantity::parse(text.trim()).ok())
                        .unwrap_or_default(),
                    storage_class: spec.storage_class_name.as_deref().unwrap_or_default(),
                    nfs: spec
                        .nfs
                        .as_ref()
                        .map(|nfs| (nfs.server.as_str(), nfs.path.as_str())),
                    csi,
                    volume_type: &spec.volume_type,
                }),
                csi_driver: csi.map(|(driver, _)| driver),
                predicted: false,
            };
        }
        let class = self.claim_class(pvc).unwrap_or_default();
        let provisioner = self.provisioner_by_class.get(class).map(String::as_str);
        let (volume_type, csi_driver) = match provisioner {
            None | Some("") => ("", None),
            Some(LOCAL_PATH_PROVISIONER) => match self.host_path_source(pvc) {
                Some(_) => ("hostPath", None),
                None => ("local", None),
            },
            Some(in_tree) if in_tree.starts_with(IN_TREE_PREFIX) => ("", None),
            Some(driver) => ("csi", Some(driver)),
        };
        ClaimVolume {
            side: Some(VolumeSide {
                capacity: pvc
                    .spec
                    .storage_request()
                    .and_then(|text| Quantity::parse(text.trim()).ok())
                    .unwrap_or_default(),
                storage_class: class,
                nfs: None,
                csi: csi_driver.map(|driver| (driver, &NO_ATTRIBUTES)),
                volume_type,
            }),
            csi_driver,
            predicted: true,
        }
    }

    /// Why the claim's volume is (or, once provisioned, will be) a `hostPath` volume, which
    /// Velero's file-system backup skips; `None` when it is not. The bound PersistentVolume
    /// decides when known; otherwise a local-path class predicts it.
    pub fn host_path_source(&self, pvc: &PvcFacts) -> Option<HostPathSource> {
        if let Some(volume) = pvc
            .spec
            .volume_name
            .as_deref()
            .filter(|name| !name.is_empty())
            && let Some(facts) = self.volumes.get(volume)
        {
            return facts
                .spec
                .host_path
                .is_some()
                .then(|| HostPathSource::BoundVolume(volume.to_string()));
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
}
