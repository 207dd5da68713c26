//! `node-loss`: the kind node behind the ledger's pod stopped, its death seen from the API
//! server, and what stays stuck on a dead node removed so the namespace can be restored onto a
//! surviving worker.
//!
//! - Which container: kind names each node's container after the node (`MakeNodeNamer` in
//!   kind's `pkg/cluster/internal/providers/common/namer.go`; `--hostname` equals the
//!   container name, and the kubelet registers under its hostname), and gives every node
//!   the provider ID `kind://<provider>/<cluster>/<node>` (kubeadm's `provider-id` kubelet
//!   argument in `pkg/cluster/internal/kubeadm/config.go`). The harness takes the container
//!   from the provider ID and stops only a worker of its own cluster.
//! - Its death: the node lifecycle controller sets the `Ready` condition to `Unknown` once the
//!   kubelet stops posting status (after the node monitor grace period); `False` means the
//!   kubelet reports itself unhealthy. Either is a dead node here.
//! - What stays: the pod is never confirmed gone by a dead kubelet (deleted with grace 0); the
//!   claim keeps its `kubernetes.io/pvc-protection` finalizer while that pod exists; the
//!   local-path PersistentVolume is pinned to the dead node by `spec.nodeAffinity`, so a
//!   claim bound to it could never be scheduled elsewhere: both are deleted, and the volume
//!   is waited for until it is gone.

use std::sync::Arc;
use std::time::Duration;

use ::kube::api::{DeleteParams, Patch, PatchParams};
use ::kube::{Api, Client};
use k8s_openapi::api::core::v1::{Node, PersistentVolume, PersistentVolumeClaim, Pod};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::exec::Runner;
use crate::kube::wait::{self, Target};

/// The label kubeadm puts on control-plane nodes.
pub const CONTROL_PLANE_LABEL: &str = "node-role.kubernetes.io/control-plane";

fn kube_error(action: String) -> impl FnOnce(::kube::Error) -> Error {
    move |source| Error::Kube {
        action,
        source: Box::new(source),
    }
}

fn is_not_found(e: &::kube::Error) -> bool {
    matches!(e, ::kube::Error::Api(status) if status.code == 404)
}

/// The Docker container of a node of the kind cluster `cluster`, from its provider ID.
/// Refused: a node of another cluster, a node without a kind provider ID, a control-plane
/// node (stopping it would take the API server with it).
pub fn kind_container(node: &Node, cluster: &str) -> Result<String, Error> {
    let name = node.metadata.name.clone().unwrap_or_default();
    let refuse = |message: String| Error::InvalidArgument {
        argument: format!("node {name}"),
        message,
    };
    let provider_id = node
        .spec
        .as_ref()
        .and_then(|s| s.provider_id.as_deref())
        .unwrap_or_default();
    let Some(rest) = provider_id.strip_prefix("kind://") else {
        return Err(refuse(format!(
            "its provider ID {provider_id:?} is not a kind node's (kind://<provider>/<cluster>/<node>): \
             the harness stops only nodes of the kind cluster it created"
        )));
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let [_provider, owner, container] = parts.as_slice() else {
        return Err(refuse(format!(
            "its provider ID {provider_id:?} is not kind://<provider>/<cluster>/<node>"
        )));
    };
    if *owner != cluster {
        return Err(refuse(format!(
            "it belongs to the kind cluster {owner}, not to the run's cluster {cluster}"
        )));
    }
    let labels = node.metadata.labels.as_ref();
    if labels.is_some_and(|l| l.contains_key(CONTROL_PLANE_LABEL)) {
        return Err(refuse(
            "it is a control-plane node: stopping it would stop the API server the run \
             watches through"
                .into(),
        ));
    }
    if container.is_empty() {
        return Err(refuse(format!(
            "its provider ID {provider_id:?} names no node"
        )));
    }
    Ok((*container).to_owned())
}

/// `docker stop <container>`: the node's kubelet, containerd and every pod on it stop.
pub fn stop_argv(container: &str) -> Vec<String> {
    vec!["docker".into(), "stop".into(), container.to_owned()]
}

/// How long `docker stop` may take (its own grace period is 10 s, then it kills).
const STOP_TIMEOUT: Duration = Duration::from_secs(90);

/// The node that was stopped and its container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StoppedNode {
    pub node: String,
    pub container: String,
}

/// Stops the kind node that runs `namespace/pod`: its node from the pod, its container from
/// the Node's provider ID (refused unless it is a worker of `cluster`), then `docker stop`.
/// Nothing is stopped when any of that fails.
pub async fn stop_node_of(
    client: &Client,
    runner: Arc<dyn Runner>,
    cluster: &str,
    namespace: &str,
    pod: &str,
) -> Result<StoppedNode, Error> {
    let node = pod_node(client, namespace, pod).await?;
    let container = kind_container(&get(client, &node).await?, cluster)?;
    let argv = stop_argv(&container);
    tokio::task::spawn_blocking(move || runner.checked(&argv, STOP_TIMEOUT))
        .await
        .map_err(|e| Error::Unavailable(format!("a command's thread failed: {e}")))??;
    Ok(StoppedNode { node, container })
}

/// The `Ready` condition in words when it says the node is dead (`False` or `Unknown`);
/// `None` while the node is Ready or has not reported at all.
pub fn dead(node: &Node) -> Option<String> {
    let ready = node
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")?;
    (ready.status == "False" || ready.status == "Unknown").then(|| {
        format!(
            "Ready={} ({}: {})",
            ready.status,
            ready.reason.as_deref().unwrap_or("no reason"),
            ready.message.as_deref().unwrap_or("no message")
        )
    })
}

