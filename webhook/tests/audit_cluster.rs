//! `audit --cluster` reads the live cluster with paginated, read-only list calls; here the
//! cluster is the mock API server of `support/apiserver.rs`, answering with real
//! kube-apiserver v1.36 responses from `fixtures/apiserver-captures/` (each case names the
//! capture file and exchange its answers come from).

// Test code: a failed unwrap is a failed test (clippy only exempts #[test] functions).
#![allow(clippy::unwrap_used)]

#[path = "support/apiserver.rs"]
mod apiserver;

use std::sync::Arc;

use apiserver::{
    Answer, Call, Captured, MockApiServer, available_storage_location, builtin_list, capture_file,
    custom_list,
};
use backstop_webhook::WebhookError;
use backstop_webhook::audit::{AuditReport, load_cluster_inventory};
use http::Method;
use policy::{CoverageIndex, GapCode, ObjectKind, Policy};
use serde_json::{Value, json};

const POLICY: &str = "\
veleroNamespace: velero
tiers:
  critical: { rpo: 2h, rto: 1h, minRetention: 168h }
  standard: { rpo: 25h, rto: 4h, minRetention: 720h }
protected:
  - { namespace: registry, tier: standard }
  - { namespace: data-platform, tier: critical }
";

const NAMESPACES: &str = "/api/v1/namespaces";
const SCHEDULES: &str = "/apis/velero.io/v1/namespaces/velero/schedules";
const LOCATIONS: &str = "/apis/velero.io/v1/namespaces/velero/volumesnapshotlocations";
const STORAGE_LOCATIONS: &str = "/apis/velero.io/v1/namespaces/velero/backupstoragelocations";
const SNAPSHOT_CLASSES: &str = "/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses";
const VELERO_DEPLOYMENT: &str = "/apis/apps/v1/namespaces/velero/deployments/velero";
const VELERO_CONFIG_MAPS: &str = "/api/v1/namespaces/velero/configmaps";

const UNSERVED: &str = "01-unserved-group-404-text-plain.json";
const WORKLOADS: [(&str, &str, &str); 6] = [
    ("/apis/apps/v1/deployments", "apps/v1", "Deployment"),
    ("/apis/apps/v1/statefulsets", "apps/v1", "StatefulSet"),
    ("/apis/apps/v1/daemonsets", "apps/v1", "DaemonSet"),
    ("/apis/apps/v1/replicasets", "apps/v1", "ReplicaSet"),
    ("/apis/batch/v1/jobs", "batch/v1", "Job"),
    ("/apis/batch/v1/cronjobs", "batch/v1", "CronJob"),
];
const EMPTY_LISTS: &str = "03-get-missing-object-and-missing-namespace.json";

