//! `simulate --context` and `--durations-from-cluster` read the cluster with list calls only;
//! here the cluster is the webhook's mock API server (`webhook/tests/support/apiserver.rs`),
//! answering with real kube-apiserver v1.36 responses from `fixtures/apiserver-captures/`
//! (each answer names the capture file and exchange it comes from).

// Test code: a failed unwrap is a failed test (clippy only exempts #[test] functions).
#![allow(clippy::unwrap_used)]

#[path = "../../webhook/tests/support/apiserver.rs"]
mod apiserver;

use apiserver::{Captured, MockApiServer, available_storage_location, builtin_list, custom_list};
use backstop_chaos::cli::{Cli, Command};
use backstop_chaos::command::simulate::render_report;
use backstop_chaos::simulate::args::SimulateArgs;
use clap::Parser;
use http::Method;
use serde_json::{Value, json};

const POLICY: &str = "\
veleroNamespace: velero
tiers:
  critical: { rpo: 15m, rto: 1h, minRetention: 168h }
protected:
  - { namespace: data-platform, tier: critical }
  - { namespace: vault-prod, tier: critical }
";

const BACKUPS: &str = "/apis/velero.io/v1/namespaces/velero/backups";
const EMPTY_LISTS: &str = "03-get-missing-object-and-missing-namespace.json";
const UNSERVED: &str = "01-unserved-group-404-text-plain.json";

/// A 200 list with this body, with the status and headers of capture 03's lists (exchange 3).
fn list_answer(body: &Value) -> Captured {
    Captured::response(EMPTY_LISTS, 3).with_json(body)
}

/// Capture 02, exchange 0: the Namespace `velero` as the server created it, renamed.
fn namespace(name: &str) -> Value {
    let mut namespace = Captured::response("02-create-namespace-201-then-409.json", 0).json();
    namespace["metadata"]["name"] = json!(name);
    namespace["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
    namespace
}

/// A Backup as the server returns a Velero custom resource (capture 05, exchange 0: the Restore
/// it created, keys in alphabetical order, managedFields and all), made a Backup of `schedule`
/// with a status (Velero writes status through the main resource: no status subresource).
fn backup(name: &str, schedule: &str, phase: &str, start: &str, completion: &str) -> Value {
    let mut backup = Captured::response("05-restore-create-201.json", 0).json();
    backup["kind"] = json!("Backup");
    backup["metadata"]["name"] = json!(name);
    backup["metadata"]["labels"] = json!({"velero.io/schedule-name": schedule});
    backup["spec"] =
        json!({"includedNamespaces": ["data-platform", "vault-prod"], "ttl": "168h0m0s"});
    backup["status"] = json!({
        "completionTimestamp": completion,
        "expiration": "2026-12-10T02:00:00Z",
        "phase": phase,
        "startTimestamp": start,
    });
    backup
}

/// Velero (capture 04's discovery) with the Schedule of capture 21 (exchange 0: hourly,
/// `backstop-critical`, data-platform and vault-prod, ttl 168h), both namespaces, no PVCs,
/// PersistentVolumes or pods, no snapshot API (capture 01), and Backups of that schedule taking 10, 20 and 30 min
/// (one Failed and one of another schedule, which do not count).
fn cluster(server: &MockApiServer) {
    server.get(
        "/api/v1/namespaces",
        list_answer(&builtin_list(
            "v1",
            "Namespace",
            "303",
            &[namespace("data-platform"), namespace("vault-prod")],
        )),
    );
    // Core lists (claims, pods and the cluster-scoped PersistentVolumes audit's inventory reads
    // for Velero's hostPath skip) in the shape of capture 03, exchange 4 (`ConfigMapList`: kind,
    // apiVersion, metadata.resourceVersion, items; no continue). No claims, so no volumes.
    for (path, kind) in [
        ("/api/v1/persistentvolumeclaims", "PersistentVolumeClaim"),
        ("/api/v1/pods", "Pod"),
        ("/api/v1/persistentvolumes", "PersistentVolume"),
        // Velero's namespace's ConfigMaps (resource policies): none.
        ("/api/v1/namespaces/velero/configmaps", "ConfigMap"),
    ] {
        server.get(path, list_answer(&builtin_list("v1", kind, "303", &[])));
    }
    // Workload controllers (audit's inventory predicts the pods and claims they will run), in
    // the same built-in list shape; none here.
    for (path, api_version, kind) in [
        ("/apis/apps/v1/deployments", "apps/v1", "Deployment"),
        ("/apis/apps/v1/statefulsets", "apps/v1", "StatefulSet"),
        ("/apis/apps/v1/daemonsets", "apps/v1", "DaemonSet"),
        ("/apis/apps/v1/replicasets", "apps/v1", "ReplicaSet"),
        ("/apis/batch/v1/jobs", "batch/v1", "Job"),
        ("/apis/batch/v1/cronjobs", "batch/v1", "CronJob"),
    ] {
        server.get(
            path,
            list_answer(&builtin_list(api_version, kind, "303", &[])),
        );
    }
    // No Velero Deployment by the policy's name: capture 03, exchange 1 (the 404 Status of a
    // GET of a missing object, there a ConfigMap, renamed).
    let mut missing =
        Captured::response("03-get-missing-object-and-missing-namespace.json", 1).json();
    missing["message"] = serde_json::json!("deployments.apps \"velero\" not found");
    missing["details"] =
        serde_json::json!({"name": "velero", "group": "apps", "kind": "deployments"});
    server.get(
        "/apis/apps/v1/namespaces/velero/deployments/velero",
        Captured::response("03-get-missing-object-and-missing-namespace.json", 1)
            .with_json(&missing),
    );
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
        "/apis/velero.io/v1/namespaces/velero/schedules",
        list_answer(&custom_list("velero.io/v1", "Schedule", "303", &[schedule])),
    );
    server.get(
        "/apis/velero.io/v1/namespaces/velero/volumesnapshotlocations",
        list_answer(&custom_list(
            "velero.io/v1",
            "VolumeSnapshotLocation",
            "303",
            &[],
        )),
    );
    // The BackupStorageLocation `velero install` creates, Available (shared with the webhook's
    // mocks, `webhook/tests/support/apiserver.rs`).
    server.get(
        "/apis/velero.io/v1/namespaces/velero/backupstoragelocations",
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
    server.get(
        "/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses",
        Captured::response(UNSERVED, 0),
    );
    server.get(
        "/apis/snapshot.storage.k8s.io/v1",
        Captured::response(UNSERVED, 3),
    );
    let backups = [
        backup(
            "a",
            "backstop-critical",
            "Completed",
            "2026-12-03T01:00:00Z",
            "2026-12-03T01:10:00Z",
        ),
        backup(
            "b",
            "backstop-critical",
            "Completed",
            "2026-12-03T02:00:00Z",
            "2026-12-03T02:20:00Z",
        ),
        backup(
            "c",
            "backstop-critical",
            "PartiallyFailed",
            "2026-12-03T03:00:00Z",
            "2026-12-03T03:30:00Z",
        ),
        backup(
            "d",
            "backstop-critical",
            "Failed",
            "2026-12-03T04:00:00Z",
            "2026-12-03T06:00:00Z",
        ),
        backup(
            "e",
            "nightly",
            "Completed",
            "2026-12-03T00:00:00Z",
            "2026-12-03T05:00:00Z",
        ),
    ];
    server.get(
        BACKUPS,
        list_answer(&custom_list("velero.io/v1", "Backup", "303", &backups)),
    );
}

fn args(extra: &[&str], policy: &std::path::Path) -> SimulateArgs {
    let mut argv = vec![
        "backstop-chaos",
        "simulate",
        "--policy",
        policy.to_str().unwrap(),
        "--output",
        "json",
        "--samples",
        "20000",
    ];
    argv.extend_from_slice(extra);
    match Cli::try_parse_from(argv).unwrap().command {
        Command::Simulate(args) => args,
        other => panic!("parsed {other:?}"),
    }
}

fn policy_file() -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), POLICY).unwrap();
    file
}

