//! From kube-rs/k8s-openapi objects to the few facts coverage reads, and the trimming that keeps
//! the reflector stores small (no `managedFields`, no last-applied copy, only the volume names of container specs).

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, Namespace, PersistentVolume, PersistentVolumeClaim, PersistentVolumeSpec,
    Pod, PodSpec, PodStatus, VolumeDevice, VolumeMount,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::core::DynamicObject;
use policy::objects::{
    ClaimRef, ConfigMapFacts, ContainerFacts, ContainerSpecFacts, CsiSourceFacts, HostPathFacts,
    Meta, NamespaceFacts, NfsSourceFacts, PersistentVolumeFacts, PodFacts, PodSpecFacts,
    PodStatusFacts, PodVolumeFacts, PvSpecFacts, PvcFacts, PvcResourcesFacts, PvcSpecFacts,
    PvcStatusFacts, SnapshotLocationFacts, SnapshotLocationSpecFacts, StorageClassFacts,
    StorageLocationFacts, StorageLocationSpecFacts, StorageLocationStatusFacts,
    VeleroDeploymentFacts, VolumeSnapshotClassFacts, VolumeUse,
};
use policy::velero::{BackupStorageLocation, VolumeSnapshotLocation};
use serde_json::Value;

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops what no decision reads from an object's metadata.
pub fn trim_meta(meta: &mut ObjectMeta) {
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
}

/// [`trim_meta`] for any resource, as a reflector's object transform.
pub fn trim<K: Resource>(object: &mut K) {
    trim_meta(object.meta_mut());
}

/// Keeps only a pod's claim volumes, which of them its regular containers mount or attach as
/// devices (Velero's file-system backup skips a volume no regular container mounts, and block
/// devices), and its phase: images, env and status details are most of a pod.
pub fn trim_pod(pod: &mut Pod) {
    trim_meta(&mut pod.metadata);
    pod.spec = pod.spec.take().map(|spec| {
        let volumes: Vec<_> = spec
            .volumes
            .unwrap_or_default()
            .into_iter()
            .filter(|volume| volume.persistent_volume_claim.is_some())
            .collect();
        let claimed = |name: &str| volumes.iter().any(|volume| volume.name == name);
        let containers = spec
            .containers
            .into_iter()
            .map(|container| Container {
                volume_mounts: container.volume_mounts.map(|mounts| {
                    mounts
                        .into_iter()
                        .filter(|mount| claimed(&mount.name))
                        .map(|mount| VolumeMount {
                            name: mount.name,
                            ..VolumeMount::default()
                        })
                        .collect()
                }),
                volume_devices: container.volume_devices.map(|devices| {
                    devices
                        .into_iter()
                        .filter(|device| claimed(&device.name))
                        .map(|device| VolumeDevice {
                            name: device.name,
                            ..VolumeDevice::default()
                        })
                        .collect()
                }),
                ..Container::default()
            })
            .collect();
        PodSpec {
            volumes: Some(volumes),
            containers,
            ..PodSpec::default()
        }
    });
    pod.status = pod.status.take().map(|status| PodStatus {
        phase: status.phase,
        ..PodStatus::default()
    });
}

/// Keeps only what the Velero Deployment says about the server: each container's name, image,
/// command and arguments (`policy::server::deployment`).
pub fn trim_deployment(deployment: &mut Deployment) {
    trim_meta(&mut deployment.metadata);
    deployment.status = None;
    let spec = &mut deployment.spec;
    if let Some(pod) = spec.template.spec.take() {
        spec.template.metadata = None;
        spec.template.spec = Some(PodSpec {
            containers: pod
                .containers
                .into_iter()
                .map(|container| Container {
                    name: container.name,
                    image: container.image,
                    command: container.command,
                    args: container.args,
                    ..Container::default()
                })
                .collect(),
            ..PodSpec::default()
        });
    }
}

