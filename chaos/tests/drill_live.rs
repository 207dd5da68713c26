//! The live drill against a mocked API server (`support/apiserver.rs`) whose answers are real
//! captured ones (`fixtures/apiserver-captures/`), each named where it is used, and a local
//! HTTP server standing in for the backup store's pre-signed download URL.
//!
//! Velero's CRDs have no status subresource (capture 04): a Restore's or DownloadRequest's
//! status is on the object every LIST and watch event carries. Custom-resource list items
//! keep `apiVersion`/`kind`, core list items have neither (capture 13). The mock applies label
//! and `metadata.name` field selectors as a server does, and the tests check the selectors
//! were sent.

#![allow(clippy::unwrap_used)] // test helpers, outside #[test] functions, may unwrap

#[path = "support/apiserver.rs"]
mod apiserver;

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use apiserver::{Answer, MockApiServer, captured, captured_object};
use backstop_chaos::cli::{Cli, Command};
use backstop_chaos::drill::args::DrillArgs;
use backstop_chaos::drill::live;
use backstop_chaos::drill::result::DrillResult;
use backstop_chaos::error::EXIT_INFRASTRUCTURE;
use backstop_chaos::outcome::RestorePhase;
use backstop_chaos::verdict::{CheckName, Verdict};
use clap::Parser;
use serde_json::{Value, json};

const SOURCE: &str = "data-platform";
const NS2: &str = "data-platform-drill-test";
const RESTORE: &str = "drill-data-platform-drill-test";
const VELERO: &str = "/apis/velero.io/v1/namespaces/velero";
const LIFECYCLE: &str = "10-restore-watch-lifecycle-status-patch-bookmark";

fn args(extra: &[&str]) -> DrillArgs {
    let mut argv = vec![
        "backstop-chaos",
        "drill",
        "--schedule",
        "daily",
        "--namespace",
        SOURCE,
        "--restore-namespace",
        NS2,
    ];
    argv.extend_from_slice(extra);
    match Cli::try_parse_from(argv).unwrap().command {
        Command::Drill(a) => a,
        other => panic!("parsed as {other:?}"),
    }
}

fn json_answer(status: u16, body: &Value) -> Answer {
    Answer {
        status,
        content_type: Some("application/json".into()),
        body: format!("{body}\n"),
        events: None,
    }
}

/// A custom-resource list in the shape of capture 10, exchange 0 (`apiVersion velero.io/v1`,
/// `metadata.continue: ""`, items with apiVersion and kind), holding `items`.
fn cr_list(kind: &str, items: Vec<Value>) -> Answer {
    let mut list = captured_object(LIFECYCLE, 0);
    list["kind"] = json!(format!("{kind}List"));
    list["items"] = json!(items);
    json_answer(200, &list)
}

/// A core list in the shape of capture 13's last page (`apiVersion v1`, no `continue`, items
/// without apiVersion/kind).
fn core_list(kind: &str, items: Vec<Value>) -> Answer {
    let list = json!({"kind": format!("{kind}List"), "apiVersion": "v1",
        "metadata": {"resourceVersion": "303"}, "items": items});
    json_answer(200, &list)
}

/// Velero's object as the API server returns it: capture 05's created Restore's metadata
/// (uid, resourceVersion, generation, managedFields), renamed, with `spec` and `status`.
fn velero_object(kind: &str, name: &str, spec: Value, status: Option<Value>) -> Value {
    let mut object = captured_object("05-restore-create-201", 0);
    object["kind"] = json!(kind);
    object["metadata"]["name"] = json!(name);
    object["spec"] = spec;
    if let Some(status) = status {
        object["status"] = status;
    }
    object
}

/// The schedule's Backups from `fixtures/chaos/drill/backups/<file>.json`, as a server
/// answers `labelSelector=velero.io/schedule-name=daily`: only those labelled so.
fn backups(file: &str) -> Answer {
    let path = format!(
        "{}/../fixtures/chaos/drill/backups/{file}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut list: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let items = list["items"].as_array_mut().unwrap();
    items.retain(|b| b["metadata"]["labels"]["velero.io/schedule-name"] == "daily");
    json_answer(200, &list)
}

/// A core object of `kind` in NS2 (or `namespace`), as a list item: no apiVersion/kind.
fn core_item(name: &str, namespace: &str, extra: Value) -> Value {
    let mut item = json!({"metadata": {"name": name, "namespace": namespace,
        "uid": "5b1f3c9e-0000-4000-8000-000000000001", "resourceVersion": "410",
        "creationTimestamp": "2026-12-03T14:31:00Z"}});
    if let (Some(obj), Some(extra)) = (item.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            obj.insert(k.clone(), v.clone());
        }
    }
    item
}

fn claim(name: &str, namespace: &str, size: &str) -> Value {
    core_item(
        name,
        namespace,
        json!({"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}},
            "storageClassName": "standard", "volumeMode": "Filesystem"},
            "status": {"phase": "Bound"}}),
    )
}

/// Capture 20, exchange 4: the Pod the API server created (heavily defaulted), renamed into
/// NS2, without apiVersion/kind as a list item, with the status a kubelet writes: Running,
/// and the Ready condition `ready` (the capture's control plane has no kubelet).
fn pod(name: &str, ready: bool) -> Value {
    let mut pod = captured_object("20-pod-create-without-default-serviceaccount", 4);
    let object = pod.as_object_mut().unwrap();
    object.remove("apiVersion");
    object.remove("kind");
    pod["metadata"]["name"] = json!(name);
    pod["metadata"]["namespace"] = json!(NS2);
    let (status, reason) = if ready {
        ("True", None)
    } else {
        ("False", Some("ContainersNotReady"))
    };
    let mut condition = json!({"type": "Ready", "status": status, "lastProbeTime": null,
        "lastTransitionTime": "2026-12-03T14:31:30Z"});
    if let Some(reason) = reason {
        condition["reason"] = json!(reason);
    }
    pod["status"] =
        json!({"phase": "Running", "conditions": [condition], "qosClass": "BestEffort"});
    pod
}

