//! Files Velero keeps in the backup store, fetched as `velero restore describe` fetches them
//! (`pkg/cmd/util/downloadrequest/downloadrequest.go`, `Stream`): a `DownloadRequest` for the
//! target, which Velero's `pkg/controller/download_request_controller.go` answers with
//! `status.phase: Processed` and a pre-signed `status.downloadURL`; the file there is gzip
//! (every target but `BackupContents`). On a kind run the URL is signed for the store's
//! address on the harness's side (the location's `publicUrl`).
//!
//! What the run reads this way: a Restore's results (its warnings and errors, in words).

use std::collections::BTreeMap;
use std::io::Read;
use std::time::Duration;

use ::kube::api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind};
use ::kube::{Api, Client};
use flate2::read::GzDecoder;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use serde_json::{Value, json};

use super::restore::VELERO_NAMESPACE;
use crate::error::Error;
use crate::kube::namespace::RUN_LABEL;
use crate::kube::strict;
use crate::kube::wait::{self, Target};

/// The largest file the run reads (decompressed).
const LIMIT: u64 = 16 * 1024 * 1024;

/// `velero.io/v1` DownloadRequest as an API resource.
pub fn resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("velero.io", "v1", "DownloadRequest"),
        "downloadrequests",
    )
}

/// The DownloadRequest `name` for `target` (`RestoreResults`, ...) of `of`, labelled for the run.
pub fn request(name: &str, target: &str, of: &str, run_id: &str) -> Value {
    json!({
        "apiVersion": "velero.io/v1",
        "kind": "DownloadRequest",
        "metadata": {
            "name": name,
            "namespace": VELERO_NAMESPACE,
            "labels": { RUN_LABEL: run_id },
        },
        "spec": { "target": { "kind": target, "name": of } },
    })
}

/// Creates the request (strictly), waits until Velero processed it, fetches and decompresses
/// the file, and deletes the request (Velero would once it expires).
pub async fn fetch(
    client: &Client,
    request_name: &str,
    target: &str,
    of: &str,
    run_id: &str,
    timeout: Duration,
) -> Result<Vec<u8>, Error> {
    let resource = resource();
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), VELERO_NAMESPACE, &resource);
    let object: DynamicObject =
        serde_json::from_value(request(request_name, target, of, run_id))
            .map_err(|e| Error::Unavailable(format!("DownloadRequest {request_name}: {e}")))?;
    strict::create_dynamic(
        client,
        VELERO_NAMESPACE,
        &resource,
        &object,
        format!("create DownloadRequest {VELERO_NAMESPACE}/{request_name} for {target} of {of}"),
    )
    .await?;
    let url = wait::until(
        &api,
        Target {
            name: request_name,
            what: format!(
                "DownloadRequest {VELERO_NAMESPACE}/{request_name} ({target} of {of}) to be \
                 Processed by Velero"
            ),
            timeout,
        },
        |r| {
            let status = &r?.data["status"];
            let url = status["downloadURL"].as_str().filter(|u| !u.is_empty())?;
            (status["phase"].as_str() == Some("Processed")).then(|| url.to_owned())
        },
        |r| match r {
            None => format!("no DownloadRequest {request_name}"),
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
        Ok(url) => get_gzip(&url, &format!("{target} of {of}"), timeout).await,
        Err(e) => Err(e),
    };
    if let Err(e) = api.delete(request_name, &DeleteParams::background()).await {
        tracing::warn!("could not delete DownloadRequest {VELERO_NAMESPACE}/{request_name}: {e}");
    }
    fetched
}

/// GETs a pre-signed URL and gunzips the answer.
async fn get_gzip(url: &str, what: &str, timeout: Duration) -> Result<Vec<u8>, Error> {
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
    let mut out = Vec::new();
    GzDecoder::new(&body[..])
        .take(LIMIT)
        .read_to_end(&mut out)
        .map_err(|e| failed(format!("not gzip: {e}")))?;
    Ok(out)
}

/// Velero's `results.Result` (`pkg/util/results/result.go`).
#[derive(Debug, Default, Deserialize)]
struct Messages {
    #[serde(default)]
    velero: Vec<String>,
    #[serde(default)]
    cluster: Vec<String>,
    #[serde(default)]
    namespaces: BTreeMap<String, Vec<String>>,
}

impl Messages {
    fn lines(self) -> Vec<String> {
        let mut out: Vec<String> = self
            .velero
            .into_iter()
            .map(|m| format!("velero: {m}"))
            .collect();
        out.extend(self.cluster.into_iter().map(|m| format!("cluster: {m}")));
        for (ns, messages) in self.namespaces {
            out.extend(messages.into_iter().map(|m| format!("namespace {ns}: {m}")));
        }
        out
    }
}

/// A restore's warnings and errors, in words (`velero: …`, `cluster: …`, `namespace ns: …`),
/// from the results file (`{"warnings": Result, "errors": Result}`, as
/// `pkg/cmd/util/output/restore_describer.go`, `describeRestoreResults`, reads it).
pub fn restore_results(json: &[u8]) -> Result<(Vec<String>, Vec<String>), String> {
    let mut map: BTreeMap<String, Messages> =
        serde_json::from_slice(json).map_err(|e| format!("not Velero's restore results: {e}"))?;
    let warnings = map.remove("warnings").unwrap_or_default().lines();
    let errors = map.remove("errors").unwrap_or_default().lines();
    Ok((warnings, errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_results_are_put_in_words_by_where_they_arose() {
        let json = br#"{"warnings":{"namespaces":{"backstop-chaos":["could not restore, ConfigMap \"kube-root-ca.crt\" already exists"]}},"errors":{"velero":["pod volume restore failed"],"cluster":["x"]}}"#;
        let (warnings, errors) = restore_results(json).unwrap();
        assert_eq!(
            warnings,
            [
                "namespace backstop-chaos: could not restore, ConfigMap \"kube-root-ca.crt\" already exists"
            ]
        );
        assert_eq!(errors, ["velero: pod volume restore failed", "cluster: x"]);
    }

    #[test]
    fn empty_results_have_no_messages() {
        assert_eq!(restore_results(b"{}").unwrap(), (vec![], vec![]));
        assert!(restore_results(b"not json").is_err());
    }
}