/// Capture 02, exchange 0: the Namespace `velero` as the server created it, renamed.
fn namespace(name: &str) -> Value {
    let mut namespace = Captured::response("02-create-namespace-201-then-409.json", 0).json();
    namespace["metadata"]["name"] = json!(name);
    namespace["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
    namespace
}

/// A 200 list with this body, with the status and headers of capture 03's lists (exchange 3).
fn list_answer(body: &Value) -> Captured {
    Captured::response(EMPTY_LISTS, 3).with_json(body)
}

/// A cluster with Velero (capture 04's discovery), no snapshot API (capture 01), the
/// Schedule of capture 21 (exchange 0; hourly, data-platform and vault-prod) and two
/// namespaces served on two pages (capture 13: a first page with `continue` and
/// `remainingItemCount`, a last page without `continue`).
fn cluster(server: &MockApiServer) {
    let token = capture_file("13-pagination-configmaps-limit-3.json")["exchanges"][1]["response"]
        ["bodyJson"]["metadata"]["continue"]
        .clone();
    let mut first = builtin_list("v1", "Namespace", "303", &[namespace("registry")]);
    first["metadata"]["continue"] = token;
    first["metadata"]["remainingItemCount"] = json!(1);
    let last = builtin_list("v1", "Namespace", "303", &[namespace("data-platform")]);
    server.route(
        Method::GET,
        NAMESPACES,
        Call::Read,
        vec![
            Answer::Full(list_answer(&first)),
            Answer::Full(list_answer(&last)),
        ],
    );
    for (path, kind) in [
        ("/api/v1/persistentvolumeclaims", "PersistentVolumeClaim"),
        ("/api/v1/pods", "Pod"),
        ("/api/v1/persistentvolumes", "PersistentVolume"),
    ] {
        server.get(path, list_answer(&builtin_list("v1", kind, "303", &[])));
    }
    // Workload controllers: built-in lists as capture 13 shows them (apps/v1 and batch/v1 are
    // served by the same generic registry as core/v1), empty here.
    for (path, api_version, kind) in WORKLOADS {
        server.get(
            path,
            list_answer(&builtin_list(api_version, kind, "303", &[])),
        );
    }
    server.get(
        "/apis/storage.k8s.io/v1/storageclasses",
        list_answer(&builtin_list(
            "storage.k8s.io/v1",
            "StorageClass",
            "303",
            &[],
        )),
    );
    let schedule = Captured::response("21-server-side-apply-schedule-conflict.json", 0).json();
    server.get(
        SCHEDULES,
        list_answer(&custom_list("velero.io/v1", "Schedule", "303", &[schedule])),
    );
    server.get(
        LOCATIONS,
        list_answer(&custom_list(
            "velero.io/v1",
            "VolumeSnapshotLocation",
            "303",
            &[],
        )),
    );
    server.get(
        STORAGE_LOCATIONS,
        list_answer(&custom_list(
            "velero.io/v1",
            "BackupStorageLocation",
            "303",
            &[available_storage_location()],
        )),
    );
    server.get(
        "/apis/velero.io/v1",
        Captured::response("04-discovery-velero-v1.json", 0),
    );
    // No Velero Deployment by that name: capture 03, exchange 1 (the 404 Status of a GET of a
    // missing object, there a ConfigMap), and no ConfigMaps in the namespace.
    let mut missing = Captured::response(EMPTY_LISTS, 1).json();
    missing["message"] = json!("deployments.apps \"velero\" not found");
    missing["details"] = json!({"name": "velero", "group": "apps", "kind": "deployments"});
    server.get(
        VELERO_DEPLOYMENT,
        Captured::response(EMPTY_LISTS, 1).with_json(&missing),
    );
    server.get(
        VELERO_CONFIG_MAPS,
        list_answer(&builtin_list("v1", "ConfigMap", "303", &[])),
    );
    // Capture 01: exchange 0 is the list of the unserved resource, 3 its discovery.
    server.get(SNAPSHOT_CLASSES, Captured::response(UNSERVED, 0));
    server.get(
        "/apis/snapshot.storage.k8s.io/v1",
        Captured::response(UNSERVED, 3),
    );
}

#[tokio::test]
async fn reads_every_page_of_a_live_cluster_with_list_and_discovery_calls_only() {
    let server = MockApiServer::start().await;
    cluster(&server);
    let inventory = load_cluster_inventory(server.client(), "velero", "velero")
        .await
        .unwrap();

    let names: Vec<&str> = inventory
        .namespaces
        .iter()
        .map(|ns| ns.metadata.name.as_str())
        .collect();
    assert_eq!(names, ["registry", "data-platform"]);
    let second_page = &server
        .seen()
        .into_iter()
        .filter(|seen| seen.path == NAMESPACES)
        .nth(1)
        .unwrap()
        .query;
    assert!(second_page.contains("continue=eyJ2Ijoi"), "{second_page}");
    assert_eq!(inventory.schedules.len(), 1);
    let locations = inventory.storage_locations.as_deref().unwrap_or_default();
    assert_eq!(locations.len(), 1);
    assert!(locations[0].spec.default && locations[0].is_available());
    // The real text/plain 404 of an unserved API is "none", settled by discovery.
    assert!(inventory.snapshot_classes.is_empty());
    assert_eq!(
        server.count("/apis/snapshot.storage.k8s.io/v1", Call::Read),
        1
    );
    assert!(
        server.seen().iter().all(|seen| seen.method == Method::GET),
        "read-only"
    );
    assert!(server.unrouted().is_empty(), "{:?}", server.unrouted());

    let policy = Arc::new(Policy::from_yaml(POLICY, "policy.yaml").unwrap());
    let report = AuditReport::new(&CoverageIndex::build(policy, inventory));
    let data_platform = report
        .objects
        .iter()
        .find(|verdict| verdict.name == "data-platform")
        .unwrap();
    assert_eq!(data_platform.covered_by, ["backstop-critical"]);
    let registry = report
        .objects
        .iter()
        .find(|verdict| verdict.name == "registry")
        .unwrap();
    assert!(registry.has_gap(GapCode::NoSchedule));
    assert!(report.has_gaps());
}

#[tokio::test]
async fn a_cluster_without_velero_is_an_error_that_names_the_missing_crd() {
    let server = MockApiServer::start().await;
    cluster(&server);
    // Velero not installed: its lists and its group-version discovery answer as capture 01
    // shows for an unserved group (exchanges 0 and 3).
    server.get(SCHEDULES, Captured::response(UNSERVED, 0));
    server.get("/apis/velero.io/v1", Captured::response(UNSERVED, 3));
    let error = load_cluster_inventory(server.client(), "velero", "velero")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, WebhookError::CrdMissing { crd } if crd == "schedules.velero.io"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the CustomResourceDefinition schedules.velero.io is not installed in this cluster (is Velero installed?)"
    );
}