fn gzip(document: &Value) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(document.to_string().as_bytes()).unwrap();
    gz.finish().unwrap()
}

/// What the backup store serves at the pre-signed URLs (Velero's object store layout,
/// `pkg/persistence/object_store_layout.go`): each `(key, document)` gzip-compressed.
async fn backup_store(files: Vec<(String, Value)>) -> SocketAddr {
    let mut app = axum::Router::new();
    for (key, document) in files {
        let bytes = gzip(&document);
        app = app.route(
            &format!("/velero/{key}"),
            axum::routing::get(move || {
                let bytes = bytes.clone();
                async move { bytes }
            }),
        );
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// One scenario of the cluster; each test changes what it is about.
struct Cluster {
    backups: &'static str,
    restore_phase: &'static str,
    pods_ready: bool,
    check: Answer,
    pvr_phase: &'static str,
    /// Extra `(resource, name)` items of data-platform in the backup's resource list.
    more_in_backup: Vec<(&'static str, &'static str)>,
    /// The restore's results (`RestoreResults`), as the restore controller writes them.
    results: Value,
    /// Whether NS2 exists before the drill.
    restore_namespace_exists: bool,
}

impl Default for Cluster {
    fn default() -> Self {
        Self {
            backups: "newest-partially-failed",
            restore_phase: "Completed",
            pods_ready: true,
            // The proxy passes the Service's own answer through: the ledger's `/healthz` body.
            check: Answer {
                status: 200,
                content_type: Some("text/plain; charset=utf-8".into()),
                body: "ok\n".into(),
                events: None,
            },
            pvr_phase: "Completed",
            more_in_backup: Vec::new(),
            results: json!({"errors": {}, "warnings": {}}),
            restore_namespace_exists: false,
        }
    }
}

const BACKUP: &str = "daily-20261202020000";

impl Cluster {
    async fn serve(self) -> MockApiServer {
        let mut resource_list = json!({
            "apps/v1/StatefulSet": [format!("{SOURCE}/ledger")],
            "v1/Service": [format!("{SOURCE}/ledger")],
            "v1/PersistentVolumeClaim": [format!("{SOURCE}/data-ledger-0")],
            "v1/Pod": [format!("{SOURCE}/ledger-0")],
            "v1/PersistentVolume": ["pvc-8d1c"],
            "v1/Namespace": [SOURCE],
            "v1/Secret": [format!("{SOURCE}/ledger-token")],
        });
        for (resource, name) in &self.more_in_backup {
            let entries = resource_list[*resource].as_array_mut();
            match entries {
                Some(entries) => entries.push(json!(format!("{SOURCE}/{name}"))),
                None => resource_list[*resource] = json!([format!("{SOURCE}/{name}")]),
            }
        }
        // What Velero restored, as RestoredResourceList (pkg/restore/request.go) writes it: the
        // backup's items in NS2 with what it did; completed Pods and Jobs get no entry.
        let restored_list = json!({
            "apps/v1/StatefulSet": [format!("{NS2}/ledger(created)")],
            "v1/Namespace": [format!("{NS2}(created)")],
            "v1/PersistentVolume": ["pvc-8d1c(skipped)"],
            "v1/PersistentVolumeClaim": [format!("{NS2}/data-ledger-0(created)")],
            "v1/Pod": [format!("{NS2}/ledger-0(created)")],
            "v1/Secret": [format!("{NS2}/ledger-token(created)")],
            "v1/Service": [format!("{NS2}/ledger(created)")],
        });
        let store = backup_store(vec![
            (
                format!("backups/{BACKUP}/{BACKUP}-resource-list.json.gz"),
                resource_list,
            ),
            (
                format!("restores/{RESTORE}/restore-{RESTORE}-resource-list.json.gz"),
                restored_list,
            ),
            (
                format!("restores/{RESTORE}/restore-{RESTORE}-results.gz"),
                self.results.clone(),
            ),
        ])
        .await;
        let url = |key: String| format!("http://{store}/velero/{key}?X-Amz-Expires=600");
        // The drill's three downloads, in the order it asks for them.
        let downloads = [
            (
                "restore-results",
                "RestoreResults",
                RESTORE,
                url(format!("restores/{RESTORE}/restore-{RESTORE}-results.gz")),
            ),
            (
                "restore-resource-list",
                "RestoreResourceList",
                RESTORE,
                url(format!(
                    "restores/{RESTORE}/restore-{RESTORE}-resource-list.json.gz"
                )),
            ),
            (
                "resource-list",
                "BackupResourceList",
                BACKUP,
                url(format!("backups/{BACKUP}/{BACKUP}-resource-list.json.gz")),
            ),
        ];
        let restore_spec = json!({"backupName": BACKUP, "includedNamespaces": [SOURCE],
            "namespaceMapping": {SOURCE: NS2}, "restorePVs": true, "existingResourcePolicy": "none"});
        let restore_status = json!({"phase": self.restore_phase, "startTimestamp": "2026-12-03T14:30:02Z",
            "completionTimestamp": "2026-12-03T14:31:35Z", "warnings": 0,
            "errors": if self.restore_phase == "Completed" { 0 } else { 2 }});
        let apps = |kind: &str| format!("/apis/apps/v1/namespaces/{NS2}/{kind}");
        let core = |ns: &str, kind: &str| format!("/api/v1/namespaces/{ns}/{kind}");
        let pvb = json!({"apiVersion": "velero.io/v1", "kind": "PodVolumeBackup",
            "metadata": {"name": format!("{BACKUP}-x7k2p"), "namespace": "velero",
                "labels": {"velero.io/backup-name": BACKUP}},
            "spec": {"pod": {"kind": "Pod", "name": "ledger-0", "namespace": SOURCE},
                "volume": "data", "node": "worker", "backupStorageLocation": "default",
                "repoIdentifier": "", "tags": {}},
            "status": {"phase": "Completed"}});
        let pvr = json!({"apiVersion": "velero.io/v1", "kind": "PodVolumeRestore",
            "metadata": {"name": format!("{RESTORE}-q9w4z"), "namespace": "velero",
                "labels": {"velero.io/restore-name": RESTORE}},
            "spec": {"pod": {"kind": "Pod", "name": "ledger-0", "namespace": NS2},
                "volume": "data", "backupStorageLocation": "default", "repoIdentifier": "",
                "snapshotID": "f3a1"},
            "status": {"phase": self.pvr_phase}});
        // Capture 15, exchange 1: a namespace DELETE answers the Namespace, Terminating.
        let mut terminating = captured_object("15-namespace-delete-terminating-finalize", 1);
        terminating["metadata"]["name"] = json!(NS2);
        // Capture 22, exchange 0: a Restore without finalizers deletes with a Status Success.
        let mut deleted = captured_object("22-restore-delete-background-finalizer-precondition", 0);
        deleted["details"]["name"] = json!(RESTORE);

        // Capture 03, exchange 5: the restore namespace does not exist before the drill; or
        // capture 02, exchange 0: a Namespace as the server returns it, renamed to NS2.
        let before = if self.restore_namespace_exists {
            let mut existing = captured_object("02-create-namespace-201-then-409", 0);
            existing["metadata"]["name"] = json!(NS2);
            json_answer(200, &existing)
        } else {
            captured("03-get-missing-object-and-missing-namespace", 5)
        };
        let mut server = MockApiServer::new();
        let mut processed = Vec::new();
        for (suffix, kind, target, url) in downloads {
            let name = format!("{RESTORE}-{suffix}");
            let spec = json!({"target": {"kind": kind, "name": target}});
            let mut download_deleted = deleted.clone();
            download_deleted["details"]["name"] = json!(name);
            download_deleted["details"]["kind"] = json!("downloadrequests");
            server = server
                // Capture 05: a valid custom resource is created (201) with no status.
                .once(
                    "POST",
                    &format!("{VELERO}/downloadrequests"),
                    json_answer(
                        201,
                        &velero_object("DownloadRequest", &name, spec.clone(), None),
                    ),
                )
                .on(
                    "DELETE",
                    &format!("{VELERO}/downloadrequests/{name}"),
                    json_answer(200, &download_deleted),
                );
            // Velero's download_request_controller: phase Processed and a pre-signed URL.
            processed.push(velero_object("DownloadRequest", &name, spec,
                Some(json!({"phase": "Processed", "downloadURL": url, "expiration": "2026-12-03T14:41:35Z"}))));
        }

        server
            .on("GET", "/version", captured("00-version", 0))
            .on("GET", &format!("{VELERO}/backups"), backups(self.backups))
            // Capture 05: a valid Restore is created (201) with no status.
            .on(
                "POST",
                &format!("{VELERO}/restores"),
                json_answer(
                    201,
                    &velero_object("Restore", RESTORE, restore_spec.clone(), None),
                ),
            )
            .on(
                "GET",
                &format!("{VELERO}/restores"),
                cr_list(
                    "Restore",
                    vec![velero_object(
                        "Restore",
                        RESTORE,
                        restore_spec.clone(),
                        Some(restore_status.clone()),
                    )],
                ),
            )
            .on(
                "GET",
                &format!("{VELERO}/restores/{RESTORE}"),
                json_answer(
                    200,
                    &velero_object("Restore", RESTORE, restore_spec, Some(restore_status)),
                ),
            )
            .on(
                "DELETE",
                &format!("{VELERO}/restores/{RESTORE}"),
                json_answer(200, &deleted),
            )
            // The list a watch on one DownloadRequest starts with (fieldSelector metadata.name).
            .on(
                "GET",
                &format!("{VELERO}/downloadrequests"),
                cr_list("DownloadRequest", processed),
            )
            .on(
                "GET",
                &format!("{VELERO}/podvolumebackups"),
                cr_list("PodVolumeBackup", vec![pvb]),
            )
            .on(
                "GET",
                &format!("{VELERO}/podvolumerestores"),
                cr_list("PodVolumeRestore", vec![pvr]),
            )
            .on(
                "GET",
                &core(SOURCE, "persistentvolumeclaims"),
                core_list(
                    "PersistentVolumeClaim",
                    vec![claim("data-ledger-0", SOURCE, "1Gi")],
                ),
            )
            .on(
                "GET",
                &core(NS2, "persistentvolumeclaims"),
                core_list(
                    "PersistentVolumeClaim",
                    vec![claim("data-ledger-0", NS2, "1Gi")],
                ),
            )
            .on(
                "GET",
                &core(NS2, "pods"),
                core_list("Pod", vec![pod("ledger-0", self.pods_ready)]),
            )
            .on(
                "GET",
                &core(NS2, "services"),
                core_list("Service", vec![core_item("ledger", NS2, json!({}))]),
            )
            .on(
                "GET",
                &apps("statefulsets"),
                json_answer(
                    200,
                    &json!({"kind": "StatefulSetList",
                "apiVersion": "apps/v1", "metadata": {"resourceVersion": "303"},
                "items": [core_item("ledger", NS2, json!({}))]}),
                ),
            )
            // Velero restores no completed Job: the list is empty.
            .on(
                "GET",
                &format!("/apis/batch/v1/namespaces/{NS2}/jobs"),
                json_answer(
                    200,
                    &json!({"kind": "JobList",
                "apiVersion": "batch/v1", "metadata": {"resourceVersion": "303"}, "items": []}),
                ),
            )
            .on(
                "GET",
                &format!("/api/v1/namespaces/{NS2}/services/ledger:8080/proxy/healthz"),
                self.check,
            )
            .on(
                "DELETE",
                &format!("/api/v1/namespaces/{NS2}"),
                json_answer(200, &terminating),
            )
            .once("GET", &format!("/api/v1/namespaces/{NS2}"), before)
            // Capture 16, exchange 0: the drill's ClusterRole grants no list on Secrets.
            .on(
                "GET",
                &core(NS2, "secrets"),
                captured("16-rbac-forbidden-403", 0),
            )
    }
}

/// The mock's client, and one without kube-rs' retries for the checks (as the command builds).
async fn clients(server: &MockApiServer) -> live::Clients {
    let (api, addr) = server.start().await;
    let mut config = kube::Config::new(format!("http://{addr}").parse().unwrap());
    config.default_retry = false;
    live::Clients {
        api,
        checks: kube::Client::try_from(config).unwrap(),
    }
}

async fn drill(cluster: Cluster, extra: &[&str]) -> (DrillResult, MockApiServer) {
    let server = cluster.serve().await;
    let clients = clients(&server).await;
    let args = args(extra);
    let target = backstop_chaos::command::drill::settle(&args, chrono::Utc::now()).unwrap();
    let result = live::drill(&clients, &args, &target, std::future::pending())
        .await
        .unwrap();
    (result, server)
}

fn check(result: &DrillResult, name: CheckName) -> (bool, String) {
    let c = result.checks.iter().find(|c| c.name == name).unwrap();
    (c.passed, c.evidence.clone())
}

/// Every step; the timeout only bounds a drill that hangs (a loaded machine needs seconds).
const FULL: [&str; 7] = [
    "--wait",
    "--restore-pvs",
    "--timeout",
    "60s",
    "--cleanup",
    "--check",
    "ledger:8080/healthz",
];

#[tokio::test]
async fn a_drill_that_restores_everything_passes_with_every_step_stamped() {
    let (r, server) = drill(Cluster::default(), &FULL).await;
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.checks);
    let phases: Vec<&str> = r.phases.iter().map(|p| p.phase.name()).collect();
    assert_eq!(
        phases,
        [
            "backups",
            "restore-start",
            "restore-complete",
            "pods-ready",
            "data-verified",
            "teardown"
        ]
    );
    let c = r.drill.comparison.as_ref().unwrap();
    // The resource list's StatefulSet, Service, claim and pod of data-platform; the
    // cluster-scoped PersistentVolume and Namespace are not namespace items.
    assert_eq!(
        (c.items_compared, c.pvcs_compared, c.pod_volumes_compared),
        (4, 1, 1)
    );
    assert_eq!(r.versions.kubernetes, "v1.36.2");
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .any(|q| q.starts_with(&format!("GET {VELERO}/backups?"))
                && q.contains("labelSelector=velero.io%2Fschedule-name%3Ddaily")),
        "{requests:#?}"
    );
    assert!(
        requests
            .iter()
            .any(|q| q.contains("labelSelector=velero.io%2Fbackup-name%3Ddaily-20261202020000"))
    );
    assert!(requests.iter().any(|q| q.contains(&format!(
        "labelSelector=velero.io%2Frestore-name%3D{RESTORE}"
    ))));
}

