//! The node-loss fault's Kubernetes calls against the mocked API server (`support/apiserver.rs`).
//! Answers come from the captures (`fixtures/apiserver-captures/`, named in each test) where one
//! holds the object or the error; no capture holds a Node, a claim or a PersistentVolume (the
//! capture server ran no kubelet or provisioner), so those bodies are the hand-written
//! fixtures of `fixtures/chaos/faults/`, framed as the captures frame their kind of answer:
//! core list items without apiVersion/kind (capture 13), watch events one JSON per line
//! (capture 12), a DELETE of an object with finalizers answered with the object (captures 15
//! and 22).
#![allow(clippy::unwrap_used)]

#[path = "support/apiserver.rs"]
mod apiserver;
#[path = "support/fake_tools.rs"]
mod fake_tools;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use apiserver::{Answer, MockApiServer, captured, captured_object};
use backstop_chaos::error::{EXIT_BAD_INPUT, EXIT_INFRASTRUCTURE, Error};
use backstop_chaos::fault::node;
use fake_tools::FakeTools;
use k8s_openapi::api::core::v1::Node;
use serde_json::{Value, json};

const CLUSTER: &str = "backstop-node-loss-0000002a";
const WORKER: &str = "backstop-node-loss-0000002a-worker";
const NS: &str = "backstop-chaos";
const VOLUME: &str = "pvc-7d3f0c2e-5b1a-4e9f-9c8d-1a2b3c4d5e6f";
const POD_CAPTURE: &str = "20-pod-create-without-default-serviceaccount";

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/chaos/faults")
        .join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn ok(object: &Value) -> Answer {
    Answer {
        status: 200,
        content_type: Some("application/json".into()),
        body: format!("{object}\n"),
        events: None,
    }
}

/// A core list as capture 13 shows it: items without apiVersion/kind.
fn core_list(kind: &str, items: &[Value]) -> Answer {
    let items: Vec<Value> = items
        .iter()
        .map(|item| {
            let mut item = item.clone();
            let map = item.as_object_mut().unwrap();
            map.remove("apiVersion");
            map.remove("kind");
            item
        })
        .collect();
    ok(
        &json!({"kind": kind, "apiVersion": "v1", "metadata": {"resourceVersion": "5390"}, "items": items}),
    )
}

/// A watch stream of `events` (`[type, object]`), one JSON object per line (capture 12).
fn watch(events: &[(&str, Value)]) -> Answer {
    Answer {
        status: 200,
        content_type: Some("application/json".into()),
        body: String::new(),
        events: Some(
            events
                .iter()
                .map(|(kind, object)| json!({"type": kind, "object": object}))
                .collect(),
        ),
    }
}

/// Capture 20, exchange 4: the Pod as the API server stored it, renamed to the ledger's, with
/// `spec.nodeName` set as the scheduler's binding sets it (the capture server ran no
/// scheduler: its pod has none).
fn scheduled_ledger_pod(node: &str) -> Value {
    let mut pod = captured_object(POD_CAPTURE, 4);
    pod["metadata"]["name"] = "ledger-0".into();
    pod["metadata"]["namespace"] = NS.into();
    pod["spec"]["nodeName"] = node.into();
    pod
}

fn as_node(value: Value) -> Node {
    serde_json::from_value(value).unwrap()
}

#[tokio::test]
async fn the_ledger_s_node_is_the_pod_s_spec_node_name() {
    let server = MockApiServer::new().on(
        "GET",
        &format!("/api/v1/namespaces/{NS}/pods/ledger-0"),
        ok(&scheduled_ledger_pod(WORKER)),
    );
    let (client, _) = server.start().await;
    assert_eq!(
        node::pod_node(&client, NS, "ledger-0").await.unwrap(),
        WORKER
    );
}

#[tokio::test]
async fn a_pod_that_was_never_scheduled_has_no_node_to_stop() {
    // Capture 20, exchange 4 as it is: no scheduler ran, so the stored Pod has no nodeName.
    let server = MockApiServer::new().on(
        "GET",
        &format!("/api/v1/namespaces/{NS}/pods/ledger-0"),
        captured(POD_CAPTURE, 4),
    );
    let (client, _) = server.start().await;
    let err = node::pod_node(&client, NS, "ledger-0").await.unwrap_err();
    assert_eq!(err.exit_code(), EXIT_INFRASTRUCTURE);
    assert!(err.to_string().contains("not scheduled to a node"), "{err}");
}

