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

#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use backstop_chaos::ledger::verify::{self, Verification};
use backstop_chaos::ledger::{Record, encode_all};
use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use super::apiserver::{Answer, MockApiServer, captured, captured_object, created};

use super::fake_tools::FakeTools;

pub const NS: &str = "backstop-chaos";
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

impl State {
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
        FakeTools::new()
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
            let failed = state.lock().unwrap().restore_phase == Some("PartiallyFailed");
            async move { restore_results(failed) }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

fn restore_results(failed: bool) -> Vec<u8> {
    let mut results = json!({"warnings": {"namespaces": {NS: [
        "could not restore, ConfigMap \"kube-root-ca.crt\" already exists. Warning: the in-cluster version is different than the backed-up version"
    ]}}});
    if failed {
        results["errors"] = json!({"velero": [
            "pod volume restore failed: data path restore failed: Failed to run kopia restore: Unable to load snapshot k5e7b0c8a1f: snapshot not found"
        ]});
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
            let mut state = st.lock().unwrap();
            if state.namespace_taken {
                return captured("02-create-namespace-201-then-409", 1);
            }
            state.namespace = true;
            created(r)
        });
    let st = s();
    let server = server.on_made("GET", "/api/v1/namespaces", move |_| {
        let present = st.lock().unwrap().namespace;
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
            let mut state = st.lock().unwrap();
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
            st.lock().unwrap().writer = true;
            created(r)
        },
    );
    let st = s();
    let server = server.on_made(
        "GET",
        &format!("/apis/apps/v1/namespaces/{NS}/statefulsets"),
        move |_| {
            let state = st.lock().unwrap();
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
                st.lock().unwrap().writer = false;
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
                let mut state = st.lock().unwrap();
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
        let state = st.lock().unwrap();
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
        let state = st.lock().unwrap();
        if state.namespace && state.writer {
            json_answer(200, &ledger_pod())
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
                let state = st.lock().unwrap();
                let bytes = state.ledger(state.backup.unwrap_or(0));
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
                let mut state = st.lock().unwrap();
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
            let report = serde_json::to_string(&st.lock().unwrap().damaged()).unwrap();
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
            st.lock().unwrap().schedule = true;
            captured("21-server-side-apply-schedule-conflict", 0)
        });
    let (st, skipped) = (s(), s());
    let server = server
        .on_made("GET", &format!("{VELERO}/backups"), move |r| {
            let mut state = st.lock().unwrap();
            if !state.schedule {
                return velero_list("Backup", vec![]);
            }
            let written = state.stamps.len() as u64;
            state.backup.get_or_insert(written);
            let (started, completed) = state.backup_times.get_or_insert_with(|| (now(), now())).clone();
            let schedule = r.query.split('&')
                .find_map(|p| p.strip_prefix("labelSelector=velero.io%2Fschedule-name%3D"))
                .unwrap_or("backstop").to_owned();
            velero_list("Backup", vec![velero_object(
                "Backup", &format!("{schedule}-20261203121600"),
                json!({"velero.io/schedule-name": schedule}),
                json!({"includedNamespaces": [NS], "defaultVolumesToFsBackup": true}),
                json!({"phase": "Completed", "startTimestamp": started, "completionTimestamp": completed}),
            )])
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
        // Capture 05, exchange 0: the Restore created (201, as stored).
        .on_made("POST", &format!("{VELERO}/restores"), created)
        .on_made("GET", &format!("{VELERO}/restores"), move |r| {
            let name = r.query.split('&')
                .find_map(|p| p.strip_prefix("fieldSelector=metadata.name%3D"))
                .unwrap_or_default().to_owned();
            let mut state = st.lock().unwrap();
            state.namespace = true;
            state.writer = true;
            state.restored = true;
            let backed_up = usize::try_from(state.backup.unwrap_or(0)).unwrap();
            state.stamps.truncate(backed_up);
            let phase = state.restore_phase.unwrap_or("Completed");
            let errors = u8::from(phase == "PartiallyFailed");
            // As in capture 10, exchange 1 (its Completed event): the status on the object.
            velero_list("Restore", vec![velero_object(
                "Restore", &name, json!({}), json!({"backupName": "b"}),
                json!({"phase": phase, "warnings": 1, "errors": errors,
                       "startTimestamp": now(), "completionTimestamp": now()}),
            )])
        })
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