/// `(apiGroup, resource, verb)` of a request, as RBAC names it; `None` for `/version`.
fn access(request: &str) -> Option<(String, String, String)> {
    let (method, rest) = request.split_once(' ').unwrap();
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path == "/version" {
        return None;
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (group, tail) = match parts.as_slice() {
        ["api", "v1", tail @ ..] => ("", tail),
        ["apis", group, _version, tail @ ..] => (*group, tail),
        _ => panic!("unexpected path {path}"),
    };
    let (resource, named) = match tail {
        ["namespaces", name] => ("namespaces".to_owned(), Some(*name)),
        ["namespaces", _, resource] => ((*resource).to_owned(), None),
        ["namespaces", _, "services", _, "proxy", ..] => ("services/proxy".to_owned(), Some("")),
        ["namespaces", _, resource, name] => ((*resource).to_owned(), Some(*name)),
        _ => panic!("unexpected path {path}"),
    };
    let verb = match (method, named, query.contains("watch=true")) {
        ("GET", None, true) => "watch",
        ("GET", None, false) => "list",
        ("GET", Some(_), _) => "get",
        ("POST", None, _) => "create",
        ("DELETE", Some(_), _) => "delete",
        other => panic!("unexpected request {other:?}: {request}"),
    };
    Some((group.to_owned(), resource, verb.to_owned()))
}

#[tokio::test]
async fn every_request_the_drill_sends_is_one_its_rbac_grants() {
    let mut seen = Vec::new();
    // Kinds the drill tried to list, was refused (403) and reported as not compared.
    let mut refused = Vec::new();
    // The second drill waits for pods that never get Ready: its timeout ends it.
    let mut waits_out = FULL;
    waits_out[3] = "2s";
    for (cluster, flags) in [
        (Cluster::default(), FULL),
        (
            Cluster {
                pods_ready: false,
                ..Cluster::default()
            },
            waits_out,
        ),
    ] {
        let (r, server) = drill(cluster, &flags).await;
        seen.extend(server.requests());
        if let Some(c) = &r.drill.comparison {
            refused.extend(
                c.not_listed
                    .keys()
                    .map(|k| format!("{}s", k.rsplit('/').next().unwrap().to_lowercase())),
            );
        }
    }
    assert_eq!(refused, ["secrets", "secrets"]);
    for request in &seen {
        let Some((group, resource, verb)) = access(request) else {
            continue;
        };
        if refused.contains(&resource) && verb == "list" {
            continue;
        }
        assert!(
            live::ACCESS.iter().any(|(_, g, r, verbs)| *g == group
                && *r == resource
                && verbs.contains(&verb.as_str())),
            "{request} ({group}/{resource} {verb}) is not in live::ACCESS"
        );
    }
}

#[tokio::test]
async fn the_newest_partially_failed_backup_is_skipped_for_an_older_completed_one() {
    let (r, _) = drill(Cluster::default(), &FULL).await;
    assert_eq!(r.drill.backup.as_ref().unwrap().name, BACKUP);
    let skipped: Vec<(&str, &str)> = r
        .drill
        .skipped_backups
        .iter()
        .map(|b| (b.name.as_str(), b.phase.as_str()))
        .collect();
    assert_eq!(skipped, [("daily-20261203020000", "PartiallyFailed")]);
    assert_eq!(r.restore.as_ref().unwrap().backup, BACKUP);
}

#[tokio::test]
async fn a_schedule_without_a_completed_backup_fails_the_drill_and_creates_nothing() {
    let (r, server) = drill(
        Cluster {
            backups: "no-completed-backup",
            ..Cluster::default()
        },
        &FULL,
    )
    .await;
    assert_eq!(r.verdict, Verdict::Fail);
    let (passed, evidence) = check(&r, CheckName::CompletedBackupFound);
    assert!(!passed);
    assert!(
        evidence.contains("daily-20261203020000 (PartiallyFailed"),
        "{evidence}"
    );
    assert!(
        evidence.contains("daily-20261202020000 (Failed"),
        "{evidence}"
    );
    assert!(r.restore.is_none());
    assert!(
        !server.requests().iter().any(|q| q.starts_with("POST")),
        "{:#?}",
        server.requests()
    );
}

#[tokio::test]
async fn the_restore_maps_the_namespace_into_the_scratch_one() {
    let (r, server) = drill(Cluster::default(), &FULL).await;
    let bodies = server.bodies();
    let (_, sent) = bodies
        .iter()
        .find(|(request, _)| request == &format!("POST {VELERO}/restores?"))
        .unwrap();
    let sent: Value = serde_json::from_str(sent).unwrap();
    // The Restore of fixtures/chaos/drill/restores/mapped-with-pvs.yaml (validated against the
    // CRD schema in CI), for this drill's namespaces and chosen backup.
    assert_eq!(sent["metadata"]["name"], RESTORE);
    assert_eq!(sent["metadata"]["namespace"], "velero");
    assert_eq!(sent["spec"]["backupName"], BACKUP);
    assert_eq!(sent["spec"]["includedNamespaces"], json!([SOURCE]));
    assert_eq!(sent["spec"]["namespaceMapping"], json!({SOURCE: NS2}));
    assert_eq!(sent["spec"]["restorePVs"], true);
    assert_eq!(sent["spec"]["existingResourcePolicy"], "none");
    assert_eq!(
        (
            r.drill.source_namespace.as_str(),
            r.drill.restore_namespace.as_str()
        ),
        (SOURCE, NS2)
    );
    assert!(!r.drill.in_place);
    // Everything after the restore looks in the scratch namespace, never the source's.
    assert!(
        r.drill.service_checks[0]
            .proxy_path
            .starts_with(&format!("/api/v1/namespaces/{NS2}/"))
    );
    assert!(
        !server
            .requests()
            .iter()
            .any(|q| q.contains(&format!("/namespaces/{SOURCE}/pods")))
    );
}

#[test]
fn restoring_into_the_source_namespace_is_refused_before_any_request() {
    let mut argv = vec![
        "backstop-chaos",
        "drill",
        "--schedule",
        "daily",
        "--namespace",
        SOURCE,
    ];
    argv.extend(["--restore-namespace", SOURCE, "--wait"]);
    let Command::Drill(args) = Cli::try_parse_from(argv).unwrap().command else {
        panic!("not a drill")
    };
    // settle() runs before any client exists: nothing can have been asked of a cluster.
    let e = backstop_chaos::command::drill::settle(&args, chrono::Utc::now()).unwrap_err();
    assert_eq!(e.exit_code(), backstop_chaos::error::EXIT_BAD_INPUT);
    assert!(
        e.to_string().contains("writes over its live objects"),
        "{e}"
    );
}

#[tokio::test]
async fn without_wait_the_drill_creates_the_restore_and_is_judged_on_that() {
    let (r, server) = drill(Cluster::default(), &[]).await;
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.checks);
    let (passed, evidence) = check(&r, CheckName::RestoreCreated);
    assert!(passed, "{evidence}");
    assert!(
        !server
            .requests()
            .iter()
            .any(|q| q.contains("downloadrequests"))
    );
}

