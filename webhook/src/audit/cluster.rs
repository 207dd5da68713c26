//! `audit --cluster`: one paginated list of every resource coverage reads, from a live cluster,
//! converted to the same facts the webhook's caches hold. Read-only: list calls only.

use std::fmt::Debug;

use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DynamicObject, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use policy::Inventory;
use policy::velero::{Schedule, VolumeSnapshotLocation};
use serde::de::DeserializeOwned;

use crate::WebhookError;
use crate::cache::cluster::snapshot_class_resource;
use crate::cache::convert;

const PAGE: u32 = 500;

/// A client for `context` in the kubeconfig, or the default (in-cluster, then kubeconfig).
pub async fn client(context: Option<&str>) -> Result<Client, WebhookError> {
    let config = match context {
        Some(context) => {
            let kubeconfig =
                Kubeconfig::read().map_err(|error| WebhookError::KubeConfig(error.to_string()))?;
            let options = KubeConfigOptions {
                context: Some(context.to_string()),
                ..KubeConfigOptions::default()
            };
            Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|error| WebhookError::KubeConfig(error.to_string()))?
        }
        None => Config::infer()
            .await
            .map_err(|error| WebhookError::KubeConfig(error.to_string()))?,
    };
    Client::try_from(config).map_err(|error| WebhookError::KubeConfig(error.to_string()))
}

/// Everything coverage reads, listed once. A cluster without the CSI snapshot CRDs simply has
/// no VolumeSnapshotClasses.
pub async fn load_inventory(
    client: Client,
    velero_namespace: &str,
) -> Result<Inventory, WebhookError> {
    Ok(Inventory {
        namespaces: list_all(Api::<Namespace>::all(client.clone()), "namespaces")
            .await?
            .iter()
            .map(convert::namespace)
            .collect(),
        pvcs: list_all(
            Api::<PersistentVolumeClaim>::all(client.clone()),
            "persistentvolumeclaims",
        )
        .await?
        .iter()
        .map(convert::pvc)
        .collect(),
        pods: list_all(Api::<Pod>::all(client.clone()), "pods")
            .await?
            .iter()
            .map(convert::pod)
            .collect(),
        storage_classes: list_all(Api::<StorageClass>::all(client.clone()), "storageclasses")
            .await?
            .iter()
            .map(convert::storage_class)
            .collect(),
        schedules: list_all(
            Api::<Schedule>::namespaced(client.clone(), velero_namespace),
            "schedules",
        )
        .await?,
        snapshot_locations: list_all(
            Api::<VolumeSnapshotLocation>::namespaced(client.clone(), velero_namespace),
            "volumesnapshotlocations",
        )
        .await?
        .iter()
        .map(convert::snapshot_location)
        .collect(),
        snapshot_classes: snapshot_classes(client).await?,
    })
}

/// VolumeSnapshotClasses, or none on a cluster without the CSI snapshot CRDs.
async fn snapshot_classes(
    client: Client,
) -> Result<Vec<policy::objects::VolumeSnapshotClassFacts>, WebhookError> {
    let api = Api::<DynamicObject>::all_with(client, &snapshot_class_resource());
    match list_all(api, "volumesnapshotclasses").await {
        Ok(classes) => Ok(classes.iter().map(convert::snapshot_class).collect()),
        Err(WebhookError::ClusterRead {
            not_found: true, ..
        }) => Ok(Vec::new()),
        Err(error) => Err(error),
    }
}

async fn list_all<K>(api: Api<K>, resource: &'static str) -> Result<Vec<K>, WebhookError>
where
    K: Clone + DeserializeOwned + Debug,
{
    let mut items = Vec::new();
    let mut params = ListParams::default().limit(PAGE);
    loop {
        let page = api
            .list(&params)
            .await
            .map_err(|error| WebhookError::ClusterRead {
                resource,
                not_found: matches!(&error, kube::Error::Api(status) if status.code == 404),
                message: error.to_string(),
            })?;
        items.extend(page.items);
        match page.metadata.continue_.filter(|token| !token.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(items),
        }
    }
}
