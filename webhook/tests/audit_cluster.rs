//! `audit --cluster` reads the live cluster with paginated, read-only list calls; here the
//! cluster is a mocked Kubernetes API server at the HTTP level (tower-test).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use backstop_webhook::audit::{AuditReport, load_cluster_inventory};
use http::{Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use policy::{CoverageIndex, GapCode, Policy};
use serde_json::{Value, json};
use tower_test::mock;

type MockBody = UnsyncBoxBody<Bytes, Infallible>;

const POLICY: &str = "\
veleroNamespace: velero
tiers:
  critical: { rpo: 15m, rto: 1h, minRetention: 168h }
  standard: { rpo: 25h, rto: 4h, minRetention: 720h }
protected:
  - { namespace: registry, tier: standard }
  - { namespace: data-platform, tier: critical }
";

fn list(kind: &str, items: Vec<Value>, next: Option<&str>) -> Value {
    json!({"apiVersion": "v1", "kind": format!("{kind}List"),
           "metadata": {"resourceVersion": "7", "continue": next.unwrap_or("")}, "items": items})
}

fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

fn respond(path: &str, query: &str) -> (StatusCode, Value) {
    let second_page = query.contains("continue=page-2");
    match path {
        // Two pages: the audit must follow the continue token.
        "/api/v1/namespaces" if !second_page => (
            StatusCode::OK,
            list("Namespace", vec![namespace("registry")], Some("page-2")),
        ),
        "/api/v1/namespaces" => (
            StatusCode::OK,
            list("Namespace", vec![namespace("data-platform")], None),
        ),
        "/api/v1/persistentvolumeclaims" | "/api/v1/pods" => {
            (StatusCode::OK, list("X", vec![], None))
        }
        "/apis/storage.k8s.io/v1/storageclasses" => {
            (StatusCode::OK, list("StorageClass", vec![], None))
        }
        "/apis/velero.io/v1/namespaces/velero/schedules" => (
            StatusCode::OK,
            list(
                "Schedule",
                vec![json!({"apiVersion": "velero.io/v1", "kind": "Schedule",
                    "metadata": {"name": "daily", "namespace": "velero"},
                    "spec": {"schedule": "0 2 * * *", "template": {"includedNamespaces": ["registry"]}}})],
                None,
            ),
        ),
        "/apis/velero.io/v1/namespaces/velero/volumesnapshotlocations" => {
            (StatusCode::OK, list("VolumeSnapshotLocation", vec![], None))
        }
        // No CSI snapshot CRDs installed: a 404 means "none", not an error.
        "/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses" => (
            StatusCode::NOT_FOUND,
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404, "message": "the server could not find the requested resource"}),
        ),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"unexpected": path}),
        ),
    }
}

#[tokio::test]
async fn reads_every_page_of_a_live_cluster_with_list_calls_only() {
    let (service, mut handle) = mock::pair::<Request<kube::client::Body>, Response<MockBody>>();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorder = Arc::clone(&seen);
    let server = tokio::spawn(async move {
        while let Some((request, send)) = handle.next_request().await {
            let path = request.uri().path().to_string();
            let query = request.uri().query().unwrap_or_default().to_string();
            recorder
                .lock()
                .unwrap()
                .push((request.method().to_string(), path.clone()));
            let (status, body) = respond(&path, &query);
            send.send_response(
                Response::builder()
                    .status(status)
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(body.to_string())).boxed_unsync())
                    .unwrap(),
            );
        }
    });
    let client = kube::Client::new(service, "default");
    let inventory = load_cluster_inventory(client, "velero").await.unwrap();
    server.abort();

    let names: Vec<&str> = inventory
        .namespaces
        .iter()
        .map(|ns| ns.metadata.name.as_str())
        .collect();
    assert_eq!(names, ["registry", "data-platform"]);
    assert_eq!(inventory.schedules.len(), 1);
    assert!(inventory.snapshot_classes.is_empty());
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .all(|(method, _)| method == "GET"),
        "read-only"
    );

    let policy = Arc::new(Policy::from_yaml(POLICY, "policy.yaml").unwrap());
    let report = AuditReport::new(&CoverageIndex::build(policy, inventory));
    let registry = report
        .objects
        .iter()
        .find(|verdict| verdict.name == "registry")
        .unwrap();
    assert_eq!(registry.covered_by, ["daily"]);
    let data_platform = report
        .objects
        .iter()
        .find(|verdict| verdict.name == "data-platform")
        .unwrap();
    assert!(data_platform.has_gap(GapCode::NoSchedule));
    assert!(report.has_gaps());
}

#[tokio::test]
async fn a_failing_list_names_the_resource() {
    let (service, mut handle) = mock::pair::<Request<kube::client::Body>, Response<MockBody>>();
    let server = tokio::spawn(async move {
        while let Some((_, send)) = handle.next_request().await {
            send.send_response(
                Response::builder()
                    .status(StatusCode::FORBIDDEN)
                    .header("content-type", "application/json")
                    .body(
                        Full::new(Bytes::from(
                            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden", "code": 403, "message": "namespaces is forbidden"}).to_string(),
                        ))
                        .boxed_unsync(),
                    )
                    .unwrap(),
            );
        }
    });
    let error = load_cluster_inventory(kube::Client::new(service, "default"), "velero")
        .await
        .unwrap_err()
        .to_string();
    server.abort();
    assert!(error.starts_with("cannot list namespaces:"), "{error}");
}
