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
use policy::{CoverageIndex, GapCode, Policy};
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

const UNSERVED: &str = "01-unserved-group-404-text-plain.json";
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
    let inventory = load_cluster_inventory(server.client(), "velero")
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
    let error = load_cluster_inventory(server.client(), "velero")
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
    let error = load_cluster_inventory(server.client(), "velero")
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
    let inventory = load_cluster_inventory(server.client(), "velero")
        .await
        .unwrap();
    assert_eq!(inventory.namespaces.len(), 2);
    assert_eq!(server.count(NAMESPACES, Call::Read), 3);
}
