//! `audit --cluster`: one paginated list of every resource coverage reads, from a live cluster,
//! converted to the same facts the webhook's caches hold. Read-only: list and discovery calls
//! only. Unserved APIs are decided as the webhook's caches decide them
//! ([`crate::cache::discovery`]).

use std::fmt::Debug;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, PersistentVolume, PersistentVolumeClaim, Pod,
};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DynamicObject, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, Resource};
use policy::Inventory;
use policy::objects::PodFacts;
use policy::velero::{
    Backup, BackupStorageLocation, DataUpload, PodVolumeBackup, Schedule, VolumeSnapshotLocation,
};
use policy::workloads::{Controller, PodOwner, Workload, WorkloadKind};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::WebhookError;
use crate::cache::cluster::snapshot_class_resource;
use crate::cache::convert;
use crate::cache::discovery::{self, crd_name, is_http_404, is_http_410};
use crate::cache::reflector::Availability::{self, Builtin, Optional, Required};

const PAGE: u32 = 500;
/// How often an expired continue token may restart one resource's list.
const MAX_LIST_RESTARTS: u32 = 3;

/// A client for `context` in the kubeconfig, or the default (in-cluster, then kubeconfig).
pub async fn client(context: Option<&str>) -> Result<Client, WebhookError> {
    let config = match context {
        Some(context) => {
            let kubeconfig = Kubeconfig::read()?;
            let options = KubeConfigOptions {
                context: Some(context.to_string()),
                ..KubeConfigOptions::default()
            };
            Config::from_custom_kubeconfig(kubeconfig, &options).await?
        }
        None => Config::infer().await?,
    };
    Client::try_from(config).map_err(WebhookError::KubeClient)
}

/// Everything coverage reads, listed once, finished as manifests are: workload controllers
/// become the pods and claims they will run where their real pods do not exist yet. A cluster
/// that does not serve the CSI snapshot API simply has no VolumeSnapshotClasses; a missing
/// Velero CRD is an error that names it. The Velero Deployment `velero_deployment` and the
/// Velero namespace's ConfigMaps are read when allowed (see [`read_velero_server`]).
pub async fn load_inventory(
    client: Client,
    velero_namespace: &str,
    velero_deployment: &str,
) -> Result<Inventory, WebhookError> {
    let lister = Lister { client };
    let mut inventory = list_inventory(&lister, velero_namespace).await?;
    let (pods, owners) = list_pods(&lister).await?;
    inventory.pods = pods;
    inventory.pod_owners = owners;
    inventory.workloads = list_workloads(&lister).await?;
    read_velero_server(
        &lister.client,
        velero_namespace,
        velero_deployment,
        &mut inventory,
    )
    .await?;
    inventory.finish();
    Ok(inventory)
}

/// The Velero Deployment (its release and flags) and the Velero namespace's ConfigMaps (resource
/// policies). Neither is fatal when the caller may not read it (HTTP 403) or it is not there
/// (HTTP 404): without the Deployment the policy's `velero:` section stands in, without the
/// ConfigMaps a resource policy is not judged (as offline), and the server view says so.
async fn read_velero_server(
    client: &Client,
    velero_namespace: &str,
    velero_deployment: &str,
    inventory: &mut Inventory,
) -> Result<(), WebhookError> {
    let forbidden =
        |error: &kube::Error| matches!(error, kube::Error::Api(status) if status.code == 403);
    match Api::<Deployment>::namespaced(client.clone(), velero_namespace)
        .get_opt(velero_deployment)
        .await
    {
        Ok(deployment) => {
            inventory.velero_deployment = deployment.as_ref().map(convert::velero_deployment);
        }
        Err(error) if forbidden(&error) => {}
        Err(source) => {
            return Err(WebhookError::ClusterRead {
                resource: "deployments",
                source,
            });
        }
    }
    match list_pages(&Api::<ConfigMap>::namespaced(
        client.clone(),
        velero_namespace,
    ))
    .await
    {
        Ok(config_maps) => {
            inventory.config_maps = config_maps.iter().map(convert::config_map).collect();
            inventory.config_maps_listed = true;
        }
        Err(error) if forbidden(&error) => {}
        Err(source) => {
            return Err(WebhookError::ClusterRead {
                resource: "configmaps",
                source,
            });
        }
    }
    Ok(())
}