#[tokio::test]
async fn a_partially_failed_restore_fails_the_drill() {
    let (r, _) = drill(
        Cluster {
            restore_phase: "PartiallyFailed",
            ..Cluster::default()
        },
        &FULL,
    )
    .await;
    assert_eq!(r.verdict, Verdict::Fail);
    assert_eq!(
        r.restore.as_ref().unwrap().phase,
        RestorePhase::PartiallyFailed
    );
    let (passed, evidence) = check(&r, CheckName::RestoreCompleted);
    assert!(!passed, "{evidence}");
    assert!(evidence.contains("PartiallyFailed"), "{evidence}");
}

#[tokio::test]
async fn pods_never_ready_within_the_timeout_fail_the_drill_naming_the_pod() {
    let started = std::time::Instant::now();
    let (r, _) = drill(
        Cluster {
            pods_ready: false,
            ..Cluster::default()
        },
        &[
            "--wait",
            "--timeout",
            // Room for the Restore's watch and the pods' first list on a loaded machine.
            "2s",
            "--check",
            "ledger:8080/healthz",
        ],
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(!r.pods.ready);
    assert!(
        r.pods.detail.contains("not Ready before --timeout ran out"),
        "{}",
        r.pods.detail
    );
    assert!(
        r.pods
            .detail
            .contains("ledger-0 (Running: ContainersNotReady)"),
        "{}",
        r.pods.detail
    );
    assert!(!r.phases.iter().any(|p| p.phase.name() == "pods-ready"));
    // The checks are not run against pods that are not up.
    let (passed, evidence) = check(&r, CheckName::ServiceChecksPass);
    assert!(!passed);
    assert!(evidence.contains("1 not run"), "{evidence}");
}

#[tokio::test]
async fn a_check_answered_503_by_the_service_proxy_fails_the_drill() {
    // Capture 18, exchange 8: the proxy's own 503 when the Service has no ready endpoints.
    let (r, _) = drill(
        Cluster {
            check: captured("18-service-proxy-no-endpoints", 8),
            ..Cluster::default()
        },
        &FULL,
    )
    .await;
    assert_eq!(r.verdict, Verdict::Fail);
    let seen = &r.drill.service_checks[0];
    assert_eq!(seen.status, Some(503));
    assert!(
        seen.detail.contains("no endpoints available"),
        "{}",
        seen.detail
    );
    let (passed, _) = check(&r, CheckName::ServiceChecksPass);
    assert!(!passed);
}

#[tokio::test]
async fn a_pod_volume_restore_that_failed_is_a_difference_from_the_backup() {
    let (r, _) = drill(
        Cluster {
            pvr_phase: "Failed",
            ..Cluster::default()
        },
        &FULL,
    )
    .await;
    assert_eq!(r.verdict, Verdict::Fail);
    let (passed, evidence) = check(&r, CheckName::RestoredMatchesBackup);
    assert!(!passed);
    assert!(
        evidence.contains("pod volume ledger-0/data: its PodVolumeRestore is Failed"),
        "{evidence}"
    );
}

#[tokio::test]
async fn cleanup_deletes_the_scratch_namespace_and_the_restore_and_records_it() {
    let (r, server) = drill(Cluster::default(), &FULL).await;
    let cleanup = r.drill.cleanup.as_ref().unwrap();
    assert!(
        cleanup.namespace_deleted && cleanup.restore_deleted,
        "{cleanup:?}"
    );
    assert_eq!(
        cleanup.detail,
        format!("namespace {NS2} Terminating; Restore velero/{RESTORE} deleted")
    );
    let deletes: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|q| q.starts_with("DELETE"))
        .collect();
    assert_eq!(
        deletes,
        [
            format!("DELETE {VELERO}/downloadrequests/{RESTORE}-restore-results?"),
            format!("DELETE {VELERO}/downloadrequests/{RESTORE}-restore-resource-list?"),
            format!("DELETE {VELERO}/downloadrequests/{RESTORE}-resource-list?"),
            format!("DELETE /api/v1/namespaces/{NS2}?"),
            format!("DELETE {VELERO}/restores/{RESTORE}?"),
        ]
    );
    let (passed, _) = check(&r, CheckName::CleanedUp);
    assert!(passed);
}