#[test]
fn the_container_to_stop_is_named_by_the_node_s_kind_provider_id() {
    let worker = as_node(fixture("node-worker-ready"));
    assert_eq!(node::kind_container(&worker, CLUSTER).unwrap(), WORKER);
    assert_eq!(node::stop_argv(WORKER), ["docker", "stop", WORKER]);
}

#[test]
fn a_node_of_another_cluster_a_control_plane_or_a_non_kind_node_is_never_stopped() {
    let other = as_node(fixture("node-worker-ready"));
    let err = node::kind_container(&other, "backstop-node-loss-00000001").unwrap_err();
    assert_eq!(err.exit_code(), EXIT_BAD_INPUT);
    assert!(
        err.to_string()
            .contains("belongs to the kind cluster backstop-node-loss-0000002a"),
        "{err}"
    );

    let mut control_plane = fixture("node-worker-ready");
    control_plane["metadata"]["labels"]["node-role.kubernetes.io/control-plane"] = "".into();
    let err = node::kind_container(&as_node(control_plane), CLUSTER).unwrap_err();
    assert!(err.to_string().contains("control-plane node"), "{err}");

    let mut cloud = fixture("node-worker-ready");
    cloud["spec"]["providerID"] = "aws:///eu-west-1a/i-0abc".into();
    let err = node::kind_container(&as_node(cloud), CLUSTER).unwrap_err();
    assert!(err.to_string().contains("not a kind node's"), "{err}");
}

#[test]
fn a_node_is_dead_once_its_ready_condition_is_unknown_or_false() {
    assert_eq!(node::dead(&as_node(fixture("node-worker-ready"))), None);
    assert_eq!(
        node::dead(&as_node(fixture("node-worker-dead"))).as_deref(),
        Some("Ready=Unknown (NodeStatusUnknown: Kubelet stopped posting node status.)")
    );
    let mut unhealthy = fixture("node-worker-ready");
    unhealthy["status"]["conditions"][3]["status"] = "False".into();
    unhealthy["status"]["conditions"][3]["reason"] = "KubeletNotReady".into();
    assert!(
        node::dead(&as_node(unhealthy))
            .unwrap()
            .starts_with("Ready=False (KubeletNotReady")
    );
}

#[tokio::test]
async fn the_node_is_watched_until_the_api_server_shows_it_dead() {
    let server = MockApiServer::new()
        .on(
            "GET",
            "/api/v1/nodes",
            core_list("NodeList", &[fixture("node-worker-ready")]),
        )
        .on_watch(
            "/api/v1/nodes",
            watch(&[("MODIFIED", fixture("node-worker-dead"))]),
        );
    let (client, _) = server.start().await;
    let seen = node::wait_dead(&client, WORKER, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        seen,
        "Ready=Unknown (NodeStatusUnknown: Kubelet stopped posting node status.)"
    );
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.contains(&format!("fieldSelector=metadata.name%3D{WORKER}"))),
        "the wait follows the one Node: {:?}",
        server.requests()
    );
}

#[tokio::test]
async fn a_node_that_stays_ready_times_out_naming_its_condition() {
    // A watch with nothing new stays silent (capture 11, a current resourceVersion).
    let server = MockApiServer::new().on(
        "GET",
        "/api/v1/nodes",
        core_list("NodeList", &[fixture("node-worker-ready")]),
    );
    let (client, _) = server.start().await;
    let err = node::wait_dead(&client, WORKER, Duration::from_millis(600))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("node {WORKER} to turn NotReady")),
        "{text}"
    );
    assert!(
        text.contains("last seen: Ready=True (KubeletReady)"),
        "{text}"
    );
}

/// The claim and volume of the fixtures as their DELETE answers them: the object, with a
/// deletionTimestamp (both carry a protection finalizer; captures 15 and 22).
fn deleting(mut object: Value) -> Value {
    object["metadata"]["deletionTimestamp"] = "2026-12-03T12:19:02Z".into();
    object["metadata"]["deletionGracePeriodSeconds"] = 0.into();
    object
}