/// Pods with what coverage and the consistency check read (images and mount paths too), and
/// the controller of each pod that has one.
async fn list_pods(lister: &Lister) -> Result<(Vec<PodFacts>, Vec<PodOwner>), WebhookError> {
    let pods = lister
        .list(Api::<Pod>::all(lister.client.clone()), &(), "pods", Builtin)
        .await?;
    let mut facts = Vec::with_capacity(pods.len());
    let mut owners = Vec::new();
    for pod in &pods {
        let value = as_value(pod, "pods")?;
        if let Some(controller) = Controller::of(&value) {
            owners.push(PodOwner {
                namespace: pod.metadata.namespace.clone().unwrap_or_default(),
                controller,
            });
        }
        facts.push(policy::yaml::decode(value, "a pod of the cluster")?);
    }
    Ok((facts, owners))
}

/// Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs (apps/v1, batch/v1).
async fn list_workloads(lister: &Lister) -> Result<Vec<Workload>, WebhookError> {
    let client = &lister.client;
    let mut workloads = Vec::new();
    workloads.extend(
        controllers(
            lister,
            Api::<Deployment>::all(client.clone()),
            "deployments",
            WorkloadKind::Deployment,
        )
        .await?,
    );
    workloads.extend(
        controllers(
            lister,
            Api::<StatefulSet>::all(client.clone()),
            "statefulsets",
            WorkloadKind::StatefulSet,
        )
        .await?,
    );
    workloads.extend(
        controllers(
            lister,
            Api::<DaemonSet>::all(client.clone()),
            "daemonsets",
            WorkloadKind::DaemonSet,
        )
        .await?,
    );
    workloads.extend(
        controllers(
            lister,
            Api::<ReplicaSet>::all(client.clone()),
            "replicasets",
            WorkloadKind::ReplicaSet,
        )
        .await?,
    );
    workloads.extend(
        controllers(
            lister,
            Api::<Job>::all(client.clone()),
            "jobs",
            WorkloadKind::Job,
        )
        .await?,
    );
    workloads.extend(
        controllers(
            lister,
            Api::<CronJob>::all(client.clone()),
            "cronjobs",
            WorkloadKind::CronJob,
        )
        .await?,
    );
    Ok(workloads)
}

async fn controllers<K>(
    lister: &Lister,
    api: Api<K>,
    resource: &'static str,
    kind: WorkloadKind,
) -> Result<Vec<Workload>, WebhookError>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug,
{
    lister
        .list(api, &(), resource, Builtin)
        .await?
        .iter()
        .map(|object| {
            let value = as_value(object, resource)?;
            Ok(Workload::decode(
                kind,
                value,
                &format!("a {} of the cluster", kind.as_str()),
            )?)
        })
        .collect()
}

/// A listed object back as Kubernetes JSON, for the `policy` crate's decoders.
fn as_value<K: Serialize>(
    object: &K,
    resource: &'static str,
) -> Result<serde_json::Value, WebhookError> {
    serde_json::to_value(object).map_err(|source| WebhookError::Encode { resource, source })
}

async fn list_inventory(
    lister: &Lister,
    velero_namespace: &str,
) -> Result<Inventory, WebhookError> {
    let client = &lister.client;
    Ok(Inventory {
        namespaces: lister
            .list(
                Api::<Namespace>::all(client.clone()),
                &(),
                "namespaces",
                Builtin,
            )
            .await?
            .iter()
            .map(convert::namespace)
            .collect(),
        pvcs: lister
            .list(
                Api::<PersistentVolumeClaim>::all(client.clone()),
                &(),
                "persistentvolumeclaims",
                Builtin,
            )
            .await?
            .iter()
            .map(convert::pvc)
            .collect(),
        persistent_volumes: lister
            .list(
                Api::<PersistentVolume>::all(client.clone()),
                &(),
                "persistentvolumes",
                Builtin,
            )
            .await?
            .iter()
            .map(convert::persistent_volume)
            .collect(),
        storage_classes: lister
            .list(
                Api::<StorageClass>::all(client.clone()),
                &(),
                "storageclasses",
                Builtin,
            )
            .await?
            .iter()
            .map(convert::storage_class)
            .collect(),
        schedules: lister
            .list(
                Api::<Schedule>::namespaced(client.clone(), velero_namespace),
                &(),
                "schedules",
                Required,
            )
            .await?,
        snapshot_locations: lister
            .list(
                Api::<VolumeSnapshotLocation>::namespaced(client.clone(), velero_namespace),
                &(),
                "volumesnapshotlocations",
                Required,
            )
            .await?
            .iter()
            .map(convert::snapshot_location)
            .collect(),
        storage_locations: Some(
            lister
                .list(
                    Api::<BackupStorageLocation>::namespaced(client.clone(), velero_namespace),
                    &(),
                    "backupstoragelocations",
                    Required,
                )
                .await?
                .iter()
                .map(convert::storage_location)
                .collect(),
        ),
        snapshot_classes: lister
            .list(
                Api::<DynamicObject>::all_with(client.clone(), &snapshot_class_resource()),
                &snapshot_class_resource(),
                "volumesnapshotclasses",
                Optional,
            )
            .await?
            .iter()
            .map(convert::snapshot_class)
            .collect(),
        ..Inventory::default()
    })
}

