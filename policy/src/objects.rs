//! The facts coverage needs about cluster objects, decoded straight from Kubernetes JSON/YAML.
//!
//! Decoding only these fields (and skipping `managedFields`, `spec` details, `status` noise)
//! keeps both the webhook's request path and a 100k-object audit cheap.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// The metadata fields coverage reads.
#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub annotations: BTreeMap<String, String>,
}

impl Meta {
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_string(),
            ..Self::default()
        }
    }

    pub fn namespaced(namespace: &str, name: &str) -> Self {
        Self {
            name: name.to_string(),
            namespace: Some(namespace.to_string()),
            ..Self::default()
        }
    }

    pub fn with_labels<'a>(mut self, labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        self.labels.extend(
            labels
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        self
    }

    pub fn namespace_or_default(&self) -> &str {
        self.namespace.as_deref().unwrap_or("default")
    }
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct NamespaceFacts {
    #[serde(default)]
    pub metadata: Meta,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct PvcFacts {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default, deserialize_with = "null_as_default")]
    pub spec: PvcSpecFacts,
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: PvcStatusFacts,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct PvcStatusFacts {
    /// `Pending`, `Bound` or `Lost`; absent in a manifest.
    #[serde(default)]
    pub phase: Option<String>,
}

impl PvcFacts {
    /// Velero snapshots only a claim bound to a volume (`pkg/util/kube/pvc_pv.go`,
    /// `GetPVForPVC`: `spec.volumeName` set and phase `Bound`). A claim from a manifest has no
    /// status yet: it is taken to be what it asks for, a claim that will be bound.
    pub fn is_bound(&self) -> bool {
        match self.status.phase.as_deref() {
            None => true,
            Some(phase) => {
                phase == "Bound"
                    && self
                        .spec
                        .volume_name
                        .as_deref()
                        .is_some_and(|v| !v.is_empty())
            }
        }
    }
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PvcSpecFacts {
    #[serde(default)]
    pub storage_class_name: Option<String>,
    #[serde(default)]
    pub volume_name: Option<String>,
    /// `Filesystem` (the default when absent) or `Block`.
    #[serde(default)]
    pub volume_mode: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub access_modes: Vec<String>,
    /// `resources.requests.storage`, as written (`10Gi`): a volume policy's `capacity` condition
    /// reads it when the bound PersistentVolume is not known.
    #[serde(default, deserialize_with = "null_as_default")]
    pub resources: PvcResourcesFacts,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct PvcResourcesFacts {
    #[serde(default, deserialize_with = "scalar_map")]
    pub requests: BTreeMap<String, String>,
}

impl PvcSpecFacts {
    /// A raw block device: Velero's file-system backup cannot read it.
    pub fn is_block(&self) -> bool {
        self.volume_mode.as_deref() == Some("Block")
    }

    /// The requested size, as written.
    pub fn storage_request(&self) -> Option<&str> {
        self.resources.requests.get("storage").map(String::as_str)
    }
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct PodFacts {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default, deserialize_with = "null_as_default")]
    pub spec: PodSpecFacts,
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: PodStatusFacts,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct PodSpecFacts {
    #[serde(default, deserialize_with = "null_as_default")]
    pub volumes: Vec<PodVolumeFacts>,
    /// The regular containers (init containers are left out on purpose: Velero's file-system
    /// backup only counts volumes a regular container mounts).
    #[serde(default, deserialize_with = "null_as_default")]
    pub containers: Vec<ContainerFacts>,
}

/// Which pod volumes one container uses, by name, and what it runs.
#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ContainerFacts {
    #[serde(default)]
    pub name: String,
    /// The image reference; empty where a cache trimmed it away.
    #[serde(default)]
    pub image: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub volume_mounts: Vec<VolumeUse>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub volume_devices: Vec<VolumeUse>,
}

/// An entry of `volumeMounts` or `volumeDevices`: the volume's name, and where it is mounted.
#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VolumeUse {
    #[serde(default)]
    pub name: String,
    /// `mountPath` (`devicePath` is not read); empty where a cache trimmed it away.
    #[serde(default)]
    pub mount_path: String,
}

