//! A whole fake outside world for the live run's real code: a mocked API server
//! (`support/apiserver.rs`) that keeps the state of a small cluster with Velero and the
//! ledger in it, and answers every call the run makes in the shape a real server answers
//! (each answer names its capture in `fixtures/apiserver-captures/`); fake `kind`, `docker`,
//! `velero` and `kubectl` on PATH that record their argv; moto standing in for MinIO; and a
//! local HTTP server for Velero's pre-signed download URLs.
//!
//! The cluster moves as the run drives it: the writer acknowledges a record per `GET /last`
//! while its namespace and StatefulSet exist; the first Backup list after the Schedule is
//! created takes a Completed backup of the records written so far (with a Completed
//! PodVolumeBackup of `ledger-0`'s `data`); a namespace DELETE removes everything in it; a
//! Restore comes back Completed with one warning and brings the ledger back as it was at the
//! backup; the corruption Job's verifier reports the chain broken. A test may set
//! [`State::namespace_taken`] (someone else's namespace of the run's name),
//! [`State::restore_phase`] or [`State::volume_skipped`] before the run.
//!
//! The cluster-level faults move it too, through the fake tools' recorded argv (the API
//! server answers as the commands left the world): `docker stop` of a worker stops the ledger
//! and the Node turns `Ready=Unknown`; the pod Velero restores afterwards runs on the other
//! worker; the claim, the pod and the local-path volume pinned to the dead node can be
//! deleted; `kind delete cluster` takes the namespace, the Schedule and Velero with it, and
//! after the next `velero install` Velero's backup sync shows the backup again.
//!
//! Velero's store side runs against moto: each backup taken is written to the bucket as
//! Velero lays it out (`velero_store.rs`: its folder, and the namespace's kopia repository),
//! and a Restore reads the store before it ends: without the backup's contents it is `Failed`
//! ("error downloading backup", `restore_controller.go`), with the repository's data packs
//! altered it is `PartiallyFailed` ("pod volume restore failed", `podvolume/restorer.go`).
//! A test can have the Schedule take a second backup a second after the first.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use backstop_chaos::store::Store;

use backstop_chaos::ledger::verify::{self, Verification};
use backstop_chaos::ledger::{Record, encode_all};
use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use super::apiserver::{Answer, MockApiServer, captured, captured_object, created};

use super::fake_tools::FakeTools;
use super::velero_store;

pub const NS: &str = "backstop-chaos";
/// The node-loss scenario's kind cluster (seed 42) and its two workers: the ledger runs on
/// the first until it is stopped, then on the second (`fixtures/chaos/faults/node-worker-*.json`).
pub const NODE_LOSS_CLUSTER: &str = "backstop-node-loss-0000002a";
pub const WORKER: &str = "backstop-node-loss-0000002a-worker";
pub const SURVIVING_WORKER: &str = "backstop-node-loss-0000002a-worker2";
/// The local-path volume bound to the ledger's claim (`fixtures/chaos/faults/claim-bound.json`).
pub const VOLUME: &str = "pvc-7d3f0c2e-5b1a-4e9f-9c8d-1a2b3c4d5e6f";
/// Capture 20: a Pod created, read, deleted and read again once gone.
const POD_CAPTURE: &str = "20-pod-create-without-default-serviceaccount";
/// The scenarios' bucket.
pub const BUCKET: &str = "backstop";
/// The storage-loss scenario's Schedule and Restore (seed 42): the single-object GETs of a lost
/// backup and of the Restore tried from it are routed by name.
pub const STORAGE_LOSS_SCHEDULE: &str = "backstop-storage-loss-0000002a";
/// The times Velero names a Schedule's first and second backup after.
const FIRST_BACKUP: &str = "20261203121600";
const SECOND_BACKUP: &str = "20261203122100";

/// A backup the fake Velero took.
#[derive(Debug, Clone)]
pub struct Taken {
    pub name: String,
    /// How many records it holds.
    pub records: u64,
    pub started: String,
    pub completed: String,
}

/// Runs `work` to completion on a runtime of its own, on a thread of its own: a route answers
/// synchronously, and the store is reached through async S3 calls.
fn blocking<T: Send>(work: impl std::future::Future<Output = T> + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(work)
            })
            .join()
            .unwrap()
    })
}
const VELERO: &str = "/apis/velero.io/v1/namespaces/velero";