/// Keeps a ConfigMap's text data (a resource policy is one YAML value); binary data is never
/// read.
pub fn trim_config_map(config_map: &mut ConfigMap) {
    trim_meta(&mut config_map.metadata);
    config_map.binary_data = None;
}

/// Keeps a PersistentVolume's source, class and capacity: what Velero's file-system backup
/// (`hostPath`) and volume policies read. Claim references, node affinity, mount options and
/// status are dropped.
pub fn trim_persistent_volume(volume: &mut PersistentVolume) {
    trim_meta(&mut volume.metadata);
    volume.status = None;
    if let Some(spec) = volume.spec.as_mut() {
        spec.claim_ref = None;
        spec.node_affinity = None;
        spec.mount_options = None;
        spec.access_modes = None;
        spec.capacity = spec.capacity.take().map(|capacity| {
            capacity
                .into_iter()
                .filter(|(name, _)| name == "storage")
                .collect()
        });
    }
}

pub fn meta(meta: &ObjectMeta) -> Meta {
    Meta {
        name: meta.name.clone().unwrap_or_default(),
        namespace: meta.namespace.clone(),
        labels: meta.labels.clone().unwrap_or_default(),
        annotations: meta.annotations.clone().unwrap_or_default(),
    }
}

pub fn namespace(namespace: &Namespace) -> NamespaceFacts {
    NamespaceFacts {
        metadata: meta(&namespace.metadata),
    }
}

pub fn pvc(pvc: &PersistentVolumeClaim) -> PvcFacts {
    let spec = pvc.spec.as_ref();
    PvcFacts {
        metadata: meta(&pvc.metadata),
        spec: PvcSpecFacts {
            storage_class_name: spec.and_then(|spec| spec.storage_class_name.clone()),
            volume_name: spec.and_then(|spec| spec.volume_name.clone()),
            volume_mode: spec.and_then(|spec| spec.volume_mode.clone()),
            access_modes: spec
                .and_then(|spec| spec.access_modes.clone())
                .unwrap_or_default(),
            resources: PvcResourcesFacts {
                requests: spec
                    .and_then(|spec| spec.resources.as_ref())
                    .and_then(|resources| resources.requests.as_ref())
                    .and_then(|requests| requests.get("storage"))
                    .map(|storage| ("storage".to_string(), storage.0.clone()))
                    .into_iter()
                    .collect(),
            },
        },
        status: PvcStatusFacts {
            phase: pvc.status.as_ref().and_then(|status| status.phase.clone()),
        },
    }
}

pub fn pod(pod: &Pod) -> PodFacts {
    let volumes = pod
        .spec
        .as_ref()
        .and_then(|spec| spec.volumes.as_ref())
        .map(|volumes| {
            volumes
                .iter()
                .map(|volume| PodVolumeFacts {
                    name: volume.name.clone(),
                    persistent_volume_claim: volume.persistent_volume_claim.as_ref().map(|claim| {
                        ClaimRef {
                            claim_name: claim.claim_name.clone(),
                        }
                    }),
                })
                .collect()
        })
        .unwrap_or_default();
    let names = |uses: Option<Vec<String>>| {
        uses.unwrap_or_default()
            .into_iter()
            .map(|name| VolumeUse {
                name,
                ..VolumeUse::default()
            })
            .collect()
    };
    let containers =
        pod.spec
            .as_ref()
            .map(|spec| {
                spec.containers
                    .iter()
                    .map(|container| ContainerFacts {
                        volume_mounts: names(
                            container.volume_mounts.as_ref().map(|mounts| {
                                mounts.iter().map(|mount| mount.name.clone()).collect()
                            }),
                        ),
                        volume_devices: names(container.volume_devices.as_ref().map(|devices| {
                            devices.iter().map(|device| device.name.clone()).collect()
                        })),
                        ..ContainerFacts::default()
                    })
                    .collect()
            })
            .unwrap_or_default();
    PodFacts {
        metadata: meta(&pod.metadata),
        spec: PodSpecFacts {
            volumes,
            containers,
        },
        status: PodStatusFacts {
            phase: pod.status.as_ref().and_then(|status| status.phase.clone()),
        },
    }
}

