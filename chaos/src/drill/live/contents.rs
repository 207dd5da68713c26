//! Both sides of the comparison, asked of the cluster.
//!
//! What the backup holds comes from Velero itself, as `velero backup describe --details`
//! learns it (`pkg/cmd/util/output/backup_describer.go`, `describeBackupResourceList` and
//! `describePodVolumeBackups`): a `DownloadRequest` for the `BackupResourceList` target,
//! which Velero's `pkg/controller/download_request_controller.go` answers by setting
//! `status.phase: Processed` and a pre-signed `status.downloadURL` to the gzip-compressed JSON
//! in the backup store; and the `PodVolumeBackup`s labelled `velero.io/backup-name`. What was
//! restored is listed in the restore namespace, with the `PodVolumeRestore`s labelled
//! `velero.io/restore-name`, beside Velero's own record of the restore, as `velero restore
//! describe --details` reads it (`pkg/cmd/util/output/restore_describer.go`): the
//! `RestoreResourceList` (every item it restored and what it did with it) and the
//! `RestoreResults` (its warning and error messages), downloaded the same way.

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
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::super::compare::{self, BackupContents, RestoredContents, VeleroRecord};
use super::super::restore::{self as drill_restore, DRILL_LABEL, Messages, VELERO_NAMESPACE};
use super::api_error;
use crate::error::Error;
use crate::kube::wait::{self, Target};

/// Velero's labels on pod volume backups and restores (`velero.io/backup-name`,
/// `velero.io/restore-name` in `pkg/apis/velero/v1/labels_annotations.go`).
pub const BACKUP_NAME_LABEL: &str = "velero.io/backup-name";
pub const RESTORE_NAME_LABEL: &str = "velero.io/restore-name";

/// The largest download the drill reads (decompressed).
const DOWNLOAD_LIMIT: u64 = 64 * 1024 * 1024;

fn velero_resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("velero.io", "v1", kind), plural)
}

/// What a drill downloads from the backup store through Velero (Velero's
/// `DownloadTargetKind`s in `pkg/apis/velero/v1/download_request_types.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Download {
    /// `backups/<backup>/<backup>-resource-list.json.gz`: `group/version/Kind` → `namespace/name`.
    BackupResourceList,
    /// `restores/<restore>/restore-<restore>-resource-list.json.gz`: `group/version/Kind` →
    /// `namespace/name(action)` (Velero ≥ 1.11).
    RestoreResourceList,
    /// `restores/<restore>/restore-<restore>-results.gz`: the warnings and errors.
    RestoreResults,
}

impl Download {
    /// The target kind, as Velero names it.
    pub fn kind(self) -> &'static str {
        match self {
            Self::BackupResourceList => "BackupResourceList",
            Self::RestoreResourceList => "RestoreResourceList",
            Self::RestoreResults => "RestoreResults",
        }
    }

    /// The DownloadRequest's name for the drill's Restore `restore`.
    pub fn request_name(self, restore: &str) -> String {
        let suffix = match self {
            Self::BackupResourceList => "resource-list",
            Self::RestoreResourceList => "restore-resource-list",
            Self::RestoreResults => "restore-results",
        };
        format!("{restore}-{suffix}")
    }

    /// What it is, for errors and the timeout message.
    fn what(self, target: &str) -> String {
        match self {
            Self::BackupResourceList => format!("backup {target}'s resource list"),
            Self::RestoreResourceList => format!("restore {target}'s resource list"),
            Self::RestoreResults => format!("restore {target}'s results"),
        }
    }
}

/// The DownloadRequest a drill creates for `download` of `target` (a backup or restore name).
pub fn download_request(
    name: &str,
    download: Download,
    target: &str,
    restore_namespace: &str,
) -> Value {
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
        "spec": { "target": { "kind": download.kind(), "name": target } },
    })
}