/// What the fake cluster holds.
#[derive(Debug, Default)]
pub struct State {
    pub namespace: bool,
    pub writer: bool,
    /// The writer's timestamp of each record written (seq 1 first).
    pub stamps: Vec<u64>,
    pub schedule: bool,
    /// How many records the backup holds, once taken.
    pub backup: Option<u64>,
    /// When the backup started and completed (Velero's whole seconds).
    pub backup_times: Option<(String, String)>,
    pub restored: bool,
    pub job: bool,
    /// Offset and length the corruption Job was told to overwrite, and how many records the
    /// ledger held then.
    pub corrupted: Option<(u64, u64, u64)>,
    /// Someone else's namespace of the run's name is there before the run: its create is
    /// refused as AlreadyExists.
    pub namespace_taken: bool,
    /// The phase the Restore ends in (`Completed` when unset); `PartiallyFailed` comes with
    /// one error.
    pub restore_phase: Option<&'static str>,
    /// Velero skipped the ledger's volume (as it skips a hostPath one): the Backup ends
    /// Completed with no PodVolumeBackup of it.
    pub volume_skipped: bool,
    /// The backup's name, once taken.
    pub backup_name: Option<String>,
    /// The fake tools' argv log ([`FakeCluster::tools`]) and how many of its invocations the
    /// cluster has acted on.
    pub argv_log: Option<PathBuf>,
    acted_on: usize,
    /// How many times `kind create cluster` ran.
    pub clusters_created: u32,
    /// `kind delete cluster` took Velero with the cluster, and no `velero install` ran since.
    pub velero_gone: bool,
    /// The node container `docker stop` stopped.
    pub stopped_node: Option<String>,
    /// The local-path volume was deleted.
    pub volume_deleted: bool,
    /// The S3 port of the store Velero writes to (moto), once the tools are made.
    pub store_port: Option<u16>,
    /// Every backup taken, oldest first.
    pub taken: Vec<Taken>,
    /// The Schedule takes a second backup once a second has passed since the first.
    pub second_backup: bool,
    first_taken_at: Option<Instant>,
    /// The kopia repository's objects as the backup wrote them.
    pub repository: Vec<(String, Vec<u8>)>,
    /// The backup each Restore restores (from the Restore created), and the Restores that
    /// did not complete, with their phase.
    pub restores: BTreeMap<String, String>,
    pub failed_restores: BTreeMap<String, String>,
    /// How many records the restored ledger holds.
    pub restored_records: Option<u64>,
    /// The Restores that completed.
    pub restores_done: Vec<String>,
    /// Velero's error in the results of the restore that read the corrupted repository.
    pub restore_error: Option<String>,
}

pub struct FakeCluster {
    pub server: MockApiServer,
    pub addr: SocketAddr,
    pub state: Arc<Mutex<State>>,
    /// Velero's pre-signed download URLs point here.
    pub downloads: SocketAddr,
}

fn json_answer(status: u16, value: &Value) -> Answer {
    Answer {
        status,
        content_type: Some("application/json".into()),
        body: format!("{value}\n"),
        events: None,
    }
}

/// A core list as the server writes it (capture 13, exchange 3: kind, apiVersion, metadata with
/// the resourceVersion, items without their own apiVersion/kind).
fn core_list(kind: &str, api_version: &str, items: Vec<Value>) -> Answer {
    let items: Vec<Value> = items
        .into_iter()
        .map(|mut i| {
            if let Some(o) = i.as_object_mut() {
                o.remove("apiVersion");
                o.remove("kind");
            }
            i
        })
        .collect();
    json_answer(
        200,
        &json!({"kind": format!("{kind}List"), "apiVersion": api_version,
                "metadata": {"resourceVersion": "400"}, "items": items}),
    )
}

/// A custom-resource list as the server writes it (capture 10, exchange 0: items keep their
/// apiVersion and kind; `continue` is an empty string).
fn velero_list(kind: &str, items: Vec<Value>) -> Answer {
    json_answer(
        200,
        &json!({"apiVersion": "velero.io/v1", "items": items, "kind": format!("{kind}List"),
                "metadata": {"continue": "", "resourceVersion": "400"}}),
    )
}

fn velero_object(kind: &str, name: &str, labels: Value, spec: Value, status: Value) -> Value {
    json!({
        "apiVersion": "velero.io/v1", "kind": kind,
        "metadata": {"creationTimestamp": "2026-12-03T12:15:33Z", "generation": 2,
                     "labels": labels, "name": name, "namespace": "velero",
                     "resourceVersion": "390", "uid": format!("{}-uid", name)},
        "spec": spec, "status": status,
    })
}

fn location(name: &str) -> Value {
    velero_object(
        "BackupStorageLocation",
        name,
        json!({"component": "velero"}),
        json!({"provider": "aws", "objectStorage": {"bucket": "backstop"}}),
        json!({"phase": "Available", "lastValidationTime": now()}),
    )
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Locks the state, caught up with the commands the fake tools ran since it was last read.
fn current(state: &Arc<Mutex<State>>) -> MutexGuard<'_, State> {
    let mut state = state.lock().unwrap();
    state.catch_up();
    state
}

