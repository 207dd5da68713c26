//! The cluster-mode caches against a mock API server that answers with real kube-apiserver
//! v1.36 responses (`fixtures/apiserver-captures/`, served over a real socket by
//! `support/apiserver.rs`): readiness after every cache's first sync, an unserved optional API
//! (the real text/plain 404) counted as empty and picked up when it appears, a missing Velero
//! CRD holding readiness back, and cache loss (API server gone, too-old watch, expired
//! continue token) answered from the last good index.
//!
//! Where an answer is derived from a capture (a Schedule list built from capture 03's
//! RestoreList, say), the comment names the capture it keeps the shape of.

// Test code: a failed unwrap is a failed test (clippy only exempts #[test] functions).
#![allow(clippy::unwrap_used)]

#[path = "support/apiserver.rs"]
mod apiserver;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apiserver::{
    Answer, Call, Captured, MockApiServer, available_storage_location, builtin_list, capture_file,
    custom_list, watch_event,
};
use axum::body::Body as AxumBody;
use backstop_webhook::args::TimeoutDecision;
use backstop_webhook::cache::IndexBuilder;
use backstop_webhook::cache::cluster::{self, ClusterOptions};
use backstop_webhook::cache::reflector::Timing;
use backstop_webhook::metrics::Metrics;
use backstop_webhook::server::probe_router;
use backstop_webhook::state::AppState;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use policy::objects::{Meta, NamespaceFacts};
use policy::versions::VeleroVersion;
use policy::{CoverageIndex, GapCode, Inventory, Policy};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;

const POLICY: &str = "\
veleroNamespace: velero
tiers:
  critical: { rpo: 2h, rto: 1h, minRetention: 168h }
protected:
  - { namespace: data-platform, tier: critical }
exempt:
  namespaces: [kube-system, velero]
";

const SCHEDULES: &str = "/apis/velero.io/v1/namespaces/velero/schedules";
const LOCATIONS: &str = "/apis/velero.io/v1/namespaces/velero/volumesnapshotlocations";
const STORAGE_LOCATIONS: &str = "/apis/velero.io/v1/namespaces/velero/backupstoragelocations";
const NAMESPACES: &str = "/api/v1/namespaces";
const PVCS: &str = "/api/v1/persistentvolumeclaims";
const PODS: &str = "/api/v1/pods";
const STORAGE_CLASSES: &str = "/apis/storage.k8s.io/v1/storageclasses";
const SNAPSHOT_CLASSES: &str = "/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses";
const PERSISTENT_VOLUMES: &str = "/api/v1/persistentvolumes";
const VELERO_DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/velero/deployments";
const VELERO_CONFIG_MAPS: &str = "/api/v1/namespaces/velero/configmaps";
const VELERO_DISCOVERY: &str = "/apis/velero.io/v1";
const SNAPSHOT_DISCOVERY: &str = "/apis/snapshot.storage.k8s.io/v1";

const UNSERVED: &str = "01-unserved-group-404-text-plain.json";
const VELERO_DISCOVERED: &str = "04-discovery-velero-v1.json";
const EMPTY_LISTS: &str = "03-get-missing-object-and-missing-namespace.json";
const SCHEDULE_APPLIED: &str = "21-server-side-apply-schedule-conflict.json";
const NAMESPACE_CREATED: &str = "02-create-namespace-201-then-409.json";

/// Capture 21, exchange 0: the Schedule `backstop-critical` (hourly; data-platform and
/// vault-prod) as the server stored it.
fn schedule() -> Value {
    Captured::response(SCHEDULE_APPLIED, 0).json()
}