/// What the backup holds of `namespace`: the resource list through a DownloadRequest named for
/// `restore` (deleted afterwards), the Completed pod volume backups, and the sizes the source
/// claims request now (see [`BackupContents::pvcs`]).
pub async fn of_backup(
    client: &Client,
    backup: &str,
    namespace: &str,
    restore: &str,
    restore_namespace: &str,
    timeout: Duration,
) -> Result<BackupContents, Error> {
    let resource_list: BTreeMap<String, Vec<String>> = download(
        client,
        Download::BackupResourceList,
        backup,
        restore,
        restore_namespace,
        timeout,
    )
    .await?;
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

/// Velero's record of what `restore` did in `restore_namespace` (its `RestoreResourceList`).
pub async fn velero_record(
    client: &Client,
    restore: &str,
    restore_namespace: &str,
    timeout: Duration,
) -> Result<VeleroRecord, Error> {
    let list: BTreeMap<String, Vec<String>> = download(
        client,
        Download::RestoreResourceList,
        restore,
        restore,
        restore_namespace,
        timeout,
    )
    .await?;
    Ok(compare::velero_record(&list, restore_namespace))
}

/// The warning and error messages of `restore` (its `RestoreResults`).
pub async fn restore_messages(
    client: &Client,
    restore: &str,
    restore_namespace: &str,
    timeout: Duration,
) -> Result<Messages, Error> {
    let results: BTreeMap<String, drill_restore::VeleroResult> = download(
        client,
        Download::RestoreResults,
        restore,
        restore,
        restore_namespace,
        timeout,
    )
    .await?;
    Ok(drill_restore::messages(&results))
}

/// What the restore namespace holds of the `resources` the backup has, the pod volume
/// restores of `restore`, and Velero's record of it.
pub async fn of_restore(
    client: &Client,
    restore_namespace: &str,
    restore: &str,
    resources: impl Iterator<Item = &String>,
    velero: VeleroRecord,
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
        velero,
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

/// Creates the DownloadRequest for `download` of `target` (named for the drill's Restore
/// `restore`), waits for Velero to process it, fetches and decompresses the JSON, and deletes
/// the request (Velero would also delete it once expired).
async fn download<T: DeserializeOwned>(
    client: &Client,
    download: Download,
    target: &str,
    restore: &str,
    restore_namespace: &str,
    timeout: Duration,
) -> Result<T, Error> {
    let name = &download.request_name(restore);
    let what = download.what(target);
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        VELERO_NAMESPACE,
        &velero_resource("DownloadRequest", "downloadrequests"),
    );
    let request: DynamicObject =
        serde_json::from_value(download_request(name, download, target, restore_namespace))
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
                "DownloadRequest {VELERO_NAMESPACE}/{name} ({what}) to be Processed by Velero"
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
        Ok(url) => fetch(&url, &what, timeout).await,
        Err(e) => Err(e),
    };
    if let Err(e) = api.delete(name, &DeleteParams::background()).await {
        tracing::warn!("could not delete DownloadRequest {VELERO_NAMESPACE}/{name}: {e}");
    }
    fetched
}

/// GETs the pre-signed URL (http or https, the system's trust roots) and decodes the gzip
/// JSON. A 404 is a file the store does not have (a backup resource list older than Velero
/// v1.1, a restore resource list older than v1.11, or the file deleted from the store).
async fn fetch<T: DeserializeOwned>(url: &str, what: &str, timeout: Duration) -> Result<T, Error> {
    let failed = |why: String| Error::Unavailable(format!("{what} could not be read: {why}"));
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
            return Err(failed("the backup store does not have it (404)".to_owned()));
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
        .take(DOWNLOAD_LIMIT)
        .read_to_end(&mut json)
        .map_err(|e| failed(format!("not gzip: {e}")))?;
    serde_json::from_slice(&json).map_err(|e| failed(format!("not what Velero writes: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each request equals its file in `fixtures/chaos/drill/downloadrequests/`, which CI
    /// validates strictly against Velero's DownloadRequest CRD schema.
    #[test]
    fn the_download_requests_are_the_schema_validated_fixtures() {
        let ns2 = "data-platform-drill-20261203-143000";
        let restore = format!("drill-{ns2}");
        for (download, target, file) in [
            (
                Download::BackupResourceList,
                "daily-20261202020000",
                "backup-resource-list",
            ),
            (
                Download::RestoreResourceList,
                restore.as_str(),
                "restore-resource-list",
            ),
            (
                Download::RestoreResults,
                restore.as_str(),
                "restore-results",
            ),
        ] {
            let path = format!(
                "{}/../fixtures/chaos/drill/downloadrequests/{file}.yaml",
                env!("CARGO_MANIFEST_DIR")
            );
            let fixture: Value =
                serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            assert_eq!(
                download_request(&download.request_name(&restore), download, target, ns2),
                fixture,
                "{file}"
            );
        }
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
