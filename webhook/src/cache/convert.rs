//! From kube-rs/k8s-openapi objects to the few facts coverage reads, and the trimming that keeps
//! the reflector stores small (no `managedFields`, no last-applied copy, no container specs).

use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, Pod, PodSpec, PodStatus};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::core::DynamicObject;
use policy::objects::{
    ClaimRef, Meta, NamespaceFacts, PodFacts, PodSpecFacts, PodStatusFacts, PodVolumeFacts,
    PvcFacts, PvcSpecFacts, SnapshotLocationFacts, StorageClassFacts, VolumeSnapshotClassFacts,
};
use policy::velero::VolumeSnapshotLocation;
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

/// Keeps only a pod's volumes and phase: containers, env and status details are most of a pod.
pub fn trim_pod(pod: &mut Pod) {
    trim_meta(&mut pod.metadata);
    pod.spec = pod.spec.take().map(|spec| PodSpec {
        volumes: spec.volumes.map(|volumes| {
            volumes
                .into_iter()
                .filter(|volume| volume.persistent_volume_claim.is_some())
                .collect()
        }),
        ..PodSpec::default()
    });
    pod.status = pod.status.take().map(|status| PodStatus {
        phase: status.phase,
        ..PodStatus::default()
    });
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
    PodFacts {
        metadata: meta(&pod.metadata),
        spec: PodSpecFacts { volumes },
        status: PodStatusFacts {
            phase: pod.status.as_ref().and_then(|status| status.phase.clone()),
        },
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

pub fn snapshot_location(location: &VolumeSnapshotLocation) -> SnapshotLocationFacts {
    SnapshotLocationFacts {
        metadata: meta(&location.metadata),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_keeps_claim_volumes_phase_and_annotations() {
        let mut pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "db-0", "namespace": "data",
                "annotations": {"backup.velero.io/backup-volumes": "data", LAST_APPLIED: "{}"},
                "managedFields": [{"manager": "kubectl"}]},
            "spec": {"containers": [{"name": "db", "image": "postgres"}],
                     "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "pg"}},
                                 {"name": "tmp", "emptyDir": {}}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1"}
        }))
        .unwrap();
        trim_pod(&mut pod);
        assert!(pod.metadata.managed_fields.is_none());
        assert!(pod.spec.as_ref().unwrap().containers.is_empty());
        let facts = super::pod(&pod);
        assert_eq!(facts.volumes_for_claim("pg").collect::<Vec<_>>(), ["data"]);
        assert_eq!(facts.spec.volumes.len(), 1);
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
