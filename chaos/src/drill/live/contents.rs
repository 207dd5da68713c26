//! Both sides of the comparison, asked of the cluster.
//!
//! What the backup holds comes from Velero itself, as `velero backup describe --details`
//! learns it (`pkg/cmd/util/output/backup_describer.go`, `describeBackupResourceList` and
//! `describePodVolumeBackups`): a `DownloadRequest` for the `BackupResourceList` target,
//! which Velero's `pkg/controller/download_request_controller.go` answers by setting
//! `status.phase: Processed` and a pre-signed `status.downloadURL` to the gzip-compressed JSON
//! in the backup store; and the `PodVolumeBackup`s labelled `velero.io/backup-name`. What was
//! restored is listed in the restore namespace, with the `PodVolumeRestore`s labelled
//! `velero.io/restore-name`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::time::Duration;

use ::kube::api::{
    ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, PostParams,
};
use ::kube::{Api, Client, ResourceExt};
use flate2::read::GzDecoder;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use serde_json::{Value, json};

use super::super::compare::{self, BackupContents, RestoredContents};
use super::super::restore::{DRILL_LABEL, VELERO_NAMESPACE};
use super::api_error;
use crate::error::Error;
use crate::kube::wait::{self, Target};

/// Velero's labels on pod volume backups and restores (`velero.io/backup-name`,
/// `velero.io/restore-name` in `pkg/apis/velero/v1/labels_annotations.go`).
pub const BACKUP_NAME_LABEL: &str = "velero.io/backup-name";
pub const RESTORE_NAME_LABEL: &str = "velero.io/restore-name";

/// The largest resource list the drill reads (decompressed).
const RESOURCE_LIST_LIMIT: u64 = 64 * 1024 * 1024;

fn velero_resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("velero.io", "v1", kind), plural)
}

/// The DownloadRequest a drill creates for a backup's resource list.
pub fn download_request(name: &str, backup: &str, restore_namespace: &str) -> Value {
    json!({
        "apiVersion": "velero.io/v1",
        "kind": "DownloadRequest",
        "metadata": {
            "name": name,
            "namespace": VELERO_NAMESPACE,
            "labels": {
                DRILL_LABEL: restore_namespace,
                "app.kubernetes.io/managed-by": "backstop-chaos",
            },
        },
        "spec": { "target": { "kind": "BackupResourceList", "name": backup } },
    })
}

/// What the backup holds of `namespace`: the resource list through a DownloadRequest named
/// `request_name` (deleted afterwards), the Completed pod volume backups, and the sizes the
/// source claims request now (see [`BackupContents::pvcs`]).
pub async fn of_backup(
    client: &Client,
    backup: &str,
    namespace: &str,
    request_name: &str,
    restore_namespace: &str,
    timeout: Duration,
) -> Result<BackupContents, Error> {
    let resource_list =
        resource_list(client, backup, request_name, restore_namespace, timeout).await?;
    let items = compare::namespace_items(&resource_list, namespace);

    let pvbs: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        VELERO_NAMESPACE,
        &velero_resource("PodVolumeBackup", "podvolumebackups"),
    );
    let selector = format!("{BACKUP_NAME_LABEL}={backup}");
    let pod_volume_backups = pvbs
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| api_error(format!("list PodVolumeBackups labelled {selector}"), e))?
        .items
        .iter()
        .filter(|p| p.data["spec"]["pod"]["namespace"].as_str() == Some(namespace))
        .filter(|p| p.data["status"]["phase"].as_str() == Some("Completed"))
        .filter_map(pod_volume)
        .collect();

    let backed_up_claims = items
        .get("v1/PersistentVolumeClaim")
        .cloned()
        .unwrap_or_default();
    let pvcs = claim_sizes(client, namespace)
        .await?
        .into_iter()
        .filter(|(name, _)| backed_up_claims.contains(name))
        .collect();
    Ok(BackupContents {
        items,
        pvcs,
        pod_volume_backups,
    })
}

