//! The webhook keeps the backup evidence current: its caches of Backups, PodVolumeBackups and
//! DataUploads (against the mock API server of `support/apiserver.rs`, answering as the real
//! kube-apiserver v1.36 of `fixtures/apiserver-captures/` does) are judged against the coverage
//! index and published as `backstop_last_backup_age_seconds`,
//! `backstop_backup_overdue_after_seconds`, `backstop_volumes_missing_from_last_backup` and
//! `backstop_achieved_rpo_seconds`. Every case of `fixtures/evidence/` is served and checked,
//! then changes arrive by watch; evidence never holds readiness, and what the caches keep of
//! each record judges exactly as the whole record.

// Test code: a failed unwrap is a failed test (clippy only exempts #[test] functions).
#![allow(clippy::unwrap_used)]

mod support {
    #[path = "apiserver.rs"]
    pub mod apiserver;
    #[path = "evidence.rs"]
    pub mod evidence;
}

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body as AxumBody;
use backstop_webhook::args::TimeoutDecision;
use backstop_webhook::cache::IndexBuilder;
use backstop_webhook::cache::cluster::{self, ClusterOptions};
use backstop_webhook::cache::evidence::{self as evidence_cache, EvidenceOptions, trim};
use backstop_webhook::cache::reflector::Timing;
use backstop_webhook::manifests::{load_inventory, load_policy};
use backstop_webhook::metrics::Metrics;
use backstop_webhook::server::probe_router;
use backstop_webhook::state::AppState;
use http::{Method, Request};
use http_body_util::BodyExt;
use k8s_openapi::jiff::Timestamp;
use policy::evidence::{VeleroRecords, gather};
use policy::{CoverageIndex, Inventory};
use serde_json::{Value, json};
use support::apiserver::{
    Captured, MockApiServer, available_storage_location, builtin_list, watch_event,
};
use support::evidence::{
    BACKUPS, DATA_UPLOADS, NOW, POD_VOLUME_BACKUPS, SCENARIOS, VELERO_V1_DISCOVERY, list_answer,
    manifest_paths, repo, serve_records,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;

const UNSERVED: &str = "01-unserved-group-404-text-plain.json";
const LISTS: &str = "03-get-missing-object-and-missing-namespace.json";
const VELERO_DISCOVERED: &str = "04-discovery-velero-v1.json";
const SNAPSHOT_CLASSES: &str = "/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses";
const SNAPSHOT_DISCOVERY: &str = "/apis/snapshot.storage.k8s.io/v1";
const PVCS: &str = "/api/v1/persistentvolumeclaims";

/// 2026-12-03T02:30:00Z, the moment every fixture is judged at.
fn fixed_now() -> Timestamp {
    NOW.parse().unwrap()
}

/// Every document of the scenario's cluster and its own manifests but the exported records.
fn cluster_documents(scenario: &str) -> Vec<Value> {
    let mut documents = Vec::new();
    for folder in manifest_paths(scenario) {
        let mut files: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.file_name().unwrap() != "backups.yaml")
            .collect();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            documents.extend(policy::yaml::documents(&text, "fixture").unwrap());
        }
    }
    documents
}

fn of_kind(documents: &[Value], kind: &str) -> Vec<Value> {
    documents
        .iter()
        .filter(|document| document["kind"] == kind)
        .cloned()
        .collect()
}

/// A 200 list: capture 03, exchange 3's status and headers, with this body.
fn answer(body: &Value) -> Captured {
    Captured::response(LISTS, 3).with_json(body)
}