impl State {
    /// Acts on the fake tools' invocations not yet acted on, in the order they ran.
    fn catch_up(&mut self) {
        let Some(log) = &self.argv_log else { return };
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let invocations: Vec<Vec<String>> = text
            .split("--\n")
            .filter(|s| !s.is_empty())
            .map(|s| s.lines().map(str::to_owned).collect())
            .collect();
        for argv in invocations.iter().skip(self.acted_on) {
            let words: Vec<&str> = argv.iter().map(String::as_str).collect();
            match words.as_slice() {
                ["docker", "stop", container] => {
                    self.stopped_node = Some((*container).to_owned());
                    self.writer = false;
                }
                ["kind", "create", "cluster", ..] => self.clusters_created += 1,
                ["kind", "delete", "cluster", ..] => {
                    self.namespace = false;
                    self.writer = false;
                    self.schedule = false;
                    self.velero_gone = true;
                }
                ["velero", "install", ..] => self.velero_gone = false,
                _ => {}
            }
        }
        self.acted_on = invocations.len();
    }

    fn restored_from(&self, restore: &str) -> bool {
        self.restores_done.iter().any(|r| r == restore)
    }

    fn store(&self) -> Option<Store> {
        let port = self.store_port?;
        Some(
            Store::new(
                &format!("http://127.0.0.1:{port}"),
                BUCKET,
                "us-east-1",
                "k",
                "s",
            )
            .unwrap(),
        )
    }

    /// The Schedule's backups so far: the first once the Schedule exists, the second (when
    /// asked for) a second later; each written to the store as Velero writes it.
    fn take_backups(&mut self, schedule: &str) {
        if !self.schedule {
            return;
        }
        let due = match self.taken.len() {
            0 => Some(FIRST_BACKUP),
            1 if self.second_backup
                && self
                    .first_taken_at
                    .is_some_and(|t| t.elapsed().as_secs() >= 1) =>
            {
                Some(SECOND_BACKUP)
            }
            _ => None,
        };
        let Some(at) = due else { return };
        let taken = Taken {
            name: format!("{schedule}-{at}"),
            records: self.stamps.len() as u64,
            started: now(),
            completed: now(),
        };
        if self.taken.is_empty() {
            self.first_taken_at = Some(Instant::now());
            self.backup = Some(taken.records);
            self.backup_times = Some((taken.started.clone(), taken.completed.clone()));
            self.backup_name = Some(taken.name.clone());
            self.repository = velero_store::kopia_repository(NS);
        }
        if let Some(store) = self.store() {
            let repository = self.repository.clone();
            blocking(async {
                if store.list("backups/").await.is_err() {
                    return; // no bucket: the run did not start this store (an existing cluster)
                }
                velero_store::put_backup(
                    &store,
                    &taken.name,
                    "Completed",
                    &taken.started,
                    schedule,
                )
                .await;
                velero_store::put_all(&store, &repository).await;
            });
        }
        self.taken.push(taken);
    }

    /// How Velero's Restore of `backup` ends, from what the store holds: `None` when it
    /// completes; else its phase and Velero's words.
    fn restore_trouble(&self, backup: &str) -> Option<(&'static str, String)> {
        let store = self.store()?;
        let repository = self.repository.clone();
        blocking(async {
            if store.list("backups/").await.is_err() {
                return None; // no bucket: the run did not start this store (an existing cluster)
            }
            let contents = format!("backups/{backup}/{backup}.tar.gz");
            if store.get(&contents).await.is_err() {
                // restore_controller.go: runValidatedRestore's downloadToTempFile, wrapped.
                return Some((
                    "Failed",
                    format!(
                        "error downloading backup: rpc error: code = Unknown desc = error getting \
                         object {contents}: NoSuchKey: The specified key does not exist."
                    ),
                ));
            }
            for (key, bytes) in &repository {
                let pack = key.rsplit('/').next().unwrap_or_default().starts_with('p');
                if pack && store.get(key).await.ok().as_ref() != Some(bytes) {
                    // podvolume/restorer.go: "pod volume restore failed: %s", with a message
                    // in the shape of kopia's when a pack does not authenticate.
                    return Some((
                        "PartiallyFailed",
                        format!(
                            "pod volume restore failed: error to restore volume data: unable \
                             to read pack {key}: invalid checksum"
                        ),
                    ));
                }
            }
            None
        })
    }

    fn ledger(&self, records: u64) -> Vec<u8> {
        let mut chain: Vec<Record> = Vec::new();
        for &nanos in self.stamps.iter().take(usize::try_from(records).unwrap()) {
            let next = Record::next(chain.last(), nanos);
            chain.push(next);
        }
        encode_all(&chain)
    }

    /// The verifier's report on the ledger as the corruption Job left it.
    fn damaged(&self) -> Verification {
        let mut file = self.ledger(self.stamps.len() as u64);
        if let Some((offset, bytes, _)) = self.corrupted {
            let (at, n) = (
                usize::try_from(offset).unwrap(),
                usize::try_from(bytes).unwrap(),
            );
            file[at..at + n].fill(0);
        }
        verify::verify(&file)
    }
}