/// Capture 02, exchange 0: the Namespace `velero` as the server created it, renamed.
fn namespace(name: &str) -> Value {
    let mut namespace = Captured::response(NAMESPACE_CREATED, 0).json();
    namespace["metadata"]["name"] = json!(name);
    namespace["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
    namespace
}

/// A 200 list answer with this body: the status and headers of capture 03's lists
/// (exchange 3, a RestoreList; exchange 4, a ConfigMapList, has the same headers).
fn list_answer(body: &Value) -> Captured {
    Captured::response(EMPTY_LISTS, 3).with_json(body)
}

fn schedules_list(items: &[Value]) -> Captured {
    list_answer(&custom_list("velero.io/v1", "Schedule", "400", items))
}

/// A cluster with Velero's CRDs, no snapshot API, one Schedule and the namespaces
/// `data-platform` and `velero`; every watch stays open.
fn velero_cluster(server: &MockApiServer) {
    server.get(VELERO_DISCOVERY, Captured::response(VELERO_DISCOVERED, 0));
    // Capture 01: exchange 3 is discovery of the unserved group-version, 0 its list.
    server.get(SNAPSHOT_DISCOVERY, Captured::response(UNSERVED, 3));
    server.get(SNAPSHOT_CLASSES, Captured::response(UNSERVED, 0));
    server.get(SCHEDULES, schedules_list(&[schedule()]));
    server.get(
        LOCATIONS,
        list_answer(&custom_list(
            "velero.io/v1",
            "VolumeSnapshotLocation",
            "400",
            &[],
        )),
    );
    server.get(
        STORAGE_LOCATIONS,
        list_answer(&custom_list(
            "velero.io/v1",
            "BackupStorageLocation",
            "400",
            &[available_storage_location()],
        )),
    );
    server.get(
        NAMESPACES,
        list_answer(&builtin_list(
            "v1",
            "Namespace",
            "400",
            &[namespace("data-platform"), namespace("velero")],
        )),
    );
    server.get(
        PVCS,
        list_answer(&builtin_list("v1", "PersistentVolumeClaim", "400", &[])),
    );
    server.get(PODS, list_answer(&builtin_list("v1", "Pod", "400", &[])));
    server.get(
        PERSISTENT_VOLUMES,
        list_answer(&builtin_list("v1", "PersistentVolume", "400", &[])),
    );
    server.get(
        VELERO_DEPLOYMENTS,
        list_answer(&builtin_list("apps/v1", "Deployment", "400", &[])),
    );
    server.get(
        VELERO_CONFIG_MAPS,
        list_answer(&builtin_list("v1", "ConfigMap", "400", &[])),
    );
    server.get(
        STORAGE_CLASSES,
        list_answer(&builtin_list(
            "storage.k8s.io/v1",
            "StorageClass",
            "400",
            &[],
        )),
    );
    for path in [
        SCHEDULES,
        LOCATIONS,
        STORAGE_LOCATIONS,
        NAMESPACES,
        PVCS,
        PODS,
        STORAGE_CLASSES,
        PERSISTENT_VOLUMES,
        VELERO_DEPLOYMENTS,
        VELERO_CONFIG_MAPS,
    ] {
        server.open_watches(path);
    }
}

fn timing() -> Timing {
    Timing {
        rediscover: Duration::from_millis(300),
        backoff_first: Duration::from_millis(50),
        backoff_max: Duration::from_millis(400),
        watch_timeout_seconds: 290,
        watch_idle_margin: Duration::from_secs(10),
    }
}

struct Webhook {
    state: AppState,
    stop: watch::Sender<bool>,
    cache: JoinHandle<()>,
}

impl Webhook {
    fn start(server: &MockApiServer, max_staleness: Duration) -> Self {
        let policy = Arc::new(Policy::from_yaml(POLICY, "policy.yaml").unwrap());
        let state = AppState::new(
            CoverageIndex::build(Arc::clone(&policy), Inventory::default()),
            Arc::new(Metrics::new()),
            TimeoutDecision::Deny,
        )
        .with_max_cache_staleness(max_staleness);
        let (stop, stopped) = watch::channel(false);
        let cache = cluster::spawn(
            server.client(),
            IndexBuilder::new(policy, state.clone()),
            ClusterOptions {
                debounce: Duration::from_millis(50),
                timing: timing(),
            },
            stopped,
        );
        Self { state, stop, cache }
    }

    async fn probe(&self, path: &str) -> (StatusCode, String) {
        let response = probe_router(self.state.clone())
            .oneshot(Request::get(path).body(AxumBody::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    async fn metrics(&self) -> String {
        self.probe("/metrics").await.1
    }

    /// The errors coverage finds for the namespace `data-platform` now.
    fn data_platform_gaps(&self) -> Vec<GapCode> {
        let facts = NamespaceFacts {
            metadata: Meta::named("data-platform"),
        };
        self.state
            .index()
            .evaluate_namespace(&facts)
            .errors()
            .map(|gap| gap.code)
            .collect()
    }

    async fn stop(self) {
        self.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), self.cache)
            .await
            .unwrap()
            .unwrap();
    }
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

fn gauge(metrics: &str, name: &str, resource: &str) -> f64 {
    let prefix = format!("{name}{{resource=\"{resource}\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} in\n{metrics}"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turns_ready_on_a_cluster_that_does_not_serve_the_snapshot_api() {
    let server = MockApiServer::start().await;
    velero_cluster(&server);
    let webhook = Webhook::start(&server, Duration::from_secs(300));

    eventually("readiness", || webhook.state.is_ready()).await;
    assert_eq!(webhook.probe("/readyz").await.0, StatusCode::OK);
    assert_eq!(webhook.data_platform_gaps(), []);
    let metrics = webhook.metrics().await;
    assert_eq!(
        gauge(&metrics, "backstop_cache_synced", "volumesnapshotclasses"),
        1.0
    );
    assert_eq!(
        gauge(&metrics, "backstop_cache_objects", "volumesnapshotclasses"),
        0.0
    );
    assert_eq!(gauge(&metrics, "backstop_cache_objects", "schedules"), 1.0);
    assert_eq!(gauge(&metrics, "backstop_cache_objects", "namespaces"), 2.0);
    assert_eq!(
        gauge(&metrics, "backstop_cache_staleness_seconds", "pods"),
        0.0
    );

    // Not served is settled by discovery once per rediscovery period, not retried every
    // second: after 1 s with a 300 ms period, at most 5 discovery calls and no more lists.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let discoveries = server.count(SNAPSHOT_DISCOVERY, Call::Read);
    assert!(
        (1..=5).contains(&discoveries),
        "{discoveries} discovery calls"
    );
    assert!(server.count(SNAPSHOT_CLASSES, Call::Read) <= 1);
    assert!(server.unrouted().is_empty(), "{:?}", server.unrouted());
    webhook.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_api_installed_later_is_watched_within_the_rediscovery_period_and_emptied_when_removed()
 {
    let server = MockApiServer::start().await;
    velero_cluster(&server);
    let webhook = Webhook::start(&server, Duration::from_secs(300));
    eventually("readiness", || webhook.state.is_ready()).await;

    // The external-snapshotter CRDs are installed: discovery now lists the resource. The
    // APIResourceList keeps capture 04's shape (apiVersion "v1", one entry per plural).
    let mut discovered = Captured::response(VELERO_DISCOVERED, 0).json();
    discovered["groupVersion"] = json!("snapshot.storage.k8s.io/v1");
    discovered["resources"] = json!([{
        "name": "volumesnapshotclasses", "singularName": "volumesnapshotclass",
        "namespaced": false, "kind": "VolumeSnapshotClass",
        "verbs": ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"],
        "shortNames": ["vsclass", "vsclasses"], "storageVersionHash": "0Ha8tD5HyJ8="
    }]);
    server.get(
        SNAPSHOT_DISCOVERY,
        Captured::response(VELERO_DISCOVERED, 0).with_json(&discovered),
    );
    let class = json!({
        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
        "deletionPolicy": "Delete", "driver": "ebs.csi.aws.com",
        "metadata": {"creationTimestamp": "2026-12-03T12:30:00Z", "generation": 1,
                     "labels": {"velero.io/csi-volumesnapshot-class": "true"},
                     "name": "csi-aws", "resourceVersion": "500",
                     "uid": "3f9d2c1e-0a4b-4c8e-9d7f-2b6a1e5c4d3f"}
    });
    server.get(
        SNAPSHOT_CLASSES,
        list_answer(&custom_list(
            "snapshot.storage.k8s.io/v1",
            "VolumeSnapshotClass",
            "500",
            &[class],
        )),
    );
    server.open_watches(SNAPSHOT_CLASSES);
    let installed = Instant::now();
    eventually("the snapshot class in the cache", || {
        server.open_watch_count(SNAPSHOT_CLASSES) == 1
    })
    .await;
    let waited = installed.elapsed();
    assert!(
        waited < Duration::from_secs(2),
        "picked up after {waited:?}"
    );
    let mut objects = 0.0;
    for _ in 0..50 {
        objects = gauge(
            &webhook.metrics().await,
            "backstop_cache_objects",
            "volumesnapshotclasses",
        );
        if objects == 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(objects, 1.0);
    assert!(webhook.state.is_ready());

    // The CRDs are removed again: the server ends the watch, and the resource answers as
    // capture 01 shows (list exchange 0, discovery exchange 3). The cache empties, and the
    // webhook stays ready.
    server.get(SNAPSHOT_DISCOVERY, Captured::response(UNSERVED, 3));
    server.get(SNAPSHOT_CLASSES, Captured::response(UNSERVED, 0));
    server.route(
        Method::GET,
        SNAPSHOT_CLASSES,
        Call::Watch,
        vec![Answer::Full(Captured::response(UNSERVED, 2))],
    );
    server.end_watches(SNAPSHOT_CLASSES);
    for _ in 0..100 {
        objects = gauge(
            &webhook.metrics().await,
            "backstop_cache_objects",
            "volumesnapshotclasses",
        );
        if objects == 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(objects, 0.0);
    assert!(webhook.state.is_ready());
    assert!(server.unrouted().is_empty(), "{:?}", server.unrouted());
    webhook.stop().await;
}

/// Every log line (JSON) of the tasks polled on this thread: with a current-thread runtime,
/// that is everything the caches log.
fn capture_logs() -> (Arc<Mutex<Vec<u8>>>, tracing::subscriber::DefaultGuard) {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&buffer);
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || Sink(Arc::clone(&sink)))
        .finish();
    (buffer, tracing::subscriber::set_default(subscriber))
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log_lines(buffer: &Mutex<Vec<u8>>) -> Vec<Value> {
    String::from_utf8(buffer.lock().unwrap().clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[tokio::test]
async fn a_missing_velero_crd_keeps_the_webhook_unready_and_is_retried_with_backoff() {
    let (logs, _logging) = capture_logs();
    let server = MockApiServer::start().await;
    velero_cluster(&server);
    // Velero not installed: its group-version is as unserved as capture 01's (exchange 3).
    server.get(VELERO_DISCOVERY, Captured::response(UNSERVED, 3));
    server.get(SCHEDULES, Captured::response(UNSERVED, 0));
    server.get(LOCATIONS, Captured::response(UNSERVED, 0));
    server.get(STORAGE_LOCATIONS, Captured::response(UNSERVED, 0));
    let webhook = Webhook::start(&server, Duration::from_secs(300));

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, body) = webhook.probe("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!webhook.state.is_ready());
    let metrics = webhook.metrics().await;
    assert_eq!(gauge(&metrics, "backstop_cache_synced", "schedules"), 0.0);
    assert_eq!(gauge(&metrics, "backstop_cache_synced", "namespaces"), 1.0);
    // Three caches ask discovery with a backoff of 50, 100, 200, 400, 400 ms: about 5 calls
    // each in 1.5 s (a fixed 1 s retry would be 2, a busy loop hundreds); never a list.
    let discoveries = server.count(VELERO_DISCOVERY, Call::Read);
    assert!(
        (9..=21).contains(&discoveries),
        "{discoveries} discovery calls"
    );
    assert_eq!(server.count(SCHEDULES, Call::Read), 0);
    // One ERROR line per missing CRD, naming it; the retries are DEBUG, never WARN.
    let lines = log_lines(&logs);
    let loud: Vec<&Value> = lines
        .iter()
        .filter(|line| line["level"] == "WARN" || line["level"] == "ERROR")
        .collect();
    assert_eq!(loud.len(), 3, "{loud:#?}");
    for crd in [
        "schedules.velero.io",
        "volumesnapshotlocations.velero.io",
        "backupstoragelocations.velero.io",
    ] {
        let named: Vec<&&Value> = loud.iter().filter(|line| line["crd"] == crd).collect();
        assert_eq!(named.len(), 1, "{loud:#?}");
        assert_eq!(named[0]["level"], "ERROR");
        let message = named[0]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("{crd} is not installed")),
            "{message}"
        );
    }
    let retries = lines
        .iter()
        .filter(|line| line["message"] == "cache: CRD still not installed")
        .count();
    assert!(retries >= 9, "{retries} retries logged");
    assert_eq!(
        body,
        "not ready: waiting for a first sync of backupstoragelocations, schedules, volumesnapshotlocations\n"
    );

    // Velero is installed: discovery lists its resources (capture 04) and the lists answer.
    server.get(VELERO_DISCOVERY, Captured::response(VELERO_DISCOVERED, 0));
    server.get(SCHEDULES, schedules_list(&[schedule()]));
    server.get(
        LOCATIONS,
        list_answer(&custom_list(
            "velero.io/v1",
            "VolumeSnapshotLocation",
            "400",
            &[],
        )),
    );
    server.get(
        STORAGE_LOCATIONS,
        list_answer(&custom_list(
            "velero.io/v1",
            "BackupStorageLocation",
            "400",
            &[available_storage_location()],
        )),
    );
    eventually("readiness once Velero is installed", || {
        webhook.state.is_ready()
    })
    .await;
    assert_eq!(webhook.data_platform_gaps(), []);
    webhook.stop().await;
}

#[tokio::test]
async fn an_unreachable_api_server_is_answered_from_the_last_index_until_the_staleness_bound() {
    let (logs, _logging) = capture_logs();
    let server = MockApiServer::start().await;
    velero_cluster(&server);
    let webhook = Webhook::start(&server, Duration::from_secs(1));
    eventually("readiness", || webhook.state.is_ready()).await;
    eventually("every watch open", || {
        [
            SCHEDULES,
            LOCATIONS,
            STORAGE_LOCATIONS,
            NAMESPACES,
            PVCS,
            PODS,
            STORAGE_CLASSES,
        ]
        .iter()
        .all(|path| server.open_watch_count(path) == 1)
    })
    .await;

    // The API server goes away: connections cut, new ones refused.
    server.stop();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(webhook.state.is_ready(), "still within the staleness bound");
    assert_eq!(
        webhook.data_platform_gaps(),
        [],
        "the last good index answers"
    );
    let stale = gauge(
        &webhook.metrics().await,
        "backstop_cache_staleness_seconds",
        "schedules",
    );
    assert!(stale > 0.2 && stale < 1.0, "staleness {stale}");

    eventually("unready past the bound", || !webhook.state.is_ready()).await;
    let (status, body) = webhook.probe("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("stale (limit 1s)"), "{body}");
    assert_eq!(webhook.data_platform_gaps(), [], "still answering");

    // It comes back: the watches re-open from their resourceVersion, no relist needed.
    let lists_before = server.count(SCHEDULES, Call::Read);
    server.restart().await;
    eventually("ready again", || webhook.state.is_ready()).await;
    let metrics = webhook.metrics().await;
    assert_eq!(
        gauge(&metrics, "backstop_cache_staleness_seconds", "schedules"),
        0.0
    );
    assert_eq!(server.count(SCHEDULES, Call::Read), lists_before);
    let watch = server
        .seen()
        .into_iter()
        .rev()
        .find(|seen| seen.path == SCHEDULES && seen.query.contains("watch=true"))
        .unwrap();
    assert!(
        watch.query.ends_with("resourceVersion=400"),
        "{}",
        watch.query
    );
    // Each cache said WARN once for the whole outage and INFO once when it read again, while
    // retrying several times in between (DEBUG).
    let lines = log_lines(&logs);
    for resource in ["schedules", "namespaces", "pods"] {
        let of = |level: &str, message: &str| {
            lines
                .iter()
                .filter(|line| {
                    line["resource"] == resource
                        && line["level"] == level
                        && line["message"].as_str().unwrap().starts_with(message)
                })
                .count()
        };
        assert_eq!(of("WARN", "cache: cannot read"), 1, "{resource}");
        assert_eq!(
            of("INFO", "cache: reading from the API server again"),
            1,
            "{resource}"
        );
        assert!(of("DEBUG", "cache: retry failed") >= 2, "{resource}");
    }
    webhook.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_too_old_watch_relists_and_picks_up_what_changed_meanwhile() {
    let server = MockApiServer::start().await;
    velero_cluster(&server);
    // The first watch of schedules is too old: capture 11, exchange 0 (HTTP 200 carrying one
    // ERROR event with a 410 Expired Status, then the end); later ones stay open.
    server.route(
        Method::GET,
        SCHEDULES,
        Call::Watch,
        vec![
            Answer::Full(Captured::response(
                "11-watch-too-old-resource-version-410.json",
                0,
            )),
            Answer::OpenWatch,
        ],
    );
    // The relist finds the Schedule gone.
    server.route(
        Method::GET,
        SCHEDULES,
        Call::Read,
        vec![
            Answer::Full(schedules_list(&[schedule()])),
            Answer::Full(schedules_list(&[])),
        ],
    );
    let webhook = Webhook::start(&server, Duration::from_secs(300));
    eventually("the relist and a new watch", || {
        server.count(SCHEDULES, Call::Read) == 2 && server.open_watch_count(SCHEDULES) == 1
    })
    .await;
    eventually("readiness", || webhook.state.is_ready()).await;
    eventually("the relist to reach the index", || {
        webhook.data_platform_gaps() == [GapCode::NoSchedule]
    })
    .await;
    let metrics = webhook.metrics().await;
    assert_eq!(gauge(&metrics, "backstop_cache_objects", "schedules"), 0.0);
    assert_eq!(
        server.count(SCHEDULES, Call::Read),
        2,
        "one list, one relist"
    );
    webhook.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_continue_token_restarts_the_list_from_its_first_page() {
    let server = MockApiServer::start().await;
    velero_cluster(&server);
    // Capture 14: page 1 carries a continue token (exchange 0's shape, here a Schedule
    // list), following it is a real HTTP 410 Expired (exchange 1), and the relist from the
    // first page completes.
    let token = capture_file("14-list-continue-token-expired-410.json")["exchanges"][0]["response"]
        ["bodyJson"]["metadata"]["continue"]
        .clone();
    let mut first_page = custom_list("velero.io/v1", "Schedule", "318", &[schedule()]);
    first_page["metadata"]["continue"] = token;
    let mut second = schedule();
    second["metadata"]["name"] = json!("backstop-critical-2");
    server.route(
        Method::GET,
        SCHEDULES,
        Call::Read,
        vec![
            Answer::Full(list_answer(&first_page)),
            Answer::Full(Captured::response(
                "14-list-continue-token-expired-410.json",
                1,
            )),
            Answer::Full(schedules_list(&[schedule(), second])),
        ],
    );
    let webhook = Webhook::start(&server, Duration::from_secs(300));
    eventually("readiness", || webhook.state.is_ready()).await;
    let lists: Vec<String> = server
        .seen()
        .into_iter()
        .filter(|seen| seen.path == SCHEDULES && !seen.query.contains("watch=true"))
        .map(|seen| seen.query)
        .collect();
    assert_eq!(lists.len(), 3, "{lists:?}");
    assert!(lists[1].contains("continue="), "{lists:?}");
    assert_eq!(lists[2].trim_start_matches('&'), "limit=500", "{lists:?}");
    let objects = gauge(
        &webhook.metrics().await,
        "backstop_cache_objects",
        "schedules",
    );
    assert_eq!(objects, 2.0);
    webhook.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_schedule_arrives_by_watch_and_turns_coverage_into_a_gap() {
    let server = MockApiServer::start().await;
    velero_cluster(&server);
    let webhook = Webhook::start(&server, Duration::from_secs(300));
    eventually("readiness", || webhook.state.is_ready()).await;
    eventually("the schedules watch", || {
        server.open_watch_count(SCHEDULES) == 1
    })
    .await;
    assert_eq!(webhook.data_platform_gaps(), []);

    // A DELETED event carries the object's last state (capture 10, event 3's shape).
    let mut deleted = schedule();
    deleted["metadata"]["resourceVersion"] = json!("401");
    assert_eq!(server.send(SCHEDULES, &watch_event("DELETED", &deleted)), 1);
    eventually("the deletion to reach the index", || {
        webhook.data_platform_gaps() == [GapCode::NoSchedule]
    })
    .await;
    let metrics = webhook.metrics().await;
    assert_eq!(gauge(&metrics, "backstop_cache_objects", "schedules"), 0.0);
    assert!(webhook.state.is_ready());
    webhook.stop().await;
}

/// Why "not served" is asked of discovery: kube-rs 5 turns the real text/plain 404 (capture
/// 01, exchange 0) into a `Status` with code 404 and reason "Failed to parse error data", on
/// which `Status::is_not_found()` is false, so a check on it never fires on a real cluster.
#[tokio::test]
async fn kube_rs_reads_the_real_unserved_404_as_a_status_that_is_not_not_found() {
    let server = MockApiServer::start().await;
    server.get(SNAPSHOT_CLASSES, Captured::response(UNSERVED, 0));
    server.get(SNAPSHOT_DISCOVERY, Captured::response(UNSERVED, 3));
    let api = kube::Api::<kube::api::DynamicObject>::all_with(
        server.client(),
        &cluster::snapshot_class_resource(),
    );
    let error = api.list(&Default::default()).await.unwrap_err();
    let kube::Error::Api(status) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(status.code, 404);
    assert!(!status.is_not_found(), "{status:?}");
    let served = backstop_webhook::cache::discovery::is_served(
        &server.client(),
        "snapshot.storage.k8s.io/v1",
        "volumesnapshotclasses",
    )
    .await
    .unwrap();
    assert!(!served);
}

#[tokio::test]
async fn a_resource_that_discovery_lists_but_answers_404_is_retried_with_backoff() {
    let (logs, _logging) = capture_logs();
    let server = MockApiServer::start().await;
    velero_cluster(&server);
    // Discovery lists schedules (capture 04), but its list is a 404 as for a resource the
    // group does not serve (capture 01, exchange 5): a lagging discovery, say.
    server.get(SCHEDULES, Captured::response(UNSERVED, 5));
    let webhook = Webhook::start(&server, Duration::from_secs(300));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!webhook.state.is_ready());
    // Backoff 50, 100, 200, 400, 400 ms: about 6 lists in 1.5 s, not a busy loop.
    let lists = server.count(SCHEDULES, Call::Read);
    assert!((3..=10).contains(&lists), "{lists} lists");
    let warnings = log_lines(&logs)
        .into_iter()
        .filter(|line| line["resource"] == "schedules" && line["level"] == "WARN")
        .count();
    assert_eq!(warnings, 1);
    webhook.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bookmark_moves_the_resource_version_the_next_watch_starts_from() {
    let server = MockApiServer::start().await;
    velero_cluster(&server);
    let webhook = Webhook::start(&server, Duration::from_secs(300));
    eventually("readiness", || webhook.state.is_ready()).await;
    eventually("the schedules watch", || {
        server.open_watch_count(SCHEDULES) == 1
    })
    .await;

    // Capture 10, event 4: a BOOKMARK is only apiVersion, kind and metadata.resourceVersion,
    // sent shortly before timeoutSeconds; then the server ends the stream.
    let line = apiserver::bookmark("velero.io/v1", "Schedule", "450");
    assert_eq!(server.send(SCHEDULES, &line), 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.end_watches(SCHEDULES);
    eventually("the watch re-opened", || {
        server.open_watch_count(SCHEDULES) == 1
    })
    .await;
    let watches: Vec<String> = server
        .seen()
        .into_iter()
        .filter(|seen| seen.path == SCHEDULES && seen.query.contains("watch=true"))
        .map(|seen| seen.query)
        .collect();
    assert_eq!(watches.len(), 2, "{watches:?}");
    // The query kube-rs builds, as in the captured watches (capture 11, exchange 0).
    assert_eq!(
        watches[0].trim_start_matches('&'),
        "watch=true&timeoutSeconds=290&allowWatchBookmarks=true&resourceVersion=400"
    );
    assert!(watches[1].ends_with("resourceVersion=450"), "{watches:?}");
    assert_eq!(server.count(SCHEDULES, Call::Read), 1, "no relist");
    assert_eq!(webhook.data_platform_gaps(), []);
    webhook.stop().await;
}

const FORBIDDEN: &str = "16-rbac-forbidden-403.json";
const UNAUTHORIZED: &str = "17-unauthenticated-401-and-anonymous-403.json";

#[tokio::test]
async fn a_list_the_webhooks_rbac_forbids_keeps_it_unready_and_warns_once_until_rbac_is_fixed() {
    let (logs, _logging) = capture_logs();
    let server = MockApiServer::start().await;
    velero_cluster(&server);
    // Capture 16, exchange 4: a cluster-scope list of namespaces the user may not list.
    server.get(NAMESPACES, Captured::response(FORBIDDEN, 4));
    let webhook = Webhook::start(&server, Duration::from_secs(300));

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, body) = webhook.probe("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body, "not ready: waiting for a first sync of namespaces\n",
        "only the forbidden cache holds readiness back"
    );
    // Backoff 50, 100, 200, 400, 400 ms: about 6 lists in 1.5 s, not a busy loop.
    let lists = server.count(NAMESPACES, Call::Read);
    assert!((3..=10).contains(&lists), "{lists} lists");
    let warnings: Vec<Value> = log_lines(&logs)
        .into_iter()
        .filter(|line| line["level"] == "WARN" || line["level"] == "ERROR")
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert_eq!(warnings[0]["resource"], "namespaces");
    let error = warnings[0]["error"].as_str().unwrap();
    assert!(
        error.contains("namespaces is forbidden") && error.contains("cannot list"),
        "the log says what RBAC refused: {error}"
    );

    // The ClusterRole is fixed: the next retry lists, and the webhook turns ready.
    server.get(
        NAMESPACES,
        list_answer(&builtin_list(
            "v1",
            "Namespace",
            "400",
            &[namespace("data-platform"), namespace("velero")],
        )),
    );
    eventually("readiness once RBAC allows the list", || {
        webhook.state.is_ready()
    })
    .await;
    webhook.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_refused_after_a_good_list_answers_from_the_last_copy_until_the_staleness_bound() {
    let server = MockApiServer::start().await;
    velero_cluster(&server);
    let webhook = Webhook::start(&server, Duration::from_secs(1));
    eventually("readiness", || webhook.state.is_ready()).await;
    eventually("the schedules watch", || {
        server.open_watch_count(SCHEDULES) == 1
    })
    .await;

    // The webhook's token is rejected from now on (capture 17, exchange 0: a minimal 401
    // Status); the open watch ends, and every new watch is refused.
    server.route(
        Method::GET,
        SCHEDULES,
        Call::Watch,
        vec![Answer::Full(Captured::response(UNAUTHORIZED, 0))],
    );
    server.end_watches(SCHEDULES);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(webhook.state.is_ready(), "within the staleness bound");
    assert_eq!(
        webhook.data_platform_gaps(),
        [],
        "the last good copy answers"
    );
    eventually("unready past the bound", || !webhook.state.is_ready()).await;
    let (status, body) = webhook.probe("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("schedules cache is"), "{body}");
    assert_eq!(webhook.data_platform_gaps(), [], "still answering");

    // A forbidden watch is an HTTP 403, not an ERROR event (capture 16, exchange 1, here for
    // Schedules as capture 16's exchange 3 words a velero.io resource): still refused.
    let mut forbidden = Captured::response(FORBIDDEN, 1).json();
    forbidden["message"] = json!(
        "schedules.velero.io is forbidden: User \"system:serviceaccount:backstop-system:backstop-webhook\" cannot watch resource \"schedules\" in API group \"velero.io\" in the namespace \"velero\""
    );
    forbidden["details"] = json!({"group": "velero.io", "kind": "schedules"});
    let watches_before = server.count(SCHEDULES, Call::Watch);
    server.route(
        Method::GET,
        SCHEDULES,
        Call::Watch,
        vec![
            Answer::Full(Captured::response(FORBIDDEN, 1).with_json(&forbidden)),
            Answer::OpenWatch,
        ],
    );
    eventually("the watch open again", || {
        server.open_watch_count(SCHEDULES) == 1
    })
    .await;
    assert!(server.count(SCHEDULES, Call::Watch) >= watches_before + 2);
    eventually("ready again", || webhook.state.is_ready()).await;
    assert_eq!(
        gauge(
            &webhook.metrics().await,
            "backstop_cache_staleness_seconds",
            "schedules"
        ),
        0.0
    );
    assert!(server.unrouted().is_empty(), "{:?}", server.unrouted());
    webhook.stop().await;
}

/// The Velero Deployment `velero install --features=EnableCSI --default-volumes-to-fs-backup`
/// writes for v1.16.2 (`fixtures/velero-server/velero-deployment.yaml`), named `name`, as the
/// server stores it (a resourceVersion and uid, as capture 21's objects carry).
fn velero_deployment(name: &str, resource_version: &str) -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/velero-server/velero-deployment.yaml"
    ))
    .unwrap();
    let mut deployment = policy::yaml::documents(&text, "velero-deployment.yaml")
        .unwrap()
        .remove(0);
    deployment["metadata"]["name"] = json!(name);
    deployment["metadata"]["resourceVersion"] = json!(resource_version);
    deployment["metadata"]["uid"] = json!(format!("5d1c7a2e-0b4f-4e8a-9c3d-{name:0>12}"));
    deployment
}

/// What the index judges the Velero server to be now: release, EnableCSI,
/// `--default-volumes-to-fs-backup`, and where that was read.
fn judged_server(webhook: &Webhook) -> (VeleroVersion, bool, bool, String) {
    let index = webhook.state.index();
    let server = &index.server_view().server;
    (
        server.version,
        server.csi_enabled(),
        server.default_volumes_to_fs_backup,
        server.origin.clone(),
    )
}

/// In serve mode the index follows the Velero Deployment as `audit --cluster` reads it: only the
/// Deployment the policy names (`velero.deployment`, default `velero`), listed and watched with
/// the `metadata.name` field selector that RBAC granting one object by resourceName requires.
/// Lists keep capture 03's headers (exchange 3) and capture 13's built-in list shape; watch
/// events capture 10's shape. The mock applies the field selector as the real server does, so a
/// second Deployment in Velero's namespace (a UI, say) never reaches the cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_follows_the_velero_deployment_it_reads_by_name() {
    let server = MockApiServer::start().await;
    velero_cluster(&server);
    server.get(
        VELERO_DEPLOYMENTS,
        list_answer(&builtin_list(
            "apps/v1",
            "Deployment",
            "400",
            &[
                velero_deployment("velero", "390"),
                velero_deployment("velero-ui", "391"),
            ],
        )),
    );
    let webhook = Webhook::start(&server, Duration::from_secs(300));
    eventually("readiness", || webhook.state.is_ready()).await;
    eventually("the Deployment watch", || {
        server.open_watch_count(VELERO_DEPLOYMENTS) == 1
    })
    .await;
    let (version, csi, fs_backup_default, origin) = judged_server(&webhook);
    assert_eq!(version, VeleroVersion::new(1, 16));
    assert!(csi && fs_backup_default, "{origin}");
    assert!(origin.contains("velero/velero"), "{origin}");

    let queries: Vec<String> = server
        .seen()
        .into_iter()
        .filter(|seen| seen.path == VELERO_DEPLOYMENTS)
        .map(|seen| seen.query)
        .collect();
    assert!(queries.len() >= 2, "a list and a watch: {queries:?}");
    assert!(
        queries
            .iter()
            .all(|query| query.contains("fieldSelector=metadata.name%3Dvelero")),
        "{queries:?}"
    );

    // The platform team upgrades Velero to v1.17 and turns CSI snapshots off.
    let mut upgraded = velero_deployment("velero", "402");
    upgraded["spec"]["template"]["spec"]["containers"][0]["image"] = json!("velero/velero:v1.17.1");
    upgraded["spec"]["template"]["spec"]["containers"][0]["args"] =
        json!(["server", "--uploader-type=kopia"]);
    assert_eq!(
        server.send(VELERO_DEPLOYMENTS, &watch_event("MODIFIED", &upgraded)),
        1
    );
    eventually("the upgrade to reach the index", || {
        let (version, csi, fs_backup_default, _) = judged_server(&webhook);
        version == VeleroVersion::new(1, 17) && !csi && !fs_backup_default
    })
    .await;

    // Another Deployment's change is not for this watch: its selector names `velero` only.
    assert_eq!(
        server.send(
            VELERO_DEPLOYMENTS,
            &watch_event("MODIFIED", &velero_deployment("velero-ui", "403"))
        ),
        0
    );

    // Velero uninstalled: the policy's velero: section (absent here: Velero's defaults) stands
    // in, and the index says so.
    assert_eq!(
        server.send(VELERO_DEPLOYMENTS, &watch_event("DELETED", &upgraded)),
        1
    );
    eventually("the deletion to reach the index", || {
        webhook
            .state
            .index()
            .server_view()
            .notes
            .iter()
            .any(|note| note.contains("no Velero Deployment was read from namespace velero"))
    })
    .await;
    let (version, csi, _, origin) = judged_server(&webhook);
    assert_eq!((version, csi), (VeleroVersion::LATEST, false), "{origin}");
    webhook.stop().await;
}