fn readiness(node: Option<&Node>) -> String {
    let Some(node) = node else {
        return "no such Node".into();
    };
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
    match ready {
        None => "no Ready condition yet".into(),
        Some(c) => format!(
            "Ready={} ({})",
            c.status,
            c.reason.as_deref().unwrap_or("no reason")
        ),
    }
}

/// The node the pod `namespace/pod` was scheduled to (`spec.nodeName`).
pub async fn pod_node(client: &Client, namespace: &str, pod: &str) -> Result<String, Error> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let found = api
        .get(pod)
        .await
        .map_err(kube_error(format!("get pod {namespace}/{pod}")))?;
    found
        .spec
        .and_then(|s| s.node_name)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            Error::Unavailable(format!(
                "pod {namespace}/{pod} is not scheduled to a node (no spec.nodeName)"
            ))
        })
}

/// The Node `name`.
pub async fn get(client: &Client, name: &str) -> Result<Node, Error> {
    let api: Api<Node> = Api::all(client.clone());
    api.get(name)
        .await
        .map_err(kube_error(format!("get node {name}")))
}

/// Watches the Node `name` until its `Ready` condition is `False` or `Unknown`; returns the
/// condition in words.
pub async fn wait_dead(client: &Client, name: &str, timeout: Duration) -> Result<String, Error> {
    let api: Api<Node> = Api::all(client.clone());
    wait::until(
        &api,
        Target {
            name,
            what: format!("node {name} to turn NotReady (its Ready condition False or Unknown)"),
            timeout,
        },
        |node| node.and_then(dead),
        readiness,
    )
    .await
}

/// What [`force_remove`] removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForceRemoved {
    /// `namespace/name` of the pod deleted with grace period 0.
    pub pod: String,
    pub claim: String,
    /// The PersistentVolume the claim was bound to; `None` when it was bound to none.
    pub volume: Option<String>,
    /// Finalizers the harness had to take off the volume before it went (empty when its
    /// deletion completed on its own).
    pub finalizers_removed: Vec<String>,
}

/// Removes the pod `pod` (grace period 0), the claim `claim` and the volume bound to it, and
/// waits until the volume is gone. A volume still there after half the timeout has its
/// finalizers removed (its node is dead: nothing can ever run them), which is recorded.
/// Objects already gone are no error.
pub async fn force_remove(
    client: &Client,
    namespace: &str,
    pod: &str,
    claim: &str,
    timeout: Duration,
) -> Result<ForceRemoved, Error> {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let volume = match claims.get(claim).await {
        Ok(found) => found
            .spec
            .and_then(|s| s.volume_name)
            .filter(|v| !v.is_empty()),
        Err(e) if is_not_found(&e) => None,
        Err(e) => return Err(kube_error(format!("get claim {namespace}/{claim}"))(e)),
    };
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    match pods
        .delete(pod, &DeleteParams::default().grace_period(0))
        .await
    {
        Ok(_) => {}
        Err(e) if is_not_found(&e) => {}
        Err(e) => {
            return Err(kube_error(format!(
                "delete pod {namespace}/{pod} with grace period 0"
            ))(e));
        }
    }
    match claims.delete(claim, &DeleteParams::background()).await {
        Ok(_) => {}
        Err(e) if is_not_found(&e) => {}
        Err(e) => return Err(kube_error(format!("delete claim {namespace}/{claim}"))(e)),
    }
    let mut finalizers_removed = Vec::new();
    if let Some(pv) = &volume {
        let volumes: Api<PersistentVolume> = Api::all(client.clone());
        match volumes.delete(pv, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(kube_error(format!("delete PersistentVolume {pv}"))(e)),
        }
        let first = wait_volume_gone(&volumes, pv, timeout / 2).await;
        if first.is_err() {
            let stuck = match volumes.get(pv).await {
                Ok(v) => v.metadata.finalizers.unwrap_or_default(),
                Err(e) if is_not_found(&e) => Vec::new(),
                Err(e) => return Err(kube_error(format!("get PersistentVolume {pv}"))(e)),
            };
            if !stuck.is_empty() {
                let clear = serde_json::json!({ "metadata": { "finalizers": null } });
                volumes
                    .patch(pv, &PatchParams::default(), &Patch::Merge(&clear))
                    .await
                    .map_err(kube_error(format!(
                        "remove the finalizers of PersistentVolume {pv}"
                    )))?;
                finalizers_removed = stuck;
            }
            wait_volume_gone(&volumes, pv, timeout / 2).await?;
        }
    }
    Ok(ForceRemoved {
        pod: format!("{namespace}/{pod}"),
        claim: format!("{namespace}/{claim}"),
        volume,
        finalizers_removed,
    })
}

async fn wait_volume_gone(
    api: &Api<PersistentVolume>,
    name: &str,
    timeout: Duration,
) -> Result<(), Error> {
    wait::until(
        api,
        Target {
            name,
            what: format!("PersistentVolume {name} to be gone"),
            timeout,
        },
        |pv| pv.is_none().then_some(()),
        |pv| match pv {
            None => "no such PersistentVolume".into(),
            Some(pv) => format!(
                "PersistentVolume {name} in phase {}, finalizers {:?}",
                pv.status
                    .as_ref()
                    .and_then(|s| s.phase.as_deref())
                    .unwrap_or("(none)"),
                pv.metadata.finalizers.clone().unwrap_or_default()
            ),
        },
    )
    .await
}