/// A PersistentVolume: its source (`hostPath`, which Velero's file-system backup skips; what a
/// volume policy matches: the source type, a CSI driver and attributes, an NFS server and path),
/// class and capacity.
pub fn persistent_volume(volume: &PersistentVolume) -> PersistentVolumeFacts {
    let spec = volume.spec.as_ref();
    PersistentVolumeFacts {
        metadata: meta(&volume.metadata),
        spec: PvSpecFacts {
            host_path: spec
                .and_then(|spec| spec.host_path.as_ref())
                .map(|source| HostPathFacts {
                    path: source.path.clone(),
                }),
            csi: spec
                .and_then(|spec| spec.csi.as_ref())
                .map(|csi| CsiSourceFacts {
                    driver: csi.driver.clone(),
                    volume_attributes: csi.volume_attributes.clone().unwrap_or_default(),
                }),
            nfs: spec
                .and_then(|spec| spec.nfs.as_ref())
                .map(|nfs| NfsSourceFacts {
                    server: nfs.server.clone(),
                    path: nfs.path.clone(),
                }),
            volume_type: spec.map(volume_type).unwrap_or_default().to_string(),
            storage_class_name: spec.and_then(|spec| spec.storage_class_name.clone()),
            capacity: spec
                .and_then(|spec| spec.capacity.as_ref())
                .and_then(|capacity| capacity.get("storage"))
                .map(|storage| storage.0.clone()),
        },
    }
}

/// The source's type as Velero names it (`getVolumeTypeFromPV`, in its order).
fn volume_type(spec: &PersistentVolumeSpec) -> &'static str {
    let sources = [
        (
            spec.aws_elastic_block_store.is_some(),
            "awsElasticBlockStore",
        ),
        (spec.azure_disk.is_some(), "azureDisk"),
        (spec.azure_file.is_some(), "azureFile"),
        (spec.cephfs.is_some(), "cephfs"),
        (spec.cinder.is_some(), "cinder"),
        (spec.csi.is_some(), "csi"),
        (spec.fc.is_some(), "fc"),
        (spec.flocker.is_some(), "flocker"),
        (spec.flex_volume.is_some(), "flexVolume"),
        (spec.gce_persistent_disk.is_some(), "gcePersistentDisk"),
        (spec.glusterfs.is_some(), "glusterfs"),
        (spec.host_path.is_some(), "hostPath"),
        (spec.iscsi.is_some(), "iscsi"),
        (spec.local.is_some(), "local"),
        (spec.nfs.is_some(), "nfs"),
        (
            spec.photon_persistent_disk.is_some(),
            "photonPersistentDisk",
        ),
        (spec.portworx_volume.is_some(), "portworxVolume"),
        (spec.quobyte.is_some(), "quobyte"),
        (spec.rbd.is_some(), "rbd"),
        (spec.scale_io.is_some(), "scaleIO"),
        (spec.storageos.is_some(), "storageOS"),
        (spec.vsphere_volume.is_some(), "vsphereVolume"),
    ];
    sources
        .into_iter()
        .find(|(present, _)| *present)
        .map_or("", |(_, name)| name)
}