/// The scenario's cluster as the API server serves it, with every watch left open: built-in
/// lists (PersistentVolumes, the Velero namespace's ConfigMaps and Deployments included) as
/// capture 13 writes them, custom-resource lists as capture 03, Velero's discovery
/// from capture 04; the snapshot API unserved (capture 01) unless the cluster has
/// VolumeSnapshotClasses, then discovered as capture 04's shape says.
fn serve_cluster(server: &MockApiServer, scenario: &str) {
    let documents = cluster_documents(scenario);
    for (path, api_version, kind) in [
        ("/api/v1/namespaces", "v1", "Namespace"),
        (PVCS, "v1", "PersistentVolumeClaim"),
        ("/api/v1/pods", "v1", "Pod"),
        (
            "/apis/storage.k8s.io/v1/storageclasses",
            "storage.k8s.io/v1",
            "StorageClass",
        ),
        ("/api/v1/persistentvolumes", "v1", "PersistentVolume"),
        // The Velero namespace's ConfigMaps (resource policies) and its Deployment (none here:
        // the policy's velero: section stands in, as it says).
        ("/api/v1/namespaces/velero/configmaps", "v1", "ConfigMap"),
        (
            "/apis/apps/v1/namespaces/velero/deployments",
            "apps/v1",
            "Deployment",
        ),
    ] {
        let items = of_kind(&documents, kind);
        server.get(
            path,
            answer(&builtin_list(api_version, kind, "400", &items)),
        );
        server.open_watches(path);
    }
    for (path, kind, items) in [
        (
            "/apis/velero.io/v1/namespaces/velero/schedules",
            "Schedule",
            of_kind(&documents, "Schedule"),
        ),
        (
            "/apis/velero.io/v1/namespaces/velero/volumesnapshotlocations",
            "VolumeSnapshotLocation",
            Vec::new(),
        ),
        (
            "/apis/velero.io/v1/namespaces/velero/backupstoragelocations",
            "BackupStorageLocation",
            vec![available_storage_location()],
        ),
    ] {
        server.get(path, list_answer("velero.io/v1", kind, &items));
        server.open_watches(path);
    }
    let classes = of_kind(&documents, "VolumeSnapshotClass");
    if classes.is_empty() {
        server.get(SNAPSHOT_DISCOVERY, Captured::response(UNSERVED, 3));
        server.get(SNAPSHOT_CLASSES, Captured::response(UNSERVED, 0));
    } else {
        let mut discovered = Captured::response(VELERO_DISCOVERED, 0).json();
        discovered["groupVersion"] = json!("snapshot.storage.k8s.io/v1");
        discovered["resources"] = json!([{
            "name": "volumesnapshotclasses", "singularName": "volumesnapshotclass",
            "namespaced": false, "kind": "VolumeSnapshotClass",
            "verbs": ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"],
            "shortNames": ["vsclass", "vsclasses"], "storageVersionHash": "E4H7xKmfYcw="
        }]);
        server.get(
            SNAPSHOT_DISCOVERY,
            Captured::response(VELERO_DISCOVERED, 0).with_json(&discovered),
        );
        server.get(
            SNAPSHOT_CLASSES,
            list_answer(
                "snapshot.storage.k8s.io/v1",
                "VolumeSnapshotClass",
                &classes,
            ),
        );
        server.open_watches(SNAPSHOT_CLASSES);
    }
    serve_records(server, scenario);
    for path in [BACKUPS, POD_VOLUME_BACKUPS, DATA_UPLOADS] {
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
    tasks: Vec<JoinHandle<()>>,
}

impl Webhook {
    fn start(server: &MockApiServer) -> Self {
        let policy = Arc::new(load_policy(&repo().join("fixtures/evidence/policy.yaml")).unwrap());
        let state = AppState::new(
            CoverageIndex::build(Arc::clone(&policy), Inventory::default()),
            Arc::new(Metrics::new()),
            TimeoutDecision::Deny,
        );
        let (stop, stopped) = watch::channel(false);
        let evidence = evidence_cache::spawn(
            server.client(),
            state.clone(),
            EvidenceOptions {
                debounce: Duration::from_millis(50),
                timing: timing(),
                clock: fixed_now,
            },
            stopped.clone(),
        );
        let coverage = cluster::spawn(
            server.client(),
            IndexBuilder::new(policy, state.clone()),
            ClusterOptions {
                debounce: Duration::from_millis(50),
                timing: timing(),
            },
            stopped,
        );
        Self {
            state,
            stop,
            tasks: vec![evidence, coverage],
        }
    }

    async fn metrics(&self) -> String {
        let response = probe_router(self.state.clone())
            .oneshot(Request::get("/metrics").body(AxumBody::empty()).unwrap())
            .await
            .unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    }

    /// Waits until the metrics satisfy `condition`, and returns them.
    async fn metrics_when(&self, what: &str, condition: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let metrics = self.metrics().await;
            if condition(&metrics) {
                return metrics;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "timed out waiting for {what}:\n{metrics}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(self) {
        self.stop.send(true).unwrap();
        for task in self.tasks {
            tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .unwrap()
                .unwrap();
        }
    }
}

/// The value of the sample `series` (name and labels as exported), if there is one.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    let prefix = format!("{series} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map(|value| value.parse().unwrap())
}

const AGE: &str = "backstop_last_backup_age_seconds{schedule=\"daily\"}";
const OVERDUE_AFTER: &str = "backstop_backup_overdue_after_seconds{schedule=\"daily\"}";
const MISSING: &str =
    "backstop_volumes_missing_from_last_backup{namespace=\"shop\",tier=\"standard\"}";
const ACHIEVED: &str = "backstop_achieved_rpo_seconds{namespace=\"shop\"}";

/// 29m55s: 02:30:00 − 02:00:05, the newest backup's start.
const TODAY: f64 = 1795.0;
/// 1d29m56s: from 02:00:04 the day before.
const YESTERDAY: f64 = 88_196.0;

/// The evidence metrics of `scenario` once the webhook has judged it.
async fn judged(scenario: &str) -> String {
    let server = MockApiServer::start().await;
    serve_cluster(&server, scenario);
    let webhook = Webhook::start(&server);
    let metrics = webhook
        .metrics_when(scenario, |metrics| sample(metrics, AGE).is_some())
        .await;
    assert!(webhook.state.is_ready(), "{scenario}");
    assert!(server.unrouted().is_empty(), "{:?}", server.unrouted());
    assert!(
        server.seen().iter().all(|seen| seen.method == Method::GET),
        "read-only"
    );
    webhook.stop().await;
    metrics
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_backup_with_every_volume_is_a_half_hour_old_and_misses_nothing() {
    let metrics = judged("completed-backup-with-every-volume").await;
    assert_eq!(sample(&metrics, AGE), Some(TODAY));
    // 24h1m predicted worst case plus the 1h tolerance.
    assert_eq!(sample(&metrics, OVERDUE_AFTER), Some(90_060.0));
    assert_eq!(sample(&metrics, MISSING), Some(0.0));
    assert_eq!(sample(&metrics, ACHIEVED), Some(TODAY));
    for resource in ["backups", "podvolumebackups", "datauploads"] {
        assert!(
            metrics.contains(&format!(
                "backstop_cache_synced{{resource=\"{resource}\"}} 1"
            )),
            "{resource}"
        );
    }
    assert!(metrics.contains("backstop_cache_objects{resource=\"backups\"} 1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostpath_claim_the_completed_backup_skipped_is_a_missing_volume_with_no_achieved_rpo() {
    let metrics = judged("completed-backup-skipped-hostpath-volume").await;
    assert_eq!(sample(&metrics, MISSING), Some(1.0));
    assert_eq!(sample(&metrics, AGE), Some(TODAY));
    assert_eq!(
        sample(&metrics, ACHIEVED),
        None,
        "the claim `cache` has no copy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partially_failed_newest_backup_leaves_the_age_of_the_older_completed_one() {
    let metrics = judged("partially-failed-newest-after-completed").await;
    assert_eq!(sample(&metrics, AGE), Some(YESTERDAY));
    assert_eq!(sample(&metrics, ACHIEVED), Some(YESTERDAY));
    assert_eq!(sample(&metrics, MISSING), Some(0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overdue_schedule_is_older_than_its_overdue_bound() {
    let metrics = judged("overdue-schedule").await;
    let age = sample(&metrics, AGE).unwrap();
    assert_eq!(age, 3.0 * 86_400.0 + TODAY);
    assert!(age > sample(&metrics, OVERDUE_AFTER).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_in_progress_does_not_move_the_age_yet() {
    let metrics = judged("in-progress-newest-not-judged").await;
    assert_eq!(sample(&metrics, AGE), Some(YESTERDAY));
    assert_eq!(sample(&metrics, MISSING), Some(0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_uploads_hold_the_claims_of_a_data_mover_backup() {
    let metrics = judged("data-mover-upload-completed").await;
    assert_eq!(sample(&metrics, AGE), Some(TODAY));
    assert_eq!(sample(&metrics, MISSING), Some(0.0));
    assert_eq!(sample(&metrics, ACHIEVED), Some(TODAY));
    assert!(metrics.contains("backstop_cache_objects{resource=\"datauploads\"} 1"));
    let metrics = judged("data-mover-upload-failed-after-completed").await;
    assert_eq!(sample(&metrics, AGE), Some(YESTERDAY));
    assert_eq!(sample(&metrics, ACHIEVED), Some(YESTERDAY));
}

/// A watch event as the server sends it: the fixture's object with a resourceVersion.
fn event(kind: &str, mut object: Value, resource_version: &str) -> String {
    object["metadata"]["resourceVersion"] = json!(resource_version);
    watch_event(kind, &object)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_backup_and_a_new_claim_arriving_by_watch_are_judged_again() {
    let server = MockApiServer::start().await;
    serve_cluster(&server, "completed-backup-skipped-hostpath-volume");
    let webhook = Webhook::start(&server);
    webhook
        .metrics_when("the first judgment", |m| sample(m, MISSING) == Some(1.0))
        .await;

    // A newer Completed backup (02:20:05) that copies both claims: the fixture's backup and
    // PodVolumeBackup renamed, and a PodVolumeBackup for `cache`.
    let backups =
        support::evidence::fixture_items("completed-backup-skipped-hostpath-volume", "Backup");
    let volumes = support::evidence::fixture_items(
        "completed-backup-skipped-hostpath-volume",
        "PodVolumeBackup",
    );
    let name = "daily-20261203022005";
    let mut backup = backups[0].clone();
    backup["metadata"]["name"] = json!(name);
    backup["status"]["startTimestamp"] = json!("2026-12-03T02:20:05Z");
    backup["status"]["warnings"] = json!(0);
    server.send(BACKUPS, &event("ADDED", backup, "5001"));
    for (claim, pod, volume_name) in [
        ("orders", "orders-db-0", "data"),
        ("cache", "cache-0", "cache"),
    ] {
        let mut volume = volumes[0].clone();
        volume["metadata"]["name"] = json!(format!("{name}-{claim}"));
        volume["metadata"]["labels"]["velero.io/backup-name"] = json!(name);
        volume["metadata"]["annotations"]["velero.io/pvc-name"] = json!(claim);
        volume["spec"]["pod"]["name"] = json!(pod);
        volume["spec"]["volume"] = json!(volume_name);
        server.send(POD_VOLUME_BACKUPS, &event("ADDED", volume, "5002"));
    }
    let metrics = webhook
        .metrics_when("the new backup", |m| sample(m, AGE) == Some(595.0))
        .await;
    assert_eq!(sample(&metrics, MISSING), Some(0.0));
    assert_eq!(sample(&metrics, ACHIEVED), Some(595.0));

    // A new protected claim no backup has copied yet: the coverage index changes, and the
    // evidence follows it.
    let mut claim = of_kind(
        &cluster_documents("completed-backup-skipped-hostpath-volume"),
        "PersistentVolumeClaim",
    )
    .into_iter()
    .find(|claim| claim["metadata"]["name"] == "orders")
    .unwrap();
    claim["metadata"]["name"] = json!("invoices");
    server.send(PVCS, &event("ADDED", claim, "5003"));
    let metrics = webhook
        .metrics_when("the new claim", |m| sample(m, MISSING) == Some(1.0))
        .await;
    assert_eq!(sample(&metrics, ACHIEVED), None);
    webhook.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_velero_s_backup_crd_the_webhook_is_ready_and_publishes_no_evidence() {
    let server = MockApiServer::start().await;
    serve_cluster(&server, "completed-backup-with-every-volume");
    // Discovery (capture 04) without backups; their list is capture 01, exchange 5's 404.
    let mut discovery = Captured::response(VELERO_DISCOVERED, 0).json();
    discovery["resources"]
        .as_array_mut()
        .unwrap()
        .retain(|resource| resource["name"] != "backups");
    server.get(
        VELERO_V1_DISCOVERY,
        Captured::response(VELERO_DISCOVERED, 0).with_json(&discovery),
    );
    server.get(BACKUPS, Captured::response(UNSERVED, 5));
    let webhook = Webhook::start(&server);
    let metrics = webhook
        .metrics_when("readiness", |m| {
            m.contains("backstop_cache_synced{resource=\"podvolumebackups\"} 1")
        })
        .await;
    let started = Instant::now();
    while !webhook.state.is_ready() {
        assert!(started.elapsed() < Duration::from_secs(10), "not ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(metrics.contains("backstop_cache_synced{resource=\"backups\"} 0"));
    assert_eq!(sample(&webhook.metrics().await, AGE), None);
    // The families are declared even before there is anything to say.
    assert!(metrics.contains("# TYPE backstop_last_backup_age_seconds gauge"));
    webhook.stop().await;
}

/// The records of `scenario`, whole and as the caches keep them, judge the same.
#[test]
fn what_the_caches_keep_of_each_record_judges_exactly_as_the_whole_record() {
    for (scenario, _) in SCENARIOS {
        let policy = Arc::new(load_policy(&repo().join("fixtures/evidence/policy.yaml")).unwrap());
        let mut inventory = load_inventory(&manifest_paths(scenario)).unwrap();
        let (backups, volumes, uploads) = (
            std::mem::take(&mut inventory.backups),
            std::mem::take(&mut inventory.pod_volume_backups),
            std::mem::take(&mut inventory.data_uploads),
        );
        let index = CoverageIndex::build(policy, inventory);
        let verdicts = index.evaluate_all();
        let judge = |records: &VeleroRecords<'_>| gather(&index, &verdicts, records, fixed_now());
        let whole = judge(&VeleroRecords {
            backups: backups.iter().collect(),
            pod_volume_backups: volumes.iter().collect(),
            data_uploads: uploads.iter().collect(),
        });
        let mut kept = (backups.clone(), volumes.clone(), uploads.clone());
        kept.0.iter_mut().for_each(trim::backup);
        kept.1.iter_mut().for_each(trim::pod_volume_backup);
        kept.2.iter_mut().for_each(trim::data_upload);
        assert_ne!(
            serde_json::to_value(&kept.0).unwrap(),
            serde_json::to_value(&backups).unwrap(),
            "{scenario}: the caches keep less"
        );
        let trimmed = judge(&VeleroRecords {
            backups: kept.0.iter().collect(),
            pod_volume_backups: kept.1.iter().collect(),
            data_uploads: kept.2.iter().collect(),
        });
        assert_eq!(trimmed, whole, "{scenario}");
        assert!(!whole.objects.is_empty(), "{scenario}");
    }
}
