//! The cluster-mode caches against a mocked Kubernetes API server (tower-test, at the HTTP
//! level, as kube-rs's own tests do): readiness only after every reflector's first full sync,
//! and a Schedule deleted at runtime turning a covered namespace into a denial.

// Test code: a failed unwrap is a failed test (clippy only exempts #[test] functions).
#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body as AxumBody;
use backstop_webhook::args::TimeoutDecision;
use backstop_webhook::cache::IndexBuilder;
use backstop_webhook::cache::cluster::{self, ClusterOptions};
use backstop_webhook::metrics::Metrics;
use backstop_webhook::server::probe_router;
use backstop_webhook::state::AppState;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame};
use policy::objects::{Meta, NamespaceFacts};
use policy::{CoverageIndex, GapCode, Inventory, Policy};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tower::ServiceExt;
use tower_test::mock;

type MockBody = UnsyncBoxBody<Bytes, Infallible>;
type ApiHandle = mock::Handle<Request<kube::client::Body>, Response<MockBody>>;

const POLICY: &str = "\
veleroNamespace: velero
tiers:
  standard: { rpo: 24h, rto: 4h, minRetention: 720h }
protected:
  - { namespace: registry, tier: standard }
exempt:
  namespaces: [kube-system, velero]
";

fn schedule(resource_version: &str) -> Value {
    json!({
        "apiVersion": "velero.io/v1", "kind": "Schedule",
        "metadata": {"name": "registry-6h", "namespace": "velero",
                     "resourceVersion": resource_version, "uid": "s-1"},
        "spec": {"schedule": "0 */6 * * *",
                 "template": {"includedNamespaces": ["registry"], "ttl": "720h0m0s"}}
    })
}

fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace",
           "metadata": {"name": name, "resourceVersion": "1", "uid": format!("ns-{name}"),
                        "labels": {"kubernetes.io/metadata.name": name}}})
}

fn list(api_version: &str, kind: &str, items: Vec<Value>) -> Value {
    json!({"apiVersion": api_version, "kind": format!("{kind}List"),
           "metadata": {"resourceVersion": "1"}, "items": items})
}

fn full(status: StatusCode, body: &Value) -> Response<MockBody> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())).boxed_unsync())
        .unwrap()
}

/// A watch response that stays open; events are sent through the returned channel.
fn streaming() -> (mpsc::UnboundedSender<Bytes>, Response<MockBody>) {
    let (sender, receiver) = mpsc::unbounded_channel::<Bytes>();
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|line| (Ok::<_, Infallible>(Frame::data(line)), receiver))
    });
    let response = Response::builder()
        .header("content-type", "application/json")
        .body(StreamBody::new(stream).boxed_unsync())
        .unwrap();
    (sender, response)
}

/// The fake apiserver: lists, open watches, a 404 for the snapshot CRDs (not installed), and
/// a namespace list held back until the test releases it.
struct ApiServer {
    release_namespaces: watch::Receiver<bool>,
    schedule_watches: Mutex<Vec<mpsc::UnboundedSender<Bytes>>>,
    other_watches: Mutex<Vec<mpsc::UnboundedSender<Bytes>>>,
}

impl ApiServer {
    async fn respond(&self, request: Request<kube::client::Body>) -> Response<MockBody> {
        let path = request.uri().path().to_string();
        let watching = request
            .uri()
            .query()
            .is_some_and(|query| query.contains("watch=true"));
        if path == "/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses" {
            let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                "message": "the server could not find the requested resource",
                                "reason": "NotFound", "code": 404});
            return full(StatusCode::NOT_FOUND, &status);
        }
        if watching {
            let (sender, response) = streaming();
            let watches = if path.ends_with("/schedules") {
                &self.schedule_watches
            } else {
                &self.other_watches
            };
            watches.lock().unwrap().push(sender);
            return response;
        }
        let body = match path.as_str() {
            "/apis/velero.io/v1/namespaces/velero/schedules" => {
                list("velero.io/v1", "Schedule", vec![schedule("1")])
            }
            "/api/v1/namespaces" => {
                let mut release = self.release_namespaces.clone();
                let _ = release.wait_for(|released| *released).await;
                list(
                    "v1",
                    "Namespace",
                    vec![namespace("registry"), namespace("kube-system")],
                )
            }
            "/api/v1/persistentvolumeclaims" => list("v1", "PersistentVolumeClaim", vec![]),
            "/api/v1/pods" => list("v1", "Pod", vec![]),
            "/apis/storage.k8s.io/v1/storageclasses" => {
                list("storage.k8s.io/v1", "StorageClass", vec![])
            }
            "/apis/velero.io/v1/namespaces/velero/volumesnapshotlocations" => {
                list("velero.io/v1", "VolumeSnapshotLocation", vec![])
            }
            other => {
                return full(
                    StatusCode::NOT_FOUND,
                    &json!({"kind": "Status", "code": 404, "message": other}),
                );
            }
        };
        full(StatusCode::OK, &body)
    }
}

async fn serve_api(mut handle: ApiHandle, api: Arc<ApiServer>) {
    while let Some((request, send)) = handle.next_request().await {
        let api = Arc::clone(&api);
        tokio::spawn(async move { send.send_response(api.respond(request).await) });
    }
}