/// The Velero Deployment, as `policy::server::deployment` reads it.
pub fn velero_deployment(deployment: &Deployment) -> VeleroDeploymentFacts {
    let mut facts = VeleroDeploymentFacts {
        metadata: meta(&deployment.metadata),
        ..VeleroDeploymentFacts::default()
    };
    facts.spec.template.spec.containers = deployment
        .spec
        .template
        .spec
        .as_ref()
        .map(|pod| {
            pod.containers
                .iter()
                .map(|container| ContainerSpecFacts {
                    name: container.name.clone(),
                    image: container.image.clone().unwrap_or_default(),
                    command: container.command.clone().unwrap_or_default(),
                    args: container.args.clone().unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    facts
}

pub fn config_map(config_map: &ConfigMap) -> ConfigMapFacts {
    ConfigMapFacts {
        metadata: meta(&config_map.metadata),
        data: config_map.data.clone().unwrap_or_default(),
    }
}

pub fn storage_class(class: &StorageClass) -> StorageClassFacts {
    StorageClassFacts {
        metadata: meta(&class.metadata),
        provisioner: class.provisioner.clone(),
    }
}

/// A `snapshot.storage.k8s.io/v1` VolumeSnapshotClass, watched as a dynamic object.
pub fn snapshot_class(class: &DynamicObject) -> VolumeSnapshotClassFacts {
    VolumeSnapshotClassFacts {
        metadata: meta(&class.metadata),
        driver: class
            .data
            .get("driver")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    }
}

pub fn storage_location(location: &BackupStorageLocation) -> StorageLocationFacts {
    StorageLocationFacts {
        metadata: meta(&location.metadata),
        spec: StorageLocationSpecFacts {
            default: location.spec.default == Some(true),
            access_mode: location.spec.access_mode.clone(),
        },
        status: StorageLocationStatusFacts {
            phase: location
                .status
                .as_ref()
                .and_then(|status| status.phase.clone()),
        },
    }
}

pub fn snapshot_location(location: &VolumeSnapshotLocation) -> SnapshotLocationFacts {
    SnapshotLocationFacts {
        metadata: meta(&location.metadata),
        spec: SnapshotLocationSpecFacts {
            provider: location.spec.provider.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_keeps_claim_volumes_their_container_mounts_phase_and_annotations() {
        let mut pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "db-0", "namespace": "data",
                "annotations": {"backup.velero.io/backup-volumes": "data", LAST_APPLIED: "{}"},
                "managedFields": [{"manager": "kubectl"}]},
            "spec": {"containers": [{"name": "db", "image": "postgres",
                                     "volumeMounts": [{"name": "data", "mountPath": "/data"},
                                                      {"name": "tmp", "mountPath": "/tmp"}]},
                                    {"name": "raw", "image": "busybox",
                                     "volumeDevices": [{"name": "disk", "devicePath": "/dev/xvda"}]}],
                     "initContainers": [{"name": "seed", "image": "busybox",
                                         "volumeMounts": [{"name": "data", "mountPath": "/seed"}]}],
                     "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "pg"}},
                                 {"name": "disk", "persistentVolumeClaim": {"claimName": "raw"}},
                                 {"name": "tmp", "emptyDir": {}}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1"}
        }))
        .unwrap();
        trim_pod(&mut pod);
        assert!(pod.metadata.managed_fields.is_none());
        let spec = pod.spec.as_ref().unwrap();
        assert!(spec.init_containers.is_none());
        assert!(
            spec.containers
                .iter()
                .all(|container| container.image.is_none())
        );
        let facts = super::pod(&pod);
        assert_eq!(facts.volumes_for_claim("pg").collect::<Vec<_>>(), ["data"]);
        assert_eq!(facts.spec.volumes.len(), 2);
        // The claim volume's mount is kept, the emptyDir's dropped with its volume.
        assert!(facts.mounts("data") && !facts.mounts("tmp"));
        assert!(facts.attaches_as_device("disk") && !facts.mounts("disk"));
        assert!(facts.is_running());
        assert_eq!(
            facts.metadata.annotations.keys().collect::<Vec<_>>(),
            ["backup.velero.io/backup-volumes"]
        );
    }

    #[test]
    fn snapshot_class_reads_the_driver() {
        let class: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
            "metadata": {"name": "csi", "labels": {"velero.io/csi-volumesnapshot-class": "true"}},
            "driver": "ebs.csi.aws.com", "deletionPolicy": "Delete"
        }))
        .unwrap();
        let facts = snapshot_class(&class);
        assert_eq!(facts.driver, "ebs.csi.aws.com");
        assert_eq!(facts.metadata.labels.len(), 1);
    }
}