#[tokio::test]
async fn a_forbidden_list_names_the_resource() {
    let server = MockApiServer::start().await;
    cluster(&server);
    // Capture 16, exchange 4: user "viewer" may not list namespaces (403 Status).
    server.get(
        NAMESPACES,
        Captured::response("16-rbac-forbidden-403.json", 4),
    );
    let error = load_cluster_inventory(server.client(), "velero", "velero")
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            WebhookError::ClusterRead {
                resource: "namespaces",
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.starts_with("cannot list namespaces:")
            && message.contains("cannot list resource \"namespaces\""),
        "{message}"
    );
}

#[tokio::test]
async fn an_expired_continue_token_restarts_the_list() {
    let server = MockApiServer::start().await;
    cluster(&server);
    // Capture 14: a first page with a continue token (exchange 0's shape), then following it
    // is a real HTTP 410 Expired (exchange 1); the restarted list completes.
    let token = capture_file("14-list-continue-token-expired-410.json")["exchanges"][0]["response"]
        ["bodyJson"]["metadata"]["continue"]
        .clone();
    let mut first = builtin_list("v1", "Namespace", "318", &[namespace("registry")]);
    first["metadata"]["continue"] = token;
    let whole = builtin_list(
        "v1",
        "Namespace",
        "415",
        &[namespace("data-platform"), namespace("registry")],
    );
    server.route(
        Method::GET,
        NAMESPACES,
        Call::Read,
        vec![
            Answer::Full(list_answer(&first)),
            Answer::Full(Captured::response(
                "14-list-continue-token-expired-410.json",
                1,
            )),
            Answer::Full(list_answer(&whole)),
        ],
    );
    let inventory = load_cluster_inventory(server.client(), "velero", "velero")
        .await
        .unwrap();
    assert_eq!(inventory.namespaces.len(), 2);
    assert_eq!(server.count(NAMESPACES, Call::Read), 3);
}