#[tokio::test]
async fn force_removal_deletes_the_pod_with_grace_zero_then_its_claim_and_the_pinned_volume() {
    let claim_path = format!("/api/v1/namespaces/{NS}/persistentvolumeclaims/data-ledger-0");
    let pod_path = format!("/api/v1/namespaces/{NS}/pods/ledger-0");
    let volume_path = format!("/api/v1/persistentvolumes/{VOLUME}");
    let server = MockApiServer::new()
        .on("GET", &claim_path, ok(&fixture("claim-bound")))
        // Capture 20, exchange 5: a Pod DELETE answers the Pod object.
        .on("DELETE", &pod_path, captured(POD_CAPTURE, 5))
        .on("DELETE", &claim_path, ok(&deleting(fixture("claim-bound"))))
        .on(
            "DELETE",
            &volume_path,
            ok(&deleting(fixture("volume-local-path"))),
        )
        .on(
            "GET",
            "/api/v1/persistentvolumes",
            core_list("PersistentVolumeList", &[]),
        );
    let (client, _) = server.start().await;

    let removed = node::force_remove(
        &client,
        NS,
        "ledger-0",
        "data-ledger-0",
        Duration::from_secs(10),
    )
    .await
    .unwrap();

    assert_eq!(removed.pod, "backstop-chaos/ledger-0");
    assert_eq!(removed.claim, "backstop-chaos/data-ledger-0");
    assert_eq!(removed.volume.as_deref(), Some(VOLUME));
    assert!(removed.finalizers_removed.is_empty());
    let deletes: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("DELETE"))
        .collect();
    assert_eq!(
        deletes,
        [
            format!("DELETE {pod_path}?"),
            format!("DELETE {claim_path}?"),
            format!("DELETE {volume_path}?"),
        ]
    );
    let pod_body = server
        .bodies()
        .into_iter()
        .find(|(r, _)| r.starts_with(&format!("DELETE {pod_path}")))
        .unwrap()
        .1;
    assert_eq!(
        serde_json::from_str::<Value>(&pod_body).unwrap()["gracePeriodSeconds"],
        0,
        "{pod_body}"
    );
}

#[tokio::test]
async fn a_volume_its_dead_node_can_never_release_has_its_finalizers_removed_and_that_is_recorded()
{
    let claim_path = format!("/api/v1/namespaces/{NS}/persistentvolumeclaims/data-ledger-0");
    let volume_path = format!("/api/v1/persistentvolumes/{VOLUME}");
    let mut stuck = deleting(fixture("volume-local-path"));
    stuck["metadata"]["finalizers"] =
        json!(["kubernetes.io/pv-protection", "example.com/node-cleanup"]);
    let mut released = stuck.clone();
    released["metadata"]["finalizers"] = json!([]);
    let server = MockApiServer::new()
        .on("GET", &claim_path, ok(&fixture("claim-bound")))
        .on(
            "DELETE",
            &format!("/api/v1/namespaces/{NS}/pods/ledger-0"),
            captured(POD_CAPTURE, 5),
        )
        .on("DELETE", &claim_path, ok(&deleting(fixture("claim-bound"))))
        .on("DELETE", &volume_path, ok(&stuck))
        // The first wait sees the volume held, then silence; after the patch it is gone.
        .once(
            "GET",
            "/api/v1/persistentvolumes",
            core_list("PersistentVolumeList", &[stuck.clone()]),
        )
        .on(
            "GET",
            "/api/v1/persistentvolumes",
            core_list("PersistentVolumeList", &[]),
        )
        .on("GET", &volume_path, ok(&stuck))
        .on("PATCH", &volume_path, ok(&released));
    let (client, _) = server.start().await;

    let removed = node::force_remove(
        &client,
        NS,
        "ledger-0",
        "data-ledger-0",
        Duration::from_millis(1200),
    )
    .await
    .unwrap();

    assert_eq!(
        removed.finalizers_removed,
        ["kubernetes.io/pv-protection", "example.com/node-cleanup"]
    );
    let patch = server
        .bodies()
        .into_iter()
        .find(|(r, _)| r.starts_with("PATCH"))
        .unwrap()
        .1;
    assert_eq!(
        serde_json::from_str::<Value>(&patch).unwrap(),
        json!({"metadata": {"finalizers": null}})
    );
}

