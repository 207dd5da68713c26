//! The run's workload: the ledger image (built from `chaos/Dockerfile` and loaded into kind,
//! or a pushed image an existing cluster pulls), and the workload manifests
//! (`fixtures/workloads/<name>.yaml`) put into the run's namespace, labelled for the run and
//! created with strict field validation, then watched until their pods are Ready.
//!
//! The argv here are the ones the plan prints (one source of truth).

use std::path::{Path, PathBuf};
use std::time::Duration;

use ::kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use ::kube::{Api, Client};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use serde_json::Value;

use crate::error::Error;
use crate::kube::namespace::RUN_LABEL;
use crate::kube::strict;
use crate::kube::wait::{self, Target};

/// The namespace the run creates and runs its workloads in.
pub const NAMESPACE: &str = "backstop-chaos";

/// The ledger image the run builds (and the workload manifests name), from `chaos/Dockerfile`.
pub const LEDGER_IMAGE: &str = "backstop-chaos:dev";

/// A workload the scenario names: its name, manifest file and text.
#[derive(Debug, Clone)]
pub struct Workload {
    pub name: String,
    pub path: PathBuf,
    pub manifest: String,
}

/// Where the ledger image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerImage {
    /// Built from `chaos/Dockerfile` in the repository at `context`, tagged [`LEDGER_IMAGE`],
    /// and loaded into kind.
    Build { context: PathBuf },
    /// Given (`--ledger-image`): already in the local Docker (kind loads it) or in a registry
    /// the existing cluster pulls from.
    Given(String),
}

impl LedgerImage {
    pub fn reference(&self) -> &str {
        match self {
            Self::Build { .. } => LEDGER_IMAGE,
            Self::Given(image) => image,
        }
    }
}

/// The Dockerfile of the ledger image, relative to the build context (the repository root).
pub const DOCKERFILE: &str = "chaos/Dockerfile";

/// `docker build` of the ledger image from the repository at `context`.
pub fn build_argv(image: &str, context: &Path) -> Vec<String> {
    vec![
        "docker".into(),
        "build".into(),
        "--file".into(),
        context.join(DOCKERFILE).display().to_string(),
        "--tag".into(),
        image.into(),
        context.display().to_string(),
    ]
}

/// `kind load docker-image` of `image` into every node of `cluster` (there is no registry).
pub fn load_argv(image: &str, cluster: &str) -> Vec<String> {
    ["kind", "load", "docker-image", image, "--name", cluster]
        .iter()
        .map(|a| (*a).to_owned())
        .collect()
}

/// One object of a workload, ready to create.
#[derive(Debug, Clone)]
pub struct Object {
    pub resource: ApiResource,
    pub object: DynamicObject,
    /// `Kind/name`, for messages.
    pub id: String,
}

/// The objects of `workloads`, in the order written, each put into `namespace`, labelled
/// with the run's id, and running `image` wherever the manifest names the ledger image
/// ([`LEDGER_IMAGE`]). A manifest that is not YAML, or an object without apiVersion, kind or
/// name, is bad input naming the file.
pub fn prepare(
    workloads: &[Workload],
    namespace: &str,
    image: &str,
    run_id: &str,
) -> Result<Vec<Object>, Error> {
    let mut out = Vec::new();
    for workload in workloads {
        let documents: Vec<Value> =
            serde_saphyr::from_multiple(&workload.manifest).map_err(|e| {
                Error::invalid(
                    &workload.path,
                    "<root>",
                    format!("not YAML: {}", e.without_snippet()),
                )
            })?;
        for (index, mut document) in documents.into_iter().filter(|d| !d.is_null()).enumerate() {
            let field = |f: &str| format!("document {}: {f}", index + 1);
            let text = |v: &Value, f: &str| -> Result<String, Error> {
                v.as_str()
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .ok_or_else(|| Error::invalid(&workload.path, field(f), "is required"))
            };
            let api_version = text(&document["apiVersion"], "apiVersion")?;
            let kind = text(&document["kind"], "kind")?;
            let name = text(&document["metadata"]["name"], "metadata.name")?;
            let (group, version) = api_version.rsplit_once('/').unwrap_or(("", &api_version));
            let gvk = GroupVersionKind::gvk(group, version, &kind);
            let metadata = document["metadata"]
                .as_object_mut()
                .ok_or_else(|| Error::invalid(&workload.path, field("metadata"), "not a map"))?;
            metadata.insert("namespace".into(), Value::String(namespace.to_owned()));
            let labels = metadata
                .entry("labels")
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if let Some(labels) = labels.as_object_mut() {
                labels.insert(RUN_LABEL.into(), Value::String(run_id.to_owned()));
            }
            if let Some(pod_spec) = document
                .pointer_mut("/spec/template/spec")
                .filter(|v| v.is_object())
            {
                set_image(pod_spec, image);
            }
            let object: DynamicObject = serde_json::from_value(document)
                .map_err(|e| Error::invalid(&workload.path, field("<root>"), e.to_string()))?;
            out.push(Object {
                resource: ApiResource::from_gvk(&gvk),
                object,
                id: format!("{kind}/{name}"),
            });
        }
    }
    Ok(out)
}

/// Replaces the ledger image in a pod spec's containers and init containers.
fn set_image(pod_spec: &mut Value, image: &str) {
    for list in ["containers", "initContainers"] {
        if let Some(containers) = pod_spec.get_mut(list).and_then(Value::as_array_mut) {
            for container in containers {
                if container["image"].as_str() == Some(LEDGER_IMAGE) {
                    container["image"] = Value::String(image.to_owned());
                }
            }
        }
    }
}