#[tokio::test]
async fn without_cleanup_nothing_is_deleted_but_the_download_requests() {
    let (r, server) = drill(Cluster::default(), &["--wait", "--timeout", "60s"]).await;
    assert!(r.drill.cleanup.is_none());
    let deletes: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|q| q.starts_with("DELETE"))
        .collect();
    assert_eq!(
        deletes,
        ["restore-results", "restore-resource-list", "resource-list"]
            .map(|suffix| format!("DELETE {VELERO}/downloadrequests/{RESTORE}-{suffix}?"))
    );
}

#[tokio::test]
async fn the_evidence_in_result_json_reads_back_as_a_drill_with_its_timestamps() {
    let (r, _) = drill(Cluster::default(), &FULL).await;
    let text = serde_json::to_string_pretty(&r).unwrap();
    assert!(backstop_chaos::drill::result::is_drill(&text));
    let back =
        backstop_chaos::drill::result::parse(std::path::Path::new("result.json"), &text).unwrap();
    assert_eq!(back, r);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["drill"]["backup"]["name"], BACKUP);
    assert_eq!(v["drill"]["serviceChecks"][0]["status"], 200);
    assert!(v["drill"]["serviceChecks"][0]["at"]["wall"].is_string());
    assert!(v["drill"]["cleanup"]["at"]["monoNanos"].is_u64());
    for phase in v["phases"].as_array().unwrap() {
        assert!(phase["ended"]["wall"].is_string(), "{phase}");
    }
}