/// The documents of a fixture file, as JSON.
fn documents(file: &str) -> Vec<Value> {
    let path = format!("{}/../{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    policy::yaml::documents(&text, file).unwrap()
}

/// Serves `objects` as a cluster holds them: each kind on its list path, in the shapes of
/// capture 13 (built-in lists) and capture 03 exchange 3 (custom resources); every other list of
/// [`cluster`] stays as it is.
fn serve(server: &MockApiServer, objects: &[Value]) {
    let of_kind = |kind: &str| -> Vec<Value> {
        objects
            .iter()
            .filter(|object| object["kind"] == kind)
            .cloned()
            .collect()
    };
    let builtin = [
        (NAMESPACES, "v1", "Namespace"),
        (
            "/api/v1/persistentvolumeclaims",
            "v1",
            "PersistentVolumeClaim",
        ),
        ("/api/v1/pods", "v1", "Pod"),
        (
            "/apis/storage.k8s.io/v1/storageclasses",
            "storage.k8s.io/v1",
            "StorageClass",
        ),
    ];
    for (path, api_version, kind) in builtin.into_iter().chain(WORKLOADS) {
        server.get(
            path,
            list_answer(&builtin_list(api_version, kind, "303", &of_kind(kind))),
        );
    }
    server.get(
        SCHEDULES,
        list_answer(&custom_list(
            "velero.io/v1",
            "Schedule",
            "303",
            &of_kind("Schedule"),
        )),
    );
}

const FIXTURE_POLICY: &str = include_str!("../../fixtures/policy/rules-daily-meets-standard.yaml");

#[tokio::test]
async fn offline_and_cluster_audits_of_the_same_statefulset_agree() {
    let file = "fixtures/workload-controllers/statefulset-with-claim-templates-3-replicas.yaml";
    let policy = Arc::new(Policy::from_yaml(FIXTURE_POLICY, "policy.yaml").unwrap());
    let offline = backstop_webhook::manifests::load_inventory(&[format!(
        "{}/../{file}",
        env!("CARGO_MANIFEST_DIR")
    )
    .into()])
    .unwrap();
    let offline = AuditReport::new(&CoverageIndex::build(Arc::clone(&policy), offline));

    let server = MockApiServer::start().await;
    cluster(&server);
    serve(&server, &documents(file));
    let live = load_cluster_inventory(server.client(), "velero", "velero")
        .await
        .unwrap();
    assert_eq!(live.pods.len(), 3, "web-store-0..2, predicted");
    let live = AuditReport::new(&CoverageIndex::build(policy, live));

    let claims: Vec<&str> = live
        .objects
        .iter()
        .filter(|verdict| verdict.kind == policy::ObjectKind::PersistentVolumeClaim)
        .map(|verdict| verdict.name.as_str())
        .collect();
    assert_eq!(
        claims,
        ["data-web-store-0", "data-web-store-1", "data-web-store-2"]
    );
    assert_eq!(offline.objects, live.objects);
    assert!(server.unrouted().is_empty(), "{:?}", server.unrouted());
}

/// A Deployment, the ReplicaSet it created and that ReplicaSet's running pod, which mounts the
/// claim `cache`, as the API server lists them (ownerReferences with `controller: true`).
fn deployed_web() -> Vec<Value> {
    let template = json!({
        "metadata": {"labels": {"app": "web"}},
        "spec": {
            "containers": [{"name": "web", "image": "nginx",
                            "volumeMounts": [{"name": "cache", "mountPath": "/cache"}]}],
            "volumes": [{"name": "cache", "persistentVolumeClaim": {"claimName": "cache"}}],
        },
    });
    let owner = |kind: &str, name: &str, uid: &str| {
        json!([{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": uid,
                "controller": true, "blockOwnerDeletion": true}])
    };
    let mut pod = template.clone();
    pod["kind"] = json!("Pod");
    pod["metadata"] = json!({"name": "web-5d4f8-x7k2p", "namespace": "registry",
                             "labels": {"app": "web"},
                             "ownerReferences": owner("ReplicaSet", "web-5d4f8", "u-rs")});
    pod["status"] = json!({"phase": "Running"});
    vec![
        json!({"kind": "Namespace", "metadata": {"name": "registry"}}),
        json!({"kind": "PersistentVolumeClaim",
               "metadata": {"name": "cache", "namespace": "registry"},
               "spec": {"storageClassName": "fast", "volumeName": "pv-1"},
               "status": {"phase": "Bound"}}),
        json!({"kind": "Deployment", "metadata": {"name": "web", "namespace": "registry", "uid": "u-deploy"},
               "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": template}}),
        json!({"kind": "ReplicaSet",
               "metadata": {"name": "web-5d4f8", "namespace": "registry", "uid": "u-rs",
                            "ownerReferences": owner("Deployment", "web", "u-deploy")},
               "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": template}}),
        pod,
    ]
}