impl ContainerFacts {
    /// A container that mounts each of `volumes` as a file system.
    pub fn mounting<'a>(volumes: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            volume_mounts: volumes
                .into_iter()
                .map(|name| VolumeUse {
                    name: name.to_string(),
                    mount_path: String::new(),
                })
                .collect(),
            ..Self::default()
        }
    }
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PodVolumeFacts {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub persistent_volume_claim: Option<ClaimRef>,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ClaimRef {
    #[serde(default)]
    pub claim_name: String,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct PodStatusFacts {
    #[serde(default)]
    pub phase: Option<String>,
}

impl PodFacts {
    /// File-system backup reads a volume through the running pod that mounts it. A pod from a
    /// manifest has no status yet: it is taken to be what the manifest asks for, a running pod.
    pub fn is_running(&self) -> bool {
        matches!(self.status.phase.as_deref(), None | Some("Running"))
    }

    /// Some regular container mounts the pod volume `volume` as a file system.
    pub fn mounts(&self, volume: &str) -> bool {
        self.spec.containers.iter().any(|container| {
            container
                .volume_mounts
                .iter()
                .any(|mount| mount.name == volume)
        })
    }

    /// Some regular container attaches the pod volume `volume` as a raw block device.
    pub fn attaches_as_device(&self, volume: &str) -> bool {
        self.spec.containers.iter().any(|container| {
            container
                .volume_devices
                .iter()
                .any(|device| device.name == volume)
        })
    }

    /// The pod volumes backed by the claim `claim` (usually one).
    pub fn volumes_for_claim<'a>(&'a self, claim: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.spec.volumes.iter().filter_map(move |volume| {
            volume
                .persistent_volume_claim
                .as_ref()
                .filter(|reference| reference.claim_name == claim)
                .map(|_| volume.name.as_str())
        })
    }
}

/// A PersistentVolume: whether Velero's file-system backup can reach it.
#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct PersistentVolumeFacts {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default, deserialize_with = "null_as_default")]
    pub spec: PvSpecFacts,
}

/// What coverage reads of a PersistentVolume's spec: its source (Velero's file-system backup
/// skips `hostPath`; volume policies match on the source type, a CSI driver and its attributes,
/// an NFS server and path) and its class and capacity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PvSpecFacts {
    /// A `hostPath` volume source: Velero's node agent cannot reach it (it is not under
    /// `/var/lib/kubelet/pods`), so file-system backup skips it.
    pub host_path: Option<HostPathFacts>,
    pub csi: Option<CsiSourceFacts>,
    pub nfs: Option<NfsSourceFacts>,
    /// The source's type as Velero names it (`getVolumeTypeFromPV`: `csi`, `nfs`, `hostPath`,
    /// `local`, `awsElasticBlockStore`, ...); empty when none is known.
    pub volume_type: String,
    pub storage_class_name: Option<String>,
    /// `capacity.storage`, as written.
    pub capacity: Option<String>,
}