#[tokio::test]
async fn objects_already_gone_are_no_error() {
    // Capture 20, exchange 6: a GET of a deleted pod is 404 (the same answer a DELETE of a
    // missing object gets: capture 22, exchange 1); a claim that is gone answers alike.
    let gone = captured(POD_CAPTURE, 6);
    let server = MockApiServer::new()
        .on(
            "GET",
            &format!("/api/v1/namespaces/{NS}/persistentvolumeclaims/data-ledger-0"),
            gone.clone(),
        )
        .on(
            "DELETE",
            &format!("/api/v1/namespaces/{NS}/pods/ledger-0"),
            gone.clone(),
        )
        .on(
            "DELETE",
            &format!("/api/v1/namespaces/{NS}/persistentvolumeclaims/data-ledger-0"),
            gone,
        );
    let (client, _) = server.start().await;
    let removed = node::force_remove(
        &client,
        NS,
        "ledger-0",
        "data-ledger-0",
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(removed.volume, None);
}

fn api_with_ledger_on(node: Value) -> MockApiServer {
    MockApiServer::new()
        .on(
            "GET",
            &format!("/api/v1/namespaces/{NS}/pods/ledger-0"),
            ok(&scheduled_ledger_pod(WORKER)),
        )
        .on("GET", &format!("/api/v1/nodes/{WORKER}"), ok(&node))
}

#[tokio::test]
async fn the_ledger_s_node_container_is_stopped_with_docker_stop_and_recorded() {
    let server = api_with_ledger_on(fixture("node-worker-ready"));
    let (client, _) = server.start().await;
    let tools = FakeTools::new().tool("docker", "exit 0");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("commands.log");
    let stopped = node::stop_node_of(
        &client,
        Arc::new(tools.runner(&log)),
        CLUSTER,
        NS,
        "ledger-0",
    )
    .await
    .unwrap();
    assert_eq!(
        (stopped.node.as_str(), stopped.container.as_str()),
        (WORKER, WORKER)
    );
    assert_eq!(tools.invocations(), [vec!["docker", "stop", WORKER]]);
    let logged = std::fs::read_to_string(log).unwrap();
    assert!(logged.contains(r#""argv":["docker","stop","#), "{logged}");
}

#[tokio::test]
async fn a_control_plane_host_is_refused_before_docker_is_called() {
    let mut control_plane = fixture("node-worker-ready");
    control_plane["metadata"]["labels"]["node-role.kubernetes.io/control-plane"] = "".into();
    let server = api_with_ledger_on(control_plane);
    let (client, _) = server.start().await;
    let tools = FakeTools::new().tool("docker", "exit 0");
    let dir = tempfile::tempdir().unwrap();
    let runner = Arc::new(tools.runner(&dir.path().join("commands.log")));
    let err = node::stop_node_of(&client, runner, CLUSTER, NS, "ledger-0")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("control-plane node"), "{err}");
    assert!(tools.invocations().is_empty(), "docker was not called");
}

#[tokio::test]
async fn a_failing_docker_stop_is_an_infrastructure_failure_naming_the_command() {
    let server = api_with_ledger_on(fixture("node-worker-ready"));
    let (client, _) = server.start().await;
    let tools = FakeTools::new().tool(
        "docker",
        "echo 'Error response from daemon: No such container: x' >&2; exit 1",
    );
    let dir = tempfile::tempdir().unwrap();
    let runner = Arc::new(tools.runner(&dir.path().join("commands.log")));
    let err = node::stop_node_of(&client, runner, CLUSTER, NS, "ledger-0")
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), EXIT_INFRASTRUCTURE);
    let text = err.to_string();
    assert!(
        text.contains(&format!("`docker stop {WORKER}` exited 1")),
        "{text}"
    );
    assert!(text.contains("No such container"), "{text}");
}