/// What the restore namespace holds of the `resources` the backup has, and the pod volume
/// restores of `restore`.
pub async fn of_restore(
    client: &Client,
    restore_namespace: &str,
    restore: &str,
    resources: impl Iterator<Item = &String>,
) -> Result<RestoredContents, Error> {
    let mut items = BTreeMap::new();
    let mut unlisted = BTreeMap::new();
    for resource in resources {
        let Some(gvk) = parse_resource(resource) else {
            continue;
        };
        let api: Api<DynamicObject> = Api::namespaced_with(
            client.clone(),
            restore_namespace,
            &ApiResource::from_gvk(&gvk),
        );
        let names: BTreeSet<String> = match api.list(&ListParams::default()).await {
            Ok(list) => list.items.iter().map(ResourceExt::name_any).collect(),
            // Not served here (capture 01): nothing of it can have been restored.
            Err(::kube::Error::Api(status)) if status.code == 404 => BTreeSet::new(),
            // Capture 16: RBAC's 403 names what may not be listed.
            Err(::kube::Error::Api(status)) if status.code == 403 => {
                unlisted.insert(resource.clone(), format!("forbidden: {}", status.message));
                continue;
            }
            Err(e) => {
                return Err(api_error(
                    format!("list {resource} in {restore_namespace}"),
                    e,
                ));
            }
        };
        items.insert(resource.clone(), names);
    }
    let pvrs: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        VELERO_NAMESPACE,
        &velero_resource("PodVolumeRestore", "podvolumerestores"),
    );
    let selector = format!("{RESTORE_NAME_LABEL}={restore}");
    let pod_volume_restores = pvrs
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| api_error(format!("list PodVolumeRestores labelled {selector}"), e))?
        .items
        .iter()
        .filter_map(|p| {
            let phase = p.data["status"]["phase"].as_str().unwrap_or("(none)");
            Some((pod_volume(p)?, phase.to_owned()))
        })
        .collect();
    Ok(RestoredContents {
        items,
        pvcs: claim_sizes(client, restore_namespace).await?,
        pod_volume_restores,
        unlisted,
    })
}

/// `pod/volume` of a PodVolumeBackup or PodVolumeRestore (`spec.pod.name`, `spec.volume`).
fn pod_volume(object: &DynamicObject) -> Option<String> {
    let spec = &object.data["spec"];
    Some(format!(
        "{}/{}",
        spec["pod"]["name"].as_str()?,
        spec["volume"].as_str()?
    ))
}

/// `apps/v1/Deployment` or `v1/Pod` as a group, version and kind.
fn parse_resource(resource: &str) -> Option<GroupVersionKind> {
    let parts: Vec<&str> = resource.split('/').collect();
    match parts.as_slice() {
        [version, kind] => Some(GroupVersionKind::gvk("", version, kind)),
        [group, version, kind] => Some(GroupVersionKind::gvk(group, version, kind)),
        _ => None,
    }
}

/// Claim name → requested storage of every claim in `namespace`.
async fn claim_sizes(client: &Client, namespace: &str) -> Result<BTreeMap<String, String>, Error> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(|e| api_error(format!("list PersistentVolumeClaims in {namespace}"), e))?;
    Ok(list
        .items
        .iter()
        .map(|c| {
            let size = c
                .spec
                .as_ref()
                .and_then(|s| s.resources.as_ref())
                .and_then(|r| r.requests.as_ref())
                .and_then(|r| r.get("storage"))
                .map_or_else(|| "(none)".to_owned(), |q| q.0.clone());
            (c.name_any(), size)
        })
        .collect())
}