#[tokio::test]
async fn real_pods_win_a_pod_of_a_replicaset_of_a_deployment_is_not_counted_twice() {
    let server = MockApiServer::start().await;
    cluster(&server);
    serve(&server, &deployed_web());
    let inventory = load_cluster_inventory(server.client(), "velero", "velero")
        .await
        .unwrap();
    let pods: Vec<&str> = inventory
        .pods
        .iter()
        .map(|pod| pod.metadata.name.as_str())
        .collect();
    assert_eq!(
        pods,
        ["web-5d4f8-x7k2p"],
        "neither the Deployment nor its ReplicaSet adds one"
    );
    assert_eq!(inventory.pvcs.len(), 1);
}

#[tokio::test]
async fn a_deployment_whose_pods_do_not_exist_yet_counts_as_the_pod_it_will_run() {
    let server = MockApiServer::start().await;
    cluster(&server);
    let objects: Vec<Value> = deployed_web()
        .into_iter()
        .filter(|object| object["kind"] != "Pod" && object["kind"] != "ReplicaSet")
        .collect();
    serve(&server, &objects);
    let inventory = load_cluster_inventory(server.client(), "velero", "velero")
        .await
        .unwrap();
    let pods: Vec<&str> = inventory
        .pods
        .iter()
        .map(|pod| pod.metadata.name.as_str())
        .collect();
    assert_eq!(pods, ["deployment/web"]);
    assert_eq!(
        inventory.pods[0]
            .volumes_for_claim("cache")
            .collect::<Vec<_>>(),
        ["cache"]
    );
}

/// A kubeconfig with two contexts: `mock` (this server, the current one) and `elsewhere` (a
/// port nothing listens on).
fn kubeconfig(server: &MockApiServer, dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    let config = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: mock\n\
         clusters:\n- name: mock\n  cluster: {{server: 'http://{}'}}\n- name: elsewhere\n  cluster: {{server: 'http://127.0.0.1:9'}}\n\
         contexts:\n- name: mock\n  context: {{cluster: mock, user: viewer}}\n- name: elsewhere\n  context: {{cluster: elsewhere, user: viewer}}\n\
         users:\n- name: viewer\n  user: {{}}\n",
        server.addr()
    );
    std::fs::write(&path, config).unwrap();
    path
}