#[tokio::test]
async fn velero_not_installed_is_said_plainly_with_exit_3() {
    // Capture 01: an unserved group answers 404 text/plain; the mock's fallback is that answer.
    let server = MockApiServer::new().on("GET", "/version", captured("00-version", 0));
    let clients = clients(&server).await;
    let args = args(&["--wait"]);
    let target = backstop_chaos::command::drill::settle(&args, chrono::Utc::now()).unwrap();
    let e = live::drill(&clients, &args, &target, std::future::pending())
        .await
        .unwrap_err();
    assert_eq!(e.exit_code(), EXIT_INFRASTRUCTURE);
    assert!(e.to_string().contains("Velero is not installed"), "{e}");
}

#[tokio::test]
async fn completed_pods_and_jobs_velero_never_restores_neither_fail_the_drill_nor_hold_up_the_wait()
{
    // A CronJob's finished run in the backup: Velero skips it on restore (`isCompleted`,
    // pkg/restore/restore.go) and its record of the restore does not name it.
    let (r, _) = drill(
        Cluster {
            more_in_backup: vec![
                ("v1/Pod", "compact-29001-x7k2p"),
                ("batch/v1/Job", "compact-29001"),
            ],
            ..Cluster::default()
        },
        &FULL,
    )
    .await;
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.checks);
    // One pod restored, one pod waited for (not the two the backup lists).
    assert_eq!(r.pods.detail, format!("1/1 pods Ready in {NS2}"));
    let c = r.drill.comparison.as_ref().unwrap();
    assert_eq!(c.differences, []);
    let passed_over: Vec<(&str, Vec<&str>)> = c
        .passed_over
        .iter()
        .map(|(k, v)| (k.as_str(), v.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        passed_over,
        [
            ("batch/v1/Job", vec!["compact-29001"]),
            ("v1/Pod", vec!["compact-29001-x7k2p"])
        ]
    );
}