async fn readyz(state: &AppState) -> StatusCode {
    probe_router(state.clone())
        .oneshot(Request::get("/readyz").body(AxumBody::empty()).unwrap())
        .await
        .unwrap()
        .status()
}

async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `/validate` for a Namespace CREATE of `name`, through the admission router: allowed?
async fn validate_namespace(state: &AppState, name: &str) -> Value {
    let review = json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "0d0b7e4e-5b9c-4b53-9d36-000000000001",
            "kind": {"group": "", "version": "v1", "kind": "Namespace"},
            "resource": {"group": "", "version": "v1", "resource": "namespaces"},
            "name": name, "namespace": name, "operation": "CREATE",
            "userInfo": {"username": "admin"},
            "object": {"apiVersion": "v1", "kind": "Namespace",
                       "metadata": {"name": name,
                                    "labels": {"kubernetes.io/metadata.name": name,
                                               "backstop.io/tier": "standard"},
                                    "annotations": {"backstop.io/tier": "standard"}}},
            "oldObject": null, "dryRun": false
        }
    });
    let response = backstop_webhook::admission::router(state.clone())
        .oneshot(
            Request::post("/validate?timeout=10s")
                .header("content-type", "application/json")
                .body(AxumBody::from(review.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let answer: Value = serde_json::from_slice(&body).unwrap();
    answer["response"].clone()
}

fn registry_gaps(state: &AppState) -> Vec<GapCode> {
    let facts = NamespaceFacts {
        metadata: Meta::named("registry"),
    };
    state
        .index()
        .evaluate_namespace(&facts)
        .errors()
        .map(|gap| gap.code)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_after_first_sync_and_a_deleted_schedule_turns_coverage_into_a_denial() {
    let policy = Arc::new(Policy::from_yaml(POLICY, "policy.yaml").unwrap());
    let metrics = Arc::new(Metrics::new());
    let state = AppState::new(
        CoverageIndex::build(Arc::clone(&policy), Inventory::default()),
        Arc::clone(&metrics),
        TimeoutDecision::Deny,
    );
    let (release, release_namespaces) = watch::channel(false);
    let api = Arc::new(ApiServer {
        release_namespaces,
        schedule_watches: Mutex::default(),
        other_watches: Mutex::default(),
    });
    let (service, handle) = mock::pair::<Request<kube::client::Body>, Response<MockBody>>();
    tokio::spawn(serve_api(handle, Arc::clone(&api)));
    let client = kube::Client::new(service, "default");
    let (stop, stopped) = watch::channel(false);
    let cache = cluster::spawn(
        client,
        IndexBuilder::new(Arc::clone(&policy), state.clone()),
        ClusterOptions {
            debounce: Duration::from_millis(50),
        },
        stopped,
    );

    // Every other resource syncs (the snapshot classes by their 404); namespaces are held back.
    eventually("the schedules watch", || {
        !api.schedule_watches.lock().unwrap().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!state.is_ready());
    assert_eq!(readyz(&state).await, StatusCode::SERVICE_UNAVAILABLE);
    let text = metrics.encode();
    assert!(
        text.contains("backstop_cache_synced{resource=\"schedules\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("backstop_cache_synced{resource=\"namespaces\"} 0"),
        "{text}"
    );
    assert!(text.contains("backstop_cache_synced{resource=\"volumesnapshotclasses\"} 1"));

    // The namespace list completes: ready, and registry is covered by its schedule.
    release.send(true).unwrap();
    eventually("readiness", || state.is_ready()).await;
    assert_eq!(readyz(&state).await, StatusCode::OK);
    assert_eq!(registry_gaps(&state), []);
    let answer = validate_namespace(&state, "registry").await;
    assert_eq!(answer["allowed"], true, "{answer}");
    let text = metrics.encode();
    assert!(
        text.contains("backstop_cache_objects{resource=\"schedules\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("backstop_cache_objects{resource=\"namespaces\"} 2"),
        "{text}"
    );
    assert!(text.contains("backstop_uncovered_objects{kind=\"Namespace\",tier=\"standard\"} 0"));

    // The Schedule is deleted: a watch event, then (after the debounce) a new index.
    let event = json!({"type": "DELETED", "object": schedule("2")});
    for watch in api.schedule_watches.lock().unwrap().iter() {
        let _ = watch.send(Bytes::from(format!("{event}\n")));
    }
    eventually("the deletion to reach the index", || {
        registry_gaps(&state) == [GapCode::NoSchedule]
    })
    .await;
    let answer = validate_namespace(&state, "registry").await;
    assert_eq!(answer["allowed"], false, "{answer}");
    let message = answer["status"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("registry"), "{message}");
    let text = metrics.encode();
    assert!(
        text.contains("backstop_cache_objects{resource=\"schedules\"} 0"),
        "{text}"
    );
    assert!(text.contains("backstop_uncovered_objects{kind=\"Namespace\",tier=\"standard\"} 1"));
    assert!(state.is_ready());

    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), cache)
        .await
        .unwrap()
        .unwrap();
}