/// A taken backup as Velero's Backup object: of its Schedule (the name less Velero's time
/// stamp), a file-system backup of the ledger's namespace, Completed.
fn backup_object(taken: &Taken) -> Value {
    let schedule = taken.name.rsplit_once('-').map_or("", |(s, _)| s);
    velero_object(
        "Backup",
        &taken.name,
        json!({"velero.io/schedule-name": schedule}),
        json!({"includedNamespaces": [NS], "defaultVolumesToFsBackup": true}),
        json!({"phase": "Completed", "startTimestamp": taken.started,
               "completionTimestamp": taken.completed}),
    )
}

/// The restored ledger-0 pod: capture 20, exchange 4 (a Pod as the server stores it), renamed,
/// with its uid kept and the Ready condition a kubelet would add.
pub fn ledger_pod() -> Value {
    let mut pod = captured_object("20-pod-create-without-default-serviceaccount", 4);
    pod["metadata"]["name"] = json!("ledger-0");
    pod["metadata"]["namespace"] = json!(NS);
    pod["metadata"]["labels"] = json!({"app.kubernetes.io/name": "ledger"});
    pod["status"] = json!({"phase": "Running",
        "conditions": [{"type": "Ready", "status": "True"}]});
    pod
}

pub fn ledger_pod_uid() -> String {
    ledger_pod()["metadata"]["uid"].as_str().unwrap().to_owned()
}

/// A hand-written object of `fixtures/chaos/faults/` (no capture holds a Node, a claim or a
/// PersistentVolume: the capture server ran no kubelet or provisioner).
pub fn fault_fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/chaos/faults")
        .join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// An object with finalizers as its DELETE answers it: the object, with a deletionTimestamp
/// (captures 15 and 22).
fn deleting(mut object: Value) -> Value {
    object["metadata"]["deletionTimestamp"] = json!("2026-12-03T12:19:02Z");
    object["metadata"]["deletionGracePeriodSeconds"] = json!(0);
    object
}

/// The node-loss cluster's worker `name`: Ready, or as the node lifecycle controller marks it
/// once its container stopped.
fn worker(name: &str, stopped: bool) -> Value {
    let mut node = fault_fixture(if stopped {
        "node-worker-dead"
    } else {
        "node-worker-ready"
    });
    node["metadata"]["name"] = json!(name);
    node["spec"]["providerID"] = json!(format!("kind://docker/{NODE_LOSS_CLUSTER}/{name}"));
    node
}

impl FakeCluster {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let downloads = serve_downloads(state.clone()).await;
        let server = routes(MockApiServer::new(), &state, downloads);
        let (_, addr) = server.start().await;
        Self {
            server,
            addr,
            state,
            downloads,
        }
    }

    /// Every request body the run POSTed, with its path.
    pub fn posted(&self) -> Vec<(String, Value)> {
        self.server
            .bodies()
            .into_iter()
            .filter(|(request, _)| request.starts_with("POST "))
            .map(|(request, body)| (request, serde_json::from_str(&body).unwrap()))
            .collect()
    }

    /// Fake kind, docker, velero and kubectl: `kind create cluster` writes the kubeconfig it
    /// is given, pointing at this server; docker publishes MinIO's S3 port as `s3_port` (moto).
    pub fn tools(&self, s3_port: u16, velero_version: &str) -> FakeTools {
        let server = format!("http://{}", self.addr);
        let tools = FakeTools::new();
        {
            let mut state = self.state.lock().unwrap();
            state.argv_log = Some(tools.record().to_owned());
            state.store_port = Some(s3_port);
        }
        tools
            .tool(
                "kind",
                &format!(
                    "case \"$1 $2\" in
  'get clusters') exit 0 ;;
  'version '*) echo 'kind v0.29.0 go1.24.2 linux/amd64' ;;
  'create cluster')
    while [ $# -gt 0 ]; do [ \"$1\" = --kubeconfig ] && kc=$2; [ \"$1\" = --name ] && n=$2; shift; done
    cat > \"$kc\" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters: [{{name: kind-$n, cluster: {{server: '{server}'}}}}]
users: [{{name: kind-$n, user: {{}}}}]
contexts: [{{name: kind-$n, context: {{cluster: kind-$n, user: kind-$n}}}}]
current-context: kind-$n
KUBECONFIG
    ;;
esac"
                ),
            )
            .tool(
                "docker",
                &format!(
                    "case \"$1\" in
  ps) exit 0 ;;
  run) echo 4f1c0ffee ;;
  stop) echo \"$2\" ;;
  inspect) echo 172.18.0.5 ;;
  port) echo 127.0.0.1:{s3_port} ;;
esac"
                ),
            )
            .tool(
                "velero",
                &format!(
                    "case \"$1\" in
  version) printf 'Client:\\n\\tVersion: {velero_version}\\n\\tGit commit: 1c0bd7c0\\n' ;;
  install) echo 'Velero is installed!' ;;
esac"
                ),
            )
            .tool("kubectl", "echo \"kubectl $*\"")
    }
}