async fn kubectl_backstop(kubeconfig: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "--policy".to_string(),
        format!(
            "{}/../fixtures/policy/rules-daily-meets-standard.yaml",
            env!("CARGO_MANIFEST_DIR")
        ),
        "--output".to_string(),
        "json".to_string(),
    ];
    args.extend(extra.iter().map(|arg| arg.to_string()));
    let kubeconfig = kubeconfig.to_path_buf();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-backstop"))
            .args(&args)
            .env("KUBECONFIG", kubeconfig)
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env_remove("BACKSTOP_MANIFESTS")
            .env_remove("BACKSTOP_CLUSTER")
            .env_remove("BACKSTOP_CONTEXT")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn kubectl_backstop_reads_the_cluster_of_the_current_context_by_default() {
    let server = MockApiServer::start().await;
    cluster(&server);
    serve(
        &server,
        &documents(
            "fixtures/workload-controllers/statefulset-with-claim-templates-3-replicas.yaml",
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(&server, dir.path());

    let output = kubectl_backstop(&config, &[]).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let claims: Vec<&str> = report["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|object| object["kind"] == "PersistentVolumeClaim")
        .map(|object| object["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        claims,
        ["data-web-store-0", "data-web-store-1", "data-web-store-2"]
    );
    assert!(
        server.count(NAMESPACES, Call::Read) >= 1,
        "it read this server"
    );

    let elsewhere = kubectl_backstop(&config, &["--context", "elsewhere"]).await;
    assert_eq!(
        elsewhere.status.code(),
        Some(3),
        "--context picks the other cluster"
    );
    assert!(
        String::from_utf8_lossy(&elsewhere.stderr).starts_with("kubectl backstop: cannot list"),
        "{}",
        String::from_utf8_lossy(&elsewhere.stderr)
    );
}

/// The Velero Deployment `velero install --features=EnableCSI --default-volumes-to-fs-backup`
/// writes (`fixtures/velero-server/velero-deployment.yaml`), as JSON.
fn velero_deployment() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/velero-server/velero-deployment.yaml"
    ))
    .unwrap();
    policy::yaml::documents(&text, "velero-deployment.yaml")
        .unwrap()
        .remove(0)
}

/// In a cluster the server's release and flags are read from the Velero Deployment (a GET of
/// that one object, answered with capture 03's status and headers of a 200 read, exchange 3),
/// and the Velero namespace's ConfigMaps are listed, so a resource policy is judged.
#[tokio::test]
async fn reads_the_velero_deployment_and_the_velero_namespace_config_maps() {
    let server = MockApiServer::start().await;
    cluster(&server);
    server.get(VELERO_DEPLOYMENT, list_answer(&velero_deployment()));
    let policy_map = json!({"metadata": {"name": "volume-policy", "namespace": "velero"},
        "data": {"policy.yaml": "version: v1\nvolumePolicies: []\n"}});
    server.get(
        VELERO_CONFIG_MAPS,
        list_answer(&builtin_list("v1", "ConfigMap", "303", &[policy_map])),
    );
    let inventory = load_cluster_inventory(server.client(), "velero", "velero")
        .await
        .unwrap();
    assert!(inventory.config_maps_listed);
    assert_eq!(inventory.config_maps.len(), 1);
    let policy = Arc::new(Policy::from_yaml(POLICY, "policy.yaml").unwrap());
    let index = CoverageIndex::build(policy, inventory);
    let view = index.server_view();
    assert_eq!(view.version(), policy::versions::VeleroVersion::new(1, 16));
    assert!(view.server.csi_enabled() && view.server.default_volumes_to_fs_backup);
    assert_eq!(view.server.origin, "the Velero Deployment velero/velero");
    assert!(server.unrouted().is_empty(), "{:?}", server.unrouted());
}

/// An account that may not read the Deployment or the ConfigMaps (capture 16, exchange 4: a
/// 403 Status) still audits: the policy's section stands in for the server, and a resource
/// policy is judged as offline.
#[tokio::test]
async fn a_forbidden_velero_deployment_falls_back_to_the_policy() {
    let server = MockApiServer::start().await;
    cluster(&server);
    let forbidden = Captured::response("16-rbac-forbidden-403.json", 4);
    server.get(VELERO_DEPLOYMENT, forbidden.clone());
    server.get(VELERO_CONFIG_MAPS, forbidden);
    let inventory = load_cluster_inventory(server.client(), "velero", "velero")
        .await
        .unwrap();
    assert!(inventory.velero_deployment.is_none());
    assert!(!inventory.config_maps_listed);
}

/// The documents of `fixtures/velero-skips/bound-hostpath-volume.yaml` (Namespace, Schedule,
/// PersistentVolume, claim, pod) as the API server stores them: the claim `Bound` and the pod
/// `Running` (a manifest carries no status; a live object does).
fn bound_volume_cluster() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/velero-skips/bound-hostpath-volume.yaml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let mut documents = policy::yaml::documents(&text, path).unwrap();
    for document in &mut documents {
        match document["kind"].as_str() {
            Some("PersistentVolumeClaim") => document["status"] = json!({"phase": "Bound"}),
            Some("PersistentVolume") => document["status"] = json!({"phase": "Bound"}),
            Some("Pod") => document["status"] = json!({"phase": "Running"}),
            _ => {}
        }
    }
    documents
}