/// Creates every object in `namespace`, strictly (a field the API server does not know is
/// an error, not a silent drop).
pub async fn create(client: &Client, namespace: &str, objects: &[Object]) -> Result<(), Error> {
    for o in objects {
        strict::create_dynamic(
            client,
            namespace,
            &o.resource,
            &o.object,
            format!("create {} in namespace {namespace}", o.id),
        )
        .await?;
    }
    Ok(())
}

/// Watches every StatefulSet and Deployment of `objects` until all its replicas are Ready
/// (for the generation the run created), within `timeout` overall.
pub async fn wait_ready(
    client: &Client,
    namespace: &str,
    objects: &[Object],
    timeout: Duration,
) -> Result<(), Error> {
    let deadline = tokio::time::Instant::now() + timeout;
    for o in objects {
        let name = o.object.metadata.name.clone().unwrap_or_default();
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match o.resource.kind.as_str() {
            "StatefulSet" => {
                let api: Api<StatefulSet> = Api::namespaced(client.clone(), namespace);
                wait::until(
                    &api,
                    ready_target(&o.id, namespace, &name, left),
                    |s| {
                        let s = s?;
                        let status = s.status.as_ref()?;
                        let want = s.spec.replicas.unwrap_or(1);
                        replicas_ready(
                            s.metadata.generation,
                            status.observed_generation,
                            status.ready_replicas,
                            want,
                        )
                    },
                    |s| match s {
                        None => format!("no {}", o.id),
                        Some(s) => {
                            let status = s.status.as_ref();
                            format!(
                                "{}: {} of {} replicas Ready",
                                o.id,
                                status.and_then(|s| s.ready_replicas).unwrap_or(0),
                                s.spec.replicas.unwrap_or(1)
                            )
                        }
                    },
                )
                .await?;
            }
            "Deployment" => {
                let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
                wait::until(
                    &api,
                    ready_target(&o.id, namespace, &name, left),
                    |d| {
                        let d = d?;
                        let status = d.status.as_ref()?;
                        let want = d.spec.replicas.unwrap_or(1);
                        replicas_ready(
                            d.metadata.generation,
                            status.observed_generation,
                            status.ready_replicas,
                            want,
                        )
                    },
                    |d| match d {
                        None => format!("no {}", o.id),
                        Some(d) => format!(
                            "{}: {} of {} replicas Ready",
                            o.id,
                            d.status
                                .as_ref()
                                .and_then(|s| s.ready_replicas)
                                .unwrap_or(0),
                            d.spec.replicas.unwrap_or(1)
                        ),
                    },
                )
                .await?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn ready_target<'a>(id: &str, namespace: &str, name: &'a str, timeout: Duration) -> Target<'a> {
    Target {
        name,
        what: format!("{id} in {namespace} to have every replica Ready"),
        timeout,
    }
}

/// Whether a controller has seen its current spec and has `want` replicas Ready.
fn replicas_ready(
    generation: Option<i64>,
    observed: Option<i64>,
    ready: Option<i32>,
    want: i32,
) -> Option<()> {
    let seen = observed.unwrap_or(0) >= generation.unwrap_or(0);
    (seen && ready.unwrap_or(0) >= want).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> Workload {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/workloads/ledger.yaml");
        Workload {
            name: "ledger".into(),
            manifest: std::fs::read_to_string(&path).unwrap(),
            path,
        }
    }

    #[test]
    fn the_ledger_manifest_becomes_a_service_and_a_statefulset_in_the_run_s_namespace() {
        let objects = prepare(
            &[ledger()],
            "backstop-chaos",
            "registry.example/ledger:1",
            "run-1",
        )
        .unwrap();
        let ids: Vec<&str> = objects.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["Service/ledger", "StatefulSet/ledger"]);
        for o in &objects {
            assert_eq!(
                o.object.metadata.namespace.as_deref(),
                Some("backstop-chaos")
            );
            assert_eq!(
                o.object.metadata.labels.as_ref().unwrap()[RUN_LABEL],
                "run-1"
            );
        }
        assert_eq!(objects[1].resource.plural, "statefulsets");
        // Nothing is added that the manifest does not say (a Service has no pod template).
        assert_eq!(objects[0].object.data["spec"].get("template"), None);
        let image = &objects[1].object.data["spec"]["template"]["spec"]["containers"][0]["image"];
        assert_eq!(image, "registry.example/ledger:1");
    }

    #[test]
    fn a_manifest_object_without_a_kind_is_bad_input_naming_the_file() {
        let mut w = ledger();
        w.manifest = "apiVersion: v1\nmetadata: {name: x}\n".into();
        let err = prepare(&[w], "ns", "i", "r").unwrap_err();
        assert_eq!(err.exit_code(), crate::error::EXIT_BAD_INPUT);
        assert!(
            err.to_string().contains("ledger.yaml: document 1: kind"),
            "{err}"
        );
    }

    #[test]
    fn a_controller_is_ready_only_for_the_generation_it_has_seen() {
        assert_eq!(replicas_ready(Some(1), Some(1), Some(1), 1), Some(()));
        assert_eq!(replicas_ready(Some(2), Some(1), Some(1), 1), None);
        assert_eq!(replicas_ready(Some(1), Some(1), None, 1), None);
    }

    #[test]
    fn the_image_is_built_from_the_repository_and_loaded_by_name() {
        assert_eq!(
            build_argv("backstop-chaos:dev", Path::new("/repo")),
            [
                "docker",
                "build",
                "--file",
                "/repo/chaos/Dockerfile",
                "--tag",
                "backstop-chaos:dev",
                "/repo"
            ]
        );
        assert_eq!(
            load_argv("backstop-chaos:dev", "c"),
            [
                "kind",
                "load",
                "docker-image",
                "backstop-chaos:dev",
                "--name",
                "c"
            ]
        );
    }
}