/// The PersistentVolume sources in the order Velero's `getVolumeTypeFromPV` tests them, as
/// (field of the spec, the name Velero gives the type).
pub const PV_SOURCE_TYPES: [(&str, &str); 22] = [
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("azureDisk", "azureDisk"),
    ("azureFile", "azureFile"),
    ("cephfs", "cephfs"),
    ("cinder", "cinder"),
    ("csi", "csi"),
    ("fc", "fc"),
    ("flocker", "flocker"),
    ("flexVolume", "flexVolume"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("glusterfs", "glusterfs"),
    ("hostPath", "hostPath"),
    ("iscsi", "iscsi"),
    ("local", "local"),
    ("nfs", "nfs"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("quobyte", "quobyte"),
    ("rbd", "rbd"),
    ("scaleIO", "scaleIO"),
    ("storageos", "storageOS"),
    ("vsphereVolume", "vsphereVolume"),
];

impl<'de> Deserialize<'de> for PvSpecFacts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            #[serde(default)]
            host_path: Option<HostPathFacts>,
            #[serde(default)]
            csi: Option<CsiSourceFacts>,
            #[serde(default)]
            nfs: Option<NfsSourceFacts>,
            #[serde(default)]
            storage_class_name: Option<String>,
            #[serde(default, deserialize_with = "scalar_map")]
            capacity: BTreeMap<String, String>,
            #[serde(flatten)]
            rest: BTreeMap<String, serde_json::Value>,
        }
        let mut raw = Raw::deserialize(deserializer)?;
        let present = |field: &str| match field {
            "hostPath" => raw.host_path.is_some(),
            "csi" => raw.csi.is_some(),
            "nfs" => raw.nfs.is_some(),
            other => raw.rest.get(other).is_some_and(|value| !value.is_null()),
        };
        let volume_type = PV_SOURCE_TYPES
            .iter()
            .find(|(field, _)| present(field))
            .map(|(_, name)| (*name).to_string())
            .unwrap_or_default();
        Ok(Self {
            volume_type,
            capacity: raw.capacity.remove("storage"),
            host_path: raw.host_path,
            csi: raw.csi,
            nfs: raw.nfs,
            storage_class_name: raw.storage_class_name,
        })
    }
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CsiSourceFacts {
    #[serde(default)]
    pub driver: String,
    #[serde(default, deserialize_with = "scalar_map")]
    pub volume_attributes: BTreeMap<String, String>,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct NfsSourceFacts {
    #[serde(default)]
    pub server: String,
    #[serde(default)]
    pub path: String,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct HostPathFacts {
    #[serde(default)]
    pub path: String,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct StorageClassFacts {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub provisioner: String,
}

/// The Velero server's Deployment: its image names the release, its arguments the server's
/// flags (`crate::server::deployment`).
#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct VeleroDeploymentFacts {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default, deserialize_with = "null_as_default")]
    pub spec: DeploymentSpecFacts,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct DeploymentSpecFacts {
    #[serde(default, deserialize_with = "null_as_default")]
    pub template: PodTemplateFacts,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct PodTemplateFacts {
    #[serde(default, deserialize_with = "null_as_default")]
    pub spec: PodTemplateSpecFacts,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct PodTemplateSpecFacts {
    #[serde(default, deserialize_with = "null_as_default")]
    pub containers: Vec<ContainerSpecFacts>,
}

/// A container's name, image, command and arguments.
#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerSpecFacts {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub image: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub command: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub args: Vec<String>,
}

/// A ConfigMap: a Velero resource policy (`resourcePolicy` of a Schedule's template) lives in one.
#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigMapFacts {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default, deserialize_with = "scalar_map")]
    pub data: BTreeMap<String, String>,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeSnapshotClassFacts {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub driver: String,
}

/// A VolumeSnapshotLocation: where it lives and, for Velero's one-location-per-provider rule,
/// its provider.
#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotLocationFacts {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default, deserialize_with = "null_as_default")]
    pub spec: SnapshotLocationSpecFacts,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotLocationSpecFacts {
    #[serde(default)]
    pub provider: String,
}

/// A BackupStorageLocation: what Velero checks before it starts a backup that writes to it.
#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct StorageLocationFacts {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default, deserialize_with = "null_as_default")]
    pub spec: StorageLocationSpecFacts,
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: StorageLocationStatusFacts,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StorageLocationSpecFacts {
    /// The location backups that name none go to.
    #[serde(default)]
    pub default: bool,
    /// `ReadWrite` (the default) or `ReadOnly`.
    #[serde(default)]
    pub access_mode: Option<String>,
}

#[derive(Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct StorageLocationStatusFacts {
    /// `Available` or `Unavailable`; absent until Velero first validates the location.
    #[serde(default)]
    pub phase: Option<String>,
}

impl StorageLocationFacts {
    pub fn is_read_only(&self) -> bool {
        self.spec.access_mode.as_deref() == Some("ReadOnly")
    }

    /// Velero's `BSLIsAvailable`: the phase is `Available`. A location without a phase (a
    /// manifest, or one Velero has not validated yet, which it does within a minute of
    /// starting) is taken to be what it asks to be, as a pod without status is taken to run.
    pub fn is_available(&self) -> bool {
        matches!(self.status.phase.as_deref(), None | Some("Available"))
    }
}

/// A map of strings, where YAML may have written a value as a number or a boolean (`storage: 10`,
/// `enabled: true`): each scalar as its text; `null` as an empty map.
pub fn scalar_map<'de, D>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw = Option::<BTreeMap<String, serde_json::Value>>::deserialize(deserializer)?;
    raw.unwrap_or_default()
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                serde_json::Value::String(text) => text,
                serde_json::Value::Number(number) => number.to_string(),
                serde_json::Value::Bool(flag) => flag.to_string(),
                serde_json::Value::Null => String::new(),
                other => {
                    return Err(serde::de::Error::custom(format!(
                        "{key}: expected a string, found {other}"
                    )));
                }
            };
            Ok((key, text))
        })
        .collect()
}

/// `null` read as the type's default (Kubernetes JSON writes `"labels": null`); for
/// `#[serde(deserialize_with = ...)]`.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pod_volumes_and_ignores_everything_else() {
        let pod: PodFacts = serde_json::from_str(
            r#"{"metadata":{"name":"db-0","namespace":"data","labels":null,
                "managedFields":[{"manager":"kubectl"}]},
               "spec":{"containers":[{"name":"db"}],
                       "volumes":[{"name":"data","persistentVolumeClaim":{"claimName":"pg-data"}},
                                  {"name":"tmp","emptyDir":{}}]},
               "status":{"phase":"Running"}}"#,
        )
        .unwrap();
        assert_eq!(pod.metadata.name, "db-0");
        assert!(pod.metadata.labels.is_empty());
        assert_eq!(
            pod.volumes_for_claim("pg-data").collect::<Vec<_>>(),
            ["data"]
        );
        assert!(pod.is_running());
    }

    #[test]
    fn treats_pending_pod_as_not_running() {
        let pod: PodFacts =
            serde_json::from_str(r#"{"metadata":{"name":"p"},"status":{"phase":"Pending"}}"#)
                .unwrap();
        assert!(!pod.is_running());
    }
}