#[tokio::test]
async fn the_restore_s_own_error_messages_are_the_evidence_of_a_partial_failure() {
    let (r, _) = drill(
        Cluster {
            restore_phase: "PartiallyFailed",
            results: json!({"errors": {"namespaces": {NS2: [
                "error restoring services/data-platform-drill-test/ledger: the server could not find the requested resource",
                "error restoring pods/data-platform-drill-test/ledger-0: pods \"ledger-0\" is forbidden"]}},
                "warnings": {}}),
            ..Cluster::default()
        },
        &FULL,
    )
    .await;
    let restore = r.restore.as_ref().unwrap();
    assert_eq!(
        restore.errors,
        [
            format!(
                "{NS2}: error restoring services/{NS2}/ledger: the server could not find the requested resource"
            ),
            format!("{NS2}: error restoring pods/{NS2}/ledger-0: pods \"ledger-0\" is forbidden"),
        ]
    );
    let (passed, evidence) = check(&r, CheckName::RestoreCompleted);
    assert!(!passed);
    assert!(
        evidence.contains("could not find the requested resource"),
        "{evidence}"
    );
}

#[tokio::test]
async fn a_restore_still_running_when_the_timeout_runs_out_fails_the_drill_and_is_cleaned_up() {
    let started = std::time::Instant::now();
    let (r, server) = drill(
        Cluster {
            restore_phase: "InProgress",
            ..Cluster::default()
        },
        &["--wait", "--timeout", "1s", "--cleanup"],
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.verdict, Verdict::Fail);
    let restore = r.restore.as_ref().unwrap();
    assert_eq!(restore.phase, RestorePhase::InProgress);
    assert_eq!(
        restore.errors,
        ["still InProgress when the drill's timeout ran out"]
    );
    assert!(
        r.drill
            .why_not_compared
            .as_deref()
            .unwrap()
            .contains("the Restore did not finish within 1s"),
        "{:?}",
        r.drill.why_not_compared
    );
    assert!(!r.pods.ready);
    // Nothing was downloaded for a restore that has not finished; what it made is deleted.
    let requests = server.requests();
    assert!(
        !requests.iter().any(|q| q.contains("downloadrequests")),
        "{requests:#?}"
    );
    assert!(r.drill.cleanup.as_ref().unwrap().namespace_deleted);
    let phases: Vec<&str> = r.phases.iter().map(|p| p.phase.name()).collect();
    assert_eq!(phases, ["backups", "restore-start", "teardown"]);
}

#[tokio::test]
async fn an_api_server_that_refuses_the_credentials_is_said_plainly_with_exit_3() {
    // Capture 17, exchange 0: a request with a bad token is answered 401 Unauthorized.
    let server = MockApiServer::new().on(
        "GET",
        "/version",
        captured("17-unauthenticated-401-and-anonymous-403", 0),
    );
    let clients = clients(&server).await;
    let args = args(&["--wait"]);
    let target = backstop_chaos::command::drill::settle(&args, chrono::Utc::now()).unwrap();
    let e = live::drill(&clients, &args, &target, std::future::pending())
        .await
        .unwrap_err();
    assert_eq!(e.exit_code(), EXIT_INFRASTRUCTURE);
    assert!(
        e.to_string()
            .contains("the Kubernetes API server refused the drill: 401"),
        "{e}"
    );
}

#[tokio::test]
async fn a_restore_namespace_that_already_exists_is_refused_before_the_restore() {
    let server = Cluster {
        restore_namespace_exists: true,
        ..Cluster::default()
    }
    .serve()
    .await;
    let clients = clients(&server).await;
    let args = args(&FULL);
    let target = backstop_chaos::command::drill::settle(&args, chrono::Utc::now()).unwrap();
    let e = live::drill(&clients, &args, &target, std::future::pending())
        .await
        .unwrap_err();
    assert_eq!(e.exit_code(), backstop_chaos::error::EXIT_BAD_INPUT);
    assert!(
        e.to_string()
            .contains(&format!("namespace {NS2} already exists")),
        "{e}"
    );
    let requests = server.requests();
    assert!(
        !requests
            .iter()
            .any(|q| q.starts_with("POST") || q.starts_with("DELETE")),
        "{requests:#?}"
    );
}