/// Velero's object store for download URLs: the restore's results, gzip JSON as Velero keeps
/// them (`{"warnings": Result, "errors": Result}`, `pkg/util/results/result.go`). A
/// PartiallyFailed restore's error is a failed pod volume restore, which Velero files under
/// `velero` (`pkg/restore/restore.go`, the `podVolumeErrs` loop), in the words of
/// `pkg/podvolume/restorer.go`, `UpdatePVRStatusToFailed` (pod_volume_restore_controller.go),
/// `pkg/uploader/provider/kopia.go` and `pkg/uploader/kopia/snapshot.go` (`Restore`).
async fn serve_downloads(state: Arc<Mutex<State>>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/results.gz",
        axum::routing::get(move || {
            let error = {
                let state = state.lock().unwrap();
                if state.restore_phase == Some("PartiallyFailed") {
                    Some(SNAPSHOT_NOT_FOUND.to_owned())
                } else {
                    state.restore_error.clone()
                }
            };
            async move { restore_results(error.as_deref()) }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// The error of a PartiallyFailed restore set by [`State::restore_phase`].
const SNAPSHOT_NOT_FOUND: &str = "pod volume restore failed: data path restore failed: Failed to run kopia restore: Unable to load snapshot k5e7b0c8a1f: snapshot not found";

fn restore_results(error: Option<&str>) -> Vec<u8> {
    let mut results = json!({"warnings": {"namespaces": {NS: [
        "could not restore, ConfigMap \"kube-root-ca.crt\" already exists. Warning: the in-cluster version is different than the backed-up version"
    ]}}});
    if let Some(error) = error {
        results["errors"] = json!({"velero": [error]});
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(results.to_string().as_bytes()).unwrap();
    gz.finish().unwrap()
}

fn routes(
    server: MockApiServer,
    state: &Arc<Mutex<State>>,
    downloads: SocketAddr,
) -> MockApiServer {
    let s = || state.clone();
    let ns_path = format!("/api/v1/namespaces/{NS}");
    let st = s();
    let server = server
        // Capture 00: the server's /version.
        .on("GET", "/version", captured("00-version", 0))
        // The location `velero install` made and one a platform made before (`primary`),
        // Available (list shape: capture 10, exchange 0; the list filtered by name).
        .on_made("GET", &format!("{VELERO}/backupstoragelocations"), |_| {
            velero_list(
                "BackupStorageLocation",
                vec![location("default"), location("primary")],
            )
        })
        .on_made(
            "GET",
            &format!("{VELERO}/backupstoragelocations/primary"),
            |_| json_answer(200, &location("primary")),
        )
        // Velero's node agent and server, as `velero install` made them on a cluster the
        // harness did not create.
        .on_made(
            "GET",
            "/apis/apps/v1/namespaces/velero/daemonsets/node-agent",
            |_| {
                json_answer(
                    200,
                    &json!({"kind": "DaemonSet", "apiVersion": "apps/v1",
                "metadata": {"name": "node-agent", "namespace": "velero"},
                "spec": {"selector": {}, "template": {"spec": {"containers": []}}}}),
                )
            },
        )
        .on_made(
            "GET",
            "/apis/apps/v1/namespaces/velero/deployments/velero",
            |_| {
                json_answer(
                    200,
                    &json!({"kind": "Deployment", "apiVersion": "apps/v1",
                "metadata": {"name": "velero", "namespace": "velero"},
                "spec": {"selector": {}, "template": {"spec": {"containers": [
                    {"name": "velero", "image": "velero/velero:v1.16.1"}]}}}}),
                )
            },
        )
        // Namespace create: capture 02, exchange 0 (201, the object as stored); when one of
        // that name is there already, exchange 1 (409 AlreadyExists; it names the captured
        // namespace, `velero`).
        .on_made("POST", "/api/v1/namespaces", move |r| {
            let mut state = current(&st);
            if state.namespace_taken {
                return captured("02-create-namespace-201-then-409", 1);
            }
            state.namespace = true;
            created(r)
        });
    let st = s();
    let server = server.on_made("GET", "/api/v1/namespaces", move |_| {
        let present = current(&st).namespace;
        let items = if present {
            vec![json!({"metadata": {"name": NS}, "status": {"phase": "Active"}})]
        } else {
            vec![]
        };
        core_list("Namespace", "v1", items)
    });
    let st = s();
    let server = server
        // Capture 15, exchange 1: a namespace DELETE answers 200 with the Namespace, Terminating.
        .on_made("DELETE", &ns_path, move |_| {
            let mut state = current(&st);
            state.namespace = false;
            state.writer = false;
            state.job = false;
            captured("15-namespace-delete-terminating-finalize", 1)
        })
        .on_made("POST", &format!("{ns_path}/services"), created);
    let st = s();
    let server = server.on_made(
        "POST",
        &format!("/apis/apps/v1/namespaces/{NS}/statefulsets"),
        move |r| {
            current(&st).writer = true;
            created(r)
        },
    );
    let st = s();
    let server = server.on_made(
        "GET",
        &format!("/apis/apps/v1/namespaces/{NS}/statefulsets"),
        move |_| {
            let state = current(&st);
            let items = if state.namespace {
                let ready = i32::from(state.writer);
                vec![
                    json!({"metadata": {"name": "ledger", "namespace": NS, "generation": 1},
                    "spec": {"replicas": 1, "serviceName": "ledger", "selector": {},
                             "template": {"spec": {"containers": []}}},
                    "status": {"replicas": 1, "readyReplicas": ready, "observedGeneration": 1}}),
                ]
            } else {
                vec![]
            };
            core_list("StatefulSet", "apps/v1", items)
        },
    );
    let st = s();
    let server = server
        // A merge patch answers 200 with the patched object (capture 23 shows its 404 when
        // the object is missing; here it exists).
        .on_made(
            "PATCH",
            &format!("/apis/apps/v1/namespaces/{NS}/statefulsets/ledger"),
            move |_| {
                current(&st).writer = false;
                json_answer(
                    200,
                    &json!({"kind": "StatefulSet", "apiVersion": "apps/v1",
                "metadata": {"name": "ledger", "namespace": NS, "generation": 2},
                "spec": {"replicas": 0, "serviceName": "ledger", "selector": {},
                         "template": {"spec": {"containers": []}}}}),
                )
            },
        );
    let st = s();
    let server = server
        // Through the service proxy the writer's own answer passes; without a writer it is
        // the proxy's 503 (capture 18, exchange 7).
        .on_made(
            "GET",
            &format!("{ns_path}/services/ledger:http/proxy/last"),
            move |_| {
                let mut state = current(&st);
                if !(state.namespace && state.writer) {
                    return captured("18-service-proxy-no-endpoints", 7);
                }
                let now = u64::try_from(Utc::now().timestamp_nanos_opt().unwrap()).unwrap();
                // 25 records a poll: a pvc-corruption run needs 50 within seconds.
                for _ in 0..25 {
                    state.stamps.push(now);
                }
                let seq = state.stamps.len();
                json_answer(200, &json!({"seq": seq, "unixNanos": now}))
            },
        );
    let st = s();
    let server = server.on_made("GET", &format!("{ns_path}/pods"), move |_| {
        let state = current(&st);
        let mut items = Vec::new();
        if state.namespace && state.writer {
            items.push(ledger_pod());
        }
        if state.job {
            items.push(json!({"metadata": {"name": "backstop-corrupt-ledger-x7k2p",
                    "namespace": NS, "labels": {"job-name": "backstop-corrupt-ledger"}},
                    "status": {"phase": "Failed"}}));
        }
        core_list("Pod", "v1", items)
    });
    let st = s();
    let server = server.on_made("GET", &format!("{ns_path}/pods/ledger-0"), move |_| {
        let state = current(&st);
        if state.namespace && state.writer {
            // Where the scheduler bound it: the surviving worker once the first was stopped.
            let mut pod = ledger_pod();
            pod["spec"]["nodeName"] = json!(if state.stopped_node.is_some() {
                SURVIVING_WORKER
            } else {
                WORKER
            });
            json_answer(200, &pod)
        } else {
            // Capture 20, exchange 6: GET of a missing pod, 404 NotFound.
            captured("20-pod-create-without-default-serviceaccount", 6)
        }
    });
    let st = s();
    let server = server
        // The writer's evidence file, passed through by the proxy as the writer serves it.
        .on_bytes(
            &format!(
                "{ns_path}/services/ledger:http/proxy/found-at-start/{}",
                ledger_pod_uid()
            ),
            move |_| {
                let state = current(&st);
                let bytes = state.ledger(state.restored_records.or(state.backup).unwrap_or(0));
                (200, "application/octet-stream".to_owned(), bytes)
            },
        );
    let st = s();
    let server = server
        .on_made(
            "POST",
            &format!("/apis/batch/v1/namespaces/{NS}/jobs"),
            move |r| {
                let job: Value = serde_json::from_str(&r.body).unwrap();
                let args = job["spec"]["template"]["spec"]["initContainers"][0]["command"].clone();
                let arg = |prefix: &str| -> u64 {
                    args.as_array()
                        .unwrap()
                        .iter()
                        .find_map(|a| a.as_str().unwrap().strip_prefix(prefix))
                        .unwrap()
                        .parse()
                        .unwrap()
                };
                let mut state = current(&st);
                let written = state.stamps.len() as u64;
                state.corrupted = Some((arg("seek="), arg("count="), written));
                state.job = true;
                created(r)
            },
        )
        .on_made(
            "GET",
            &format!("/apis/batch/v1/namespaces/{NS}/jobs"),
            |_| {
                core_list(
                    "Job",
                    "batch/v1",
                    vec![json!({
                "metadata": {"name": "backstop-corrupt-ledger", "namespace": NS},
                "status": {"failed": 1}})],
                )
            },
        );
    let st = s();
    let server = server.on_made(
        "GET",
        &format!("{ns_path}/pods/backstop-corrupt-ledger-x7k2p/log"),
        move |_| {
            let report = serde_json::to_string(&current(&st).damaged()).unwrap();
            Answer {
                status: 200,
                content_type: Some("text/plain".into()),
                body: report,
                events: None,
            }
        },
    );
    let st = s();
    let server = server
        // Capture 21, exchange 0: the Schedule created (201).
        .on_made("POST", &format!("{VELERO}/schedules"), move |_| {
            current(&st).schedule = true;
            captured("21-server-side-apply-schedule-conflict", 0)
        });
    let (st, skipped) = (s(), s());
    let server = server
        .on_made("GET", &format!("{VELERO}/backups"), move |r| {
            let mut state = current(&st);
            let schedule = r.query.split('&')
                .find_map(|p| p.strip_prefix("labelSelector=velero.io%2Fschedule-name%3D"));
            if let Some(schedule) = schedule {
                state.take_backups(schedule);
            }
            // In a new cluster, Velero's backup sync brings the backups in once Velero runs.
            if state.velero_gone {
                return velero_list("Backup", vec![]);
            }
            velero_list("Backup", state.taken.iter().map(backup_object).collect())
        })
        .on_made("GET", &format!("{VELERO}/podvolumebackups"), move |r| {
            if skipped.lock().unwrap().volume_skipped {
                return velero_list("PodVolumeBackup", vec![]);
            }
            let uid = r.query.split('&')
                .find_map(|p| p.strip_prefix("labelSelector=velero.io%2Fbackup-uid%3D"))
                .unwrap_or_default().to_owned();
            velero_list("PodVolumeBackup", vec![velero_object(
                "PodVolumeBackup", "pvb-ledger", json!({"velero.io/backup-uid": uid}),
                json!({"pod": {"kind": "Pod", "namespace": NS, "name": "ledger-0"}, "volume": "data"}),
                json!({"phase": "Completed"}),
            )])
        });
    let st = s();
    let server = server
        // Capture 05, exchange 0: the Restore created (201, as stored); the backup it names
        // is kept.
        .on_made("POST", &format!("{VELERO}/restores"), move |r| {
            let restore: Value = serde_json::from_str(&r.body).unwrap();
            let name = restore["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let backup = restore["spec"]["backupName"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            current(&st).restores.insert(name, backup);
            created(r)
        });
    let st = s();
    let server = server.on_made("GET", &format!("{VELERO}/restores"), move |r| {
        let name = r
            .query
            .split('&')
            .find_map(|p| p.strip_prefix("fieldSelector=metadata.name%3D"))
            .unwrap_or_default()
            .to_owned();
        let mut state = current(&st);
        velero_list("Restore", vec![finish_restore(&mut state, &name)])
    });
    let st = s();
    let server = server.on_made(
        "GET",
        &format!("{VELERO}/restores/{STORAGE_LOSS_SCHEDULE}-newest"),
        move |_| {
            let mut state = current(&st);
            json_answer(
                200,
                &finish_restore(&mut state, &format!("{STORAGE_LOSS_SCHEDULE}-newest")),
            )
        },
    );
    let server = server
        .on_made("POST", &format!("{VELERO}/downloadrequests"), created)
        .on_made("GET", &format!("{VELERO}/downloadrequests"), move |r| {
            let name = r.query.split('&')
                .find_map(|p| p.strip_prefix("fieldSelector=metadata.name%3D"))
                .unwrap_or_default().to_owned();
            velero_list("DownloadRequest", vec![velero_object(
                "DownloadRequest", &name, json!({}),
                json!({"target": {"kind": "RestoreResults", "name": "r"}}),
                json!({"phase": "Processed", "downloadURL": format!("http://{downloads}/results.gz")}),
            )])
        });
    let server = node_loss_routes(server, state);
    let server = lost_backup_routes(server, state);
    // DELETE of an object without finalizers (the run's DownloadRequest, Restore and
    // Schedule): capture 22, exchange 0 (Status Success).
    let deleted = |_: &_| captured("22-restore-delete-background-finalizer-precondition", 0);
    let run = "backstop-namespace-loss-0000002a";
    server
        .on_made(
            "DELETE",
            &format!("{VELERO}/downloadrequests/{run}-results"),
            deleted,
        )
        .on_made("DELETE", &format!("{VELERO}/restores/{run}"), deleted)
        .on_made("DELETE", &format!("{VELERO}/schedules/{run}"), deleted)
        .on_made("POST", &format!("{VELERO}/deletebackuprequests"), created)
}

/// What node-loss reads and removes: the Nodes (a core list as capture 13 frames it, filtered
/// by the watcher's field selector), the ledger's claim and its local-path volume.
fn node_loss_routes(server: MockApiServer, state: &Arc<Mutex<State>>) -> MockApiServer {
    let s = || state.clone();
    let claim_path = format!("/api/v1/namespaces/{NS}/persistentvolumeclaims/data-ledger-0");
    let volume_path = format!("/api/v1/persistentvolumes/{VOLUME}");
    let st = s();
    let server = server.on_made("GET", &format!("/api/v1/nodes/{WORKER}"), move |_| {
        let stopped = current(&st).stopped_node.as_deref() == Some(WORKER);
        json_answer(200, &worker(WORKER, stopped))
    });
    let st = s();
    let server = server.on_made("GET", "/api/v1/nodes", move |_| {
        let stopped = current(&st).stopped_node.as_deref() == Some(WORKER);
        core_list(
            "Node",
            "v1",
            vec![worker(WORKER, stopped), worker(SURVIVING_WORKER, false)],
        )
    });
    let server = server
        .on_made("GET", &claim_path, |_| {
            json_answer(200, &fault_fixture("claim-bound"))
        })
        // Capture 20, exchange 5: a Pod DELETE answers the Pod object.
        .on(
            "DELETE",
            &format!("/api/v1/namespaces/{NS}/pods/ledger-0"),
            captured(POD_CAPTURE, 5),
        )
        .on_made("DELETE", &claim_path, |_| {
            json_answer(200, &deleting(fault_fixture("claim-bound")))
        });
    let st = s();
    let server = server.on_made("DELETE", &volume_path, move |_| {
        current(&st).volume_deleted = true;
        json_answer(200, &deleting(fault_fixture("volume-local-path")))
    });
    let st = s();
    server.on_made("GET", "/api/v1/persistentvolumes", move |_| {
        let items = if current(&st).volume_deleted {
            vec![]
        } else {
            vec![fault_fixture("volume-local-path")]
        };
        core_list("PersistentVolume", "v1", items)
    })
}

/// The Restore `name` as Velero leaves it, acted on the first time it is read: it restores
/// the backup it names, unless the store says otherwise ([`State::restore_trouble`]).
fn finish_restore(state: &mut State, name: &str) -> Value {
    let backup = state.restores.get(name).cloned().unwrap_or_default();
    if !state.failed_restores.contains_key(name) && !state.restored_from(name) {
        let trouble = match state.restore_phase {
            // Set by the test: the objects come back, the status says so.
            Some(_) => None,
            None => state.restore_trouble(&backup),
        };
        match trouble {
            Some((phase, words)) => {
                state
                    .failed_restores
                    .insert(name.to_owned(), format!("{phase}\t{words}"));
                if phase == "PartiallyFailed" {
                    state.restore_error = Some(words);
                    // The objects came back; the pod waits for volume data that never comes.
                    state.namespace = true;
                    state.writer = false;
                }
            }
            None => {
                let records = state
                    .taken
                    .iter()
                    .find(|t| t.name == backup)
                    .map_or(state.backup.unwrap_or(0), |t| t.records);
                state.namespace = true;
                state.writer = true;
                state.restored = true;
                state.restored_records = Some(records);
                state.stamps.truncate(usize::try_from(records).unwrap());
                state.restores_done.push(name.to_owned());
            }
        }
    }
    // As in capture 10, exchange 1 (its Completed event): the status on the object.
    let status = match state
        .failed_restores
        .get(name)
        .and_then(|f| f.split_once('\t'))
    {
        Some(("Failed", words)) => json!({"phase": "Failed", "failureReason": words,
            "warnings": 0, "errors": 0, "startTimestamp": now(), "completionTimestamp": now()}),
        Some((phase, _)) => json!({"phase": phase, "warnings": 1, "errors": 1,
            "startTimestamp": now(), "completionTimestamp": now()}),
        None => {
            let phase = state.restore_phase.unwrap_or("Completed");
            json!({"phase": phase, "warnings": 1, "errors": u8::from(phase == "PartiallyFailed"),
                "startTimestamp": now(), "completionTimestamp": now()})
        }
    };
    velero_object(
        "Restore",
        name,
        json!({}),
        json!({"backupName": backup}),
        status,
    )
}

/// The storage-loss Schedule's backups read one by one (is the lost one still in the
/// cluster?): the object while Velero lists it, else capture 03's 404.
fn lost_backup_routes(server: MockApiServer, state: &Arc<Mutex<State>>) -> MockApiServer {
    let mut server = server;
    for at in [FIRST_BACKUP, SECOND_BACKUP] {
        let name = format!("{STORAGE_LOSS_SCHEDULE}-{at}");
        let st = state.clone();
        server = server.on_made("GET", &format!("{VELERO}/backups/{name}"), move |_| {
            let state = current(&st);
            match state.taken.iter().find(|t| t.name == name) {
                Some(taken) if !state.velero_gone => json_answer(200, &backup_object(taken)),
                _ => captured("03-get-missing-object-and-missing-namespace", 0),
            }
        });
    }
    server
}