/// The verdict `audit --cluster` gives the claim `team-skips/data` when the API server holds
/// `documents`, the rest of the cluster as [`cluster`] serves it.
async fn claim_verdict_read_from_the_cluster(documents: &[Value]) -> policy::Verdict {
    let server = MockApiServer::start().await;
    cluster(&server);
    let of_kind = |kind: &str| -> Vec<Value> {
        documents
            .iter()
            .filter(|document| document["kind"] == kind)
            .cloned()
            .collect()
    };
    for (path, kind) in [
        (NAMESPACES, "Namespace"),
        ("/api/v1/persistentvolumeclaims", "PersistentVolumeClaim"),
        ("/api/v1/pods", "Pod"),
        ("/api/v1/persistentvolumes", "PersistentVolume"),
    ] {
        server.route(
            Method::GET,
            path,
            Call::Read,
            vec![Answer::Full(list_answer(&builtin_list(
                "v1",
                kind,
                "303",
                &of_kind(kind),
            )))],
        );
    }
    server.get(
        SCHEDULES,
        list_answer(&custom_list(
            "velero.io/v1",
            "Schedule",
            "303",
            &of_kind("Schedule"),
        )),
    );
    let inventory = load_cluster_inventory(server.client(), "velero", "velero")
        .await
        .unwrap();
    assert!(server.unrouted().is_empty(), "{:?}", server.unrouted());
    let policy_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/policy/rules-daily-meets-standard.yaml"
    );
    let policy =
        Policy::from_yaml(&std::fs::read_to_string(policy_path).unwrap(), policy_path).unwrap();
    CoverageIndex::build(Arc::new(policy), inventory)
        .evaluate_all()
        .into_iter()
        .find(|verdict| {
            verdict.kind == ObjectKind::PersistentVolumeClaim
                && verdict.namespace == "team-skips"
                && verdict.name == "data"
        })
        .unwrap()
}

/// Issue 16 item 6 in a cluster: the bound PersistentVolume read from the API decides. A
/// `hostPath` PV is skipped by Velero's file-system backup (`pkg/podvolume/backupper.go`,
/// `BackupPodVolumes`, `isHostPathVolume`) with only a warning, so the claim's data is not
/// backed up; the same claim bound to a `local` PV is copied. Lists keep capture 03's headers
/// (exchange 3) and capture 13's built-in list shape.
#[tokio::test]
async fn the_bound_persistent_volume_read_from_the_cluster_decides_the_host_path_skip() {
    let documents = bound_volume_cluster();
    let skipped = claim_verdict_read_from_the_cluster(&documents).await;
    let codes: Vec<GapCode> = skipped.gaps.iter().map(|gap| gap.code).collect();
    assert_eq!(codes, [GapCode::VolumeNotBackedUp], "{skipped:?}");
    assert!(
        skipped.gaps[0].message.contains("hostPath"),
        "{}",
        skipped.gaps[0].message
    );

    let local: Vec<Value> = documents
        .into_iter()
        .map(|mut document| {
            if document["kind"] == "PersistentVolume" {
                let spec = document["spec"].as_object_mut().unwrap();
                spec.remove("hostPath");
                spec.insert("local".to_string(), json!({"path": "/srv/data"}));
            }
            document
        })
        .collect();
    let copied = claim_verdict_read_from_the_cluster(&local).await;
    assert!(copied.gaps.is_empty(), "{copied:?}");
    assert_eq!(copied.covered_by, ["daily-fs"]);
}