/// The binary's command line against the mock, through a kubeconfig naming it in `dir`.
async fn binary(
    server: &MockApiServer,
    dir: &std::path::Path,
    extra: &[&str],
) -> std::process::Command {
    let (_, addr) = server.start().await;
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: mock\nclusters:\n- name: mock\n  \
             cluster: {{server: \"http://{addr}\"}}\ncontexts:\n- name: mock\n  \
             context: {{cluster: mock, user: nobody}}\nusers:\n- name: nobody\n  user: {{}}\n"
        ),
    )
    .unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_backstop-chaos"));
    command
        .args(["drill", "--schedule", "daily", "--namespace", SOURCE])
        .args(extra)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("--out")
        .arg(dir.join("out"));
    command
}

/// The binary, against the mock, run to its end.
async fn run_binary(server: &MockApiServer, extra: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let mut command = binary(server, dir.path(), extra).await;
    tokio::task::spawn_blocking(move || {
        let output = command.output().unwrap();
        drop(dir);
        output
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn restoring_into_the_source_namespace_is_refused_before_any_request_reaches_the_cluster() {
    let server = Cluster::default().serve().await;
    let refused = run_binary(&server, &["--restore-namespace", SOURCE, "--wait"]).await;
    assert_eq!(
        refused.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(server.requests(), Vec::<String>::new());
    // The same kubeconfig does reach the mock once the namespace is a scratch one.
    let drilled = run_binary(&server, &["--restore-namespace", NS2]).await;
    assert_eq!(
        drilled.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&drilled.stderr)
    );
    assert!(server.requests().iter().any(|q| q.starts_with("POST")));
}

/// Resolves once the mock has seen a request starting with `prefix` (polls; fails after 5 s):
/// the stand-in for a Ctrl-C at that moment.
async fn once_requested(server: &MockApiServer, prefix: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !server.requests().iter().any(|q| q.starts_with(prefix)) {
        assert!(std::time::Instant::now() < deadline, "no {prefix}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_drill_stopped_while_it_waits_deletes_what_it_made_with_cleanup() {
    let server = Cluster {
        restore_phase: "InProgress",
        ..Cluster::default()
    }
    .serve()
    .await;
    let clients = clients(&server).await;
    let args = args(&["--wait", "--timeout", "1h", "--cleanup"]);
    let target = backstop_chaos::command::drill::settle(&args, chrono::Utc::now()).unwrap();
    // Stopped once the Restore exists, while the drill watches it (its watch stays open and
    // silent, capture 11). The DELETEs are answered as `Cluster` routes them: capture 15,
    // exchange 1 (the namespace, Terminating) and capture 22, exchange 0 (the Restore gone).
    let created = format!("POST {VELERO}/restores");
    let stop = once_requested(&server, &created);
    let e = live::drill(&clients, &args, &target, stop)
        .await
        .unwrap_err();
    assert_eq!(e.exit_code(), EXIT_INFRASTRUCTURE);
    assert_eq!(
        e.to_string(),
        format!(
            "interrupted: the drill was stopped; namespace {NS2} Terminating; Restore \
             velero/{RESTORE} deleted"
        )
    );
    let deletes: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|q| q.starts_with("DELETE"))
        .collect();
    assert_eq!(
        deletes,
        [
            format!("DELETE /api/v1/namespaces/{NS2}?"),
            format!("DELETE {VELERO}/restores/{RESTORE}?"),
        ]
    );
}

#[tokio::test]
async fn a_drill_stopped_without_cleanup_deletes_nothing_and_says_what_is_left() {
    let server = Cluster {
        restore_phase: "InProgress",
        ..Cluster::default()
    }
    .serve()
    .await;
    let clients = clients(&server).await;
    let args = args(&["--wait", "--timeout", "1h"]);
    let target = backstop_chaos::command::drill::settle(&args, chrono::Utc::now()).unwrap();
    let created = format!("POST {VELERO}/restores");
    let stop = once_requested(&server, &created);
    let e = live::drill(&clients, &args, &target, stop)
        .await
        .unwrap_err();
    assert!(
        e.to_string().ends_with(&format!(
            "Restore velero/{RESTORE} and namespace {NS2} are left (no --cleanup)"
        )),
        "{e}"
    );
    assert!(!server.requests().iter().any(|q| q.starts_with("DELETE")));
}

#[tokio::test]
async fn a_sigterm_stops_the_binary_with_exit_3_after_its_cleanup() {
    let Some(kill) = ["/bin/kill", "/usr/bin/kill"]
        .into_iter()
        .find(|path| std::path::Path::new(path).exists())
    else {
        eprintln!("skipped: no `kill` command to send SIGTERM with");
        return;
    };
    let server = Cluster {
        restore_phase: "InProgress",
        ..Cluster::default()
    }
    .serve()
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut command = binary(
        &server,
        dir.path(),
        &[
            "--restore-namespace",
            NS2,
            "--wait",
            "--timeout",
            "1h",
            "--cleanup",
        ],
    )
    .await;
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // What a Job's pod gets at its activeDeadlineSeconds, once the Restore exists.
    let created = format!("POST {VELERO}/restores");
    once_requested(&server, &created).await;
    let sent = std::process::Command::new(kill)
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the drill was stopped; namespace {NS2} Terminating; Restore velero/{RESTORE} deleted"
        )),
        "{stderr}"
    );
    assert!(
        server
            .requests()
            .contains(&format!("DELETE {VELERO}/restores/{RESTORE}?"))
    );
}