#[tokio::test]
async fn reads_schedules_objects_and_backup_durations_from_the_cluster_with_list_calls_only() {
    let server = MockApiServer::start().await;
    cluster(&server);
    let policy = policy_file();
    let args = args(
        &["--context", "mock", "--durations-from-cluster"],
        policy.path(),
    );
    let rendered = render_report(&args, Some(server.client())).await.unwrap();
    let report: Value = serde_json::from_str(&rendered).unwrap();

    let objects = report["objects"].as_array().unwrap();
    let names: Vec<&str> = objects
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["data-platform", "vault-prod"]);
    assert_eq!(objects[0]["coveredBy"], json!(["backstop-critical"]));
    // The median of 10, 20 and 30 minutes; the Failed backup and the other schedule's are left out.
    let schedule = &report["schedules"][0];
    assert_eq!(schedule["name"], "backstop-critical");
    assert_eq!(schedule["durationFrom"], "cluster");
    assert_eq!(schedule["backupsMeasured"], 3);
    assert_eq!(schedule["backupDurationSeconds"], 1200.0);
    assert_eq!(schedule["maxBackupDurationSeconds"], 1800.0);
    // Hourly backups taking 20 min: just before one completes, the newest is 1h20m old.
    let max = objects[0]["rpo"]["maxSeconds"].as_f64().unwrap();
    assert!((4740.0..=4860.0).contains(&max), "max {max}");

    let seen = server.seen();
    assert!(
        seen.iter().all(|request| request.method == Method::GET),
        "{seen:?}"
    );
    assert!(seen.iter().any(|request| request.path == BACKUPS));
    assert!(server.unrouted().is_empty(), "{:?}", server.unrouted());
}

#[tokio::test]
async fn without_durations_from_the_cluster_backups_are_not_listed_and_take_the_flag_value() {
    let server = MockApiServer::start().await;
    cluster(&server);
    let policy = policy_file();
    let args = args(
        &["--context", "mock", "--backup-duration", "5m"],
        policy.path(),
    );
    let report: Value =
        serde_json::from_str(&render_report(&args, Some(server.client())).await.unwrap()).unwrap();
    assert_eq!(report["schedules"][0]["durationFrom"], "flag");
    assert_eq!(report["schedules"][0]["backupDurationSeconds"], 300.0);
    assert_eq!(server.count(BACKUPS, apiserver::Call::Read), 0);
}

#[tokio::test]
async fn a_cluster_without_velero_is_an_error_that_names_the_crd() {
    let server = MockApiServer::start().await;
    cluster(&server);
    // Capture 01, exchange 0: what an unserved resource answers (404 text/plain).
    server.get(
        "/apis/velero.io/v1/namespaces/velero/schedules",
        Captured::response(UNSERVED, 0),
    );
    server.get("/apis/velero.io/v1", Captured::response(UNSERVED, 3));
    let policy = policy_file();
    let args = args(&["--context", "mock"], policy.path());
    let error = render_report(&args, Some(server.client()))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("schedules.velero.io"), "{error}");
    assert_eq!(error.exit_code(), 3);
}