/// Velero's records of what really ran, read for `--verify-backups`.
#[derive(Debug, Default)]
pub struct ClusterRecords {
    pub backups: Vec<Backup>,
    pub pod_volume_backups: Vec<PodVolumeBackup>,
    /// Empty when the cluster does not serve `velero.io/v2alpha1` DataUploads.
    pub data_uploads: Vec<DataUpload>,
}

/// The Backups, PodVolumeBackups and DataUploads of the Velero namespace (read-only lists).
/// DataUploads are optional (the data mover's API, `velero.io/v2alpha1`); a missing Backup or
/// PodVolumeBackup CRD is an error naming it.
pub async fn load_records(
    client: Client,
    velero_namespace: &str,
) -> Result<ClusterRecords, WebhookError> {
    let lister = Lister { client };
    let client = &lister.client;
    Ok(ClusterRecords {
        backups: lister
            .list(
                Api::<Backup>::namespaced(client.clone(), velero_namespace),
                &(),
                "backups",
                Required,
            )
            .await?,
        pod_volume_backups: lister
            .list(
                Api::<PodVolumeBackup>::namespaced(client.clone(), velero_namespace),
                &(),
                "podvolumebackups",
                Required,
            )
            .await?,
        data_uploads: lister
            .list(
                Api::<DataUpload>::namespaced(client.clone(), velero_namespace),
                &(),
                "datauploads",
                Optional,
            )
            .await?,
    })
}

struct Lister {
    client: Client,
}

impl Lister {
    /// Every object of one resource, page by page. A 404 is settled by discovery: an unserved
    /// optional API is empty, an unserved Velero CRD is [`WebhookError::CrdMissing`]. An
    /// expired continue token (HTTP 410) restarts the list from its first page, a few times.
    async fn list<K>(
        &self,
        api: Api<K>,
        dyntype: &K::DynamicType,
        resource: &'static str,
        availability: Availability,
    ) -> Result<Vec<K>, WebhookError>
    where
        K: Resource + Clone + DeserializeOwned + Debug,
    {
        let mut restarts = 0;
        loop {
            match list_pages(&api).await {
                Ok(items) => return Ok(items),
                Err(error) if is_http_410(&error) && restarts < MAX_LIST_RESTARTS => {
                    restarts += 1;
                }
                Err(error) if is_http_404(&error) && availability != Builtin => {
                    let api_version = K::api_version(dyntype);
                    let plural = K::plural(dyntype);
                    return match discovery::is_served(&self.client, &api_version, &plural).await {
                        Ok(false) if availability == Optional => Ok(Vec::new()),
                        Ok(false) => Err(WebhookError::CrdMissing {
                            crd: crd_name(&api_version, &plural),
                        }),
                        Ok(true) | Err(_) => Err(WebhookError::ClusterRead {
                            resource,
                            source: error,
                        }),
                    };
                }
                Err(error) => {
                    return Err(WebhookError::ClusterRead {
                        resource,
                        source: error,
                    });
                }
            }
        }
    }
}

async fn list_pages<K>(api: &Api<K>) -> Result<Vec<K>, kube::Error>
where
    K: Clone + DeserializeOwned + Debug,
{
    let mut items = Vec::new();
    let mut params = ListParams::default().limit(PAGE);
    loop {
        let page = api.list(&params).await?;
        items.extend(page.items);
        match page.metadata.continue_.filter(|token| !token.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(items),
        }
    }
}