/// Creates the DownloadRequest, waits for Velero to process it, fetches and decompresses the
/// list, and deletes the request (Velero would also delete it once expired).
async fn resource_list(
    client: &Client,
    backup: &str,
    name: &str,
    restore_namespace: &str,
    timeout: Duration,
) -> Result<BTreeMap<String, Vec<String>>, Error> {
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        VELERO_NAMESPACE,
        &velero_resource("DownloadRequest", "downloadrequests"),
    );
    let request: DynamicObject =
        serde_json::from_value(download_request(name, backup, restore_namespace))
            .map_err(|e| Error::Unavailable(format!("DownloadRequest {name}: {e}")))?;
    api.create(&PostParams::default(), &request)
        .await
        .map_err(|e| {
            api_error(
                format!("create DownloadRequest {VELERO_NAMESPACE}/{name}"),
                e,
            )
        })?;
    let url = wait::until(
        &api,
        Target {
            name,
            what: format!(
                "DownloadRequest {VELERO_NAMESPACE}/{name} (backup {backup}'s resource list) \
                 to be Processed by Velero"
            ),
            timeout,
        },
        |r| {
            let status = &r?.data["status"];
            let url = status["downloadURL"].as_str().filter(|u| !u.is_empty())?;
            (status["phase"].as_str() == Some("Processed")).then(|| url.to_owned())
        },
        |r| match r {
            None => format!("no DownloadRequest {name}"),
            Some(r) => format!(
                "phase {}",
                r.data["status"]["phase"]
                    .as_str()
                    .unwrap_or("(no status yet)")
            ),
        },
    )
    .await;
    let fetched = match url {
        Ok(url) => fetch(&url, backup, timeout).await,
        Err(e) => Err(e),
    };
    if let Err(e) = api.delete(name, &DeleteParams::background()).await {
        tracing::warn!("could not delete DownloadRequest {VELERO_NAMESPACE}/{name}: {e}");
    }
    fetched
}

/// GETs the pre-signed URL (http or https, the system's trust roots) and decodes the gzip
/// JSON. A 404 is Velero's "backup resource list not found" (a backup older than v1.1, or
/// the file deleted from the store).
async fn fetch(
    url: &str,
    backup: &str,
    timeout: Duration,
) -> Result<BTreeMap<String, Vec<String>>, Error> {
    let failed = |why: String| {
        Error::Unavailable(format!(
            "backup {backup}'s resource list could not be read: {why}"
        ))
    };
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| failed(format!("no TLS trust roots: {e}")))?
        .https_or_http()
        .enable_http1()
        .build();
    let http: HttpClient<_, Empty<Bytes>> =
        HttpClient::builder(TokioExecutor::new()).build(connector);
    let uri: http::Uri = url
        .parse()
        .map_err(|e| failed(format!("the download URL is not a URL: {e}")))?;
    let asked = async {
        let response = http.get(uri).await.map_err(|e| failed(e.to_string()))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| failed(e.to_string()))?
            .to_bytes();
        if status == http::StatusCode::NOT_FOUND {
            return Err(failed(
                "the backup store has no resource list for it (404)".to_owned(),
            ));
        }
        if !status.is_success() {
            return Err(failed(format!(
                "the backup store answered {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            )));
        }
        Ok(body)
    };
    let body = tokio::time::timeout(timeout, asked).await.map_err(|_| {
        failed(format!(
            "no answer from the backup store within {timeout:?}"
        ))
    })??;
    let mut json = Vec::new();
    GzDecoder::new(&body[..])
        .take(RESOURCE_LIST_LIMIT)
        .read_to_end(&mut json)
        .map_err(|e| failed(format!("not gzip: {e}")))?;
    serde_json::from_slice(&json).map_err(|e| failed(format!("not a resource list: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request equals `fixtures/chaos/drill/downloadrequests/backup-resource-list.yaml`,
    /// which CI validates strictly against Velero's DownloadRequest CRD schema.
    #[test]
    fn the_download_request_is_the_schema_validated_fixture() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/chaos/drill/downloadrequests/backup-resource-list.yaml"
        );
        let fixture: Value =
            serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let ns2 = "data-platform-drill-20261203-143000";
        assert_eq!(
            download_request(
                &format!("drill-{ns2}-resource-list"),
                "daily-20261202020000",
                ns2
            ),
            fixture
        );
    }

    #[test]
    fn resources_of_the_core_group_have_no_group() {
        assert_eq!(
            parse_resource("v1/Pod"),
            Some(GroupVersionKind::gvk("", "v1", "Pod"))
        );
        assert_eq!(
            parse_resource("apps/v1/StatefulSet"),
            Some(GroupVersionKind::gvk("apps", "v1", "StatefulSet"))
        );
        assert_eq!(parse_resource("nonsense"), None);
    }
}
