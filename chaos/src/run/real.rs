//! The real world of a live run: kind, docker, velero and kubectl by argv (each recorded in
//! `commands.log`), the Kubernetes API through the run's own kubeconfig (kind) or the named
//! context of the user's (existing, only with `--allow-existing-cluster`; that file is only
//! read), and the MinIO store outside the cluster through the S3 API.
//!
//! What the run creates is recorded as it is created ([`Created`]), so a teardown after an
//! error or Ctrl-C removes exactly that, and nothing it did not create.
//!
//! - [`setup`]: provisioning (cluster, store), Velero, the workload and the Schedule.
//! - [`teardown`]: removing what the run created, and diagnostics.
//! - [`faults`]: the cluster-level faults (node-loss, cluster-loss, storage-loss).

mod faults;
mod setup;
mod teardown;

use std::ffi::OsString;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ::kube::api::{ListParams, LogParams, Patch, PatchParams, ValidationDirective};
use ::kube::{Api, Client};
use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;

use super::rundir::RunDir;
use super::world::{BackupTaken, LastAck, World, WorldVersions};
use crate::cluster::kind;
use crate::error::Error;
use crate::exec::Processes;
use crate::fault::backup_deletion::DeletedBackup;
use crate::fault::corruption;
use crate::fault::fallback::{Fallback, Unrestorable};
use crate::fault::node::{ForceRemoved, StoppedNode};
use crate::fault::repository::CorruptedRepository;
use crate::kube::ledger_proxy;
use crate::kube::namespace;
use crate::kube::wait::{self, Target};
use crate::ledger::verify::Verification;
use crate::minio::Minio;
use crate::outcome::{PodsOutcome, RestoreOutcome};
use crate::plan::{self, NAMESPACE};
use crate::scenario::Scenario;
use crate::velero::backup::{self, PodVolume};
use crate::velero::{download, restore};
use crate::workload;

/// The ledger's StatefulSet and its one pod.
const STATEFULSET: &str = "ledger";
const LEDGER_POD: &str = "ledger-0";
/// The ledger's data: the volume a backup must hold (`fixtures/workloads/ledger.yaml`).
const LEDGER_VOLUME: PodVolume<'static> = PodVolume {
    namespace: NAMESPACE,
    pod: LEDGER_POD,
    volume: "data",
};
/// How long reading a Restore's results from the backup store may take.
const RESULTS_TIMEOUT: Duration = Duration::from_secs(60);

pub use crate::cluster::Cluster;
pub use crate::workload::LedgerImage;

/// Everything the real world is made from.
#[derive(Debug, Clone)]
pub struct Setup {
    pub scenario: Scenario,
    pub seed: u64,
    pub dir: RunDir,
    pub cluster: Cluster,
    pub image: LedgerImage,
    /// The workload's objects, prepared ([`workload::prepare`]: checked before anything).
    pub workloads: Vec<workload::Object>,
    /// The PATH kind, docker, velero and kubectl are found on (the process's own when `None`).
    pub path: Option<OsString>,
}

/// What the run created (or chose), so teardown removes exactly that and diagnostics know
/// what to ask about.
#[derive(Debug, Default)]
struct Created {
    cluster: bool,
    /// The MinIO container, once `docker run` was attempted.
    store: Option<String>,
    minio: Option<Minio>,
    namespaces: Vec<String>,
    schedule: Option<String>,
    backup: Option<String>,
    restore: Option<String>,
    /// The UID of the pod Velero restored: the writer files what it found at start under
    /// it, and never rewrites that, so a restart cannot replace the bytes as restored.
    restored_pod_uid: Option<String>,
}

/// The live world.
pub struct RealWorld {
    setup: Setup,
    run_id: String,
    runner: Arc<Processes>,
    client: Mutex<Option<Client>>,
    /// For `GET /last` and `/found-at-start`: no retries (kube-rs retries a 503 up to 15
    /// times with backoff; the poller asks again each second instead, and a missing
    /// writer must show as the proxy's 503 at once).
    ledger_client: Mutex<Option<Client>>,
    created: Mutex<Created>,
}

impl std::fmt::Debug for RealWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealWorld")
            .field("cluster", &self.setup.cluster)
            .field("run_id", &self.run_id)
            .finish_non_exhaustive()
    }
}

fn kube_error(action: String) -> impl FnOnce(::kube::Error) -> Error {
    move |source| Error::Kube {
        action,
        source: Box::new(source),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl RealWorld {
    pub fn new(setup: Setup) -> Result<Self, Error> {
        let runner = Arc::new(Processes::new(
            &setup.dir.commands_log(),
            setup.path.clone(),
        )?);
        Ok(Self {
            run_id: plan::run_id(&setup.scenario, setup.seed),
            setup,
            runner,
            client: Mutex::new(None),
            ledger_client: Mutex::new(None),
            created: Mutex::new(Created::default()),
        })
    }

    /// A world over API clients already made (tests: the mocked API server); `ledger` is
    /// the one for the writer's endpoints.
    pub fn with_clients(self, client: Client, ledger: Client) -> Self {
        self.set_clients(client, ledger);
        self
    }

    fn set_clients(&self, client: Client, ledger: Client) {
        *lock(&self.client) = Some(client);
        *lock(&self.ledger_client) = Some(ledger);
    }

    /// Both clients for `context` of the kubeconfig at `path`.
    async fn connect(&self, path: &Path, context: &str) -> Result<(), Error> {
        let config = crate::kube::client::config_for(path, Some(context)).await?;
        let mut ledger = config.clone();
        ledger.default_retry = false;
        self.set_clients(
            crate::kube::client::client(path, config)?,
            crate::kube::client::client(path, ledger)?,
        );
        Ok(())
    }

    fn no_client() -> Error {
        Error::Unavailable("no Kubernetes client yet: the cluster was not provisioned".into())
    }

    fn client(&self) -> Result<Client, Error> {
        lock(&self.client).clone().ok_or_else(Self::no_client)
    }

    fn ledger_client(&self) -> Result<Client, Error> {
        lock(&self.ledger_client)
            .clone()
            .ok_or_else(Self::no_client)
    }

    fn created(&self) -> MutexGuard<'_, Created> {
        lock(&self.created)
    }

    /// The kubeconfig and context every kubectl and velero command names.
    fn access(&self) -> (String, String) {
        match &self.setup.cluster {
            Cluster::Kind { name } => (
                self.setup.dir.kubeconfig().display().to_string(),
                kind::context(name),
            ),
            Cluster::Existing {
                kubeconfig,
                context,
            } => (kubeconfig.display().to_string(), context.clone()),
        }
    }

    /// Runs `argv` off the async threads (the runner blocks while the process runs).
    async fn checked(&self, argv: Vec<String>, timeout: Duration) -> Result<String, Error> {
        let runner = self.runner.clone();
        blocking(move || {
            crate::exec::Runner::checked(runner.as_ref(), &argv, timeout).map(|f| f.stdout)
        })
        .await
    }

    /// Watches until the pod `name` of the workload namespace no longer exists.
    async fn wait_pod_gone(&self, name: &str, timeout: Duration) -> Result<(), Error> {
        let api: Api<Pod> = Api::namespaced(self.client()?, NAMESPACE);
        wait::until(
            &api,
            Target {
                name,
                what: format!("pod {NAMESPACE}/{name} to be gone"),
                timeout,
            },
            |pod| pod.is_none().then_some(()),
            |pod| match pod {
                None => "no such pod".into(),
                Some(p) => format!(
                    "pod {name} in phase {}",
                    p.status
                        .as_ref()
                        .and_then(|s| s.phase.as_deref())
                        .unwrap_or("(none)")
                ),
            },
        )
        .await
    }

    /// Watches the corruption Job until it succeeded or failed (its verifier exits 1 on a
    /// broken chain, so Failed is the expected end).
    async fn wait_job_finished(&self, timeout: Duration) -> Result<(), Error> {
        let api: Api<Job> = Api::namespaced(self.client()?, NAMESPACE);
        let name = corruption::JOB_NAME;
        wait::until(
            &api,
            Target {
                name,
                what: format!("Job {NAMESPACE}/{name} to finish"),
                timeout,
            },
            |job| {
                let status = job?.status.as_ref()?;
                (status.succeeded.unwrap_or(0) + status.failed.unwrap_or(0) > 0).then_some(())
            },
            |job| match job.and_then(|j| j.status.as_ref()) {
                None => format!("Job {name} without status"),
                Some(s) => format!(
                    "Job {name}: active {}, succeeded {}, failed {}",
                    s.active.unwrap_or(0),
                    s.succeeded.unwrap_or(0),
                    s.failed.unwrap_or(0)
                ),
            },
        )
        .await
    }

    /// The UID of the ledger pod now (`None` when there is none).
    async fn ledger_pod_uid(&self) -> Result<Option<String>, Error> {
        let pods: Api<Pod> = Api::namespaced(self.client()?, NAMESPACE);
        let pod = pods
            .get_opt(LEDGER_POD)
            .await
            .map_err(kube_error(format!("get pod {NAMESPACE}/{LEDGER_POD}")))?;
        Ok(pod.and_then(|p| p.metadata.uid))
    }
}

/// Runs a blocking call (a process) on the blocking pool.
async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|e| Error::Unavailable(format!("a command's thread failed: {e}")))?
}

impl World for RealWorld {
    async fn provision(&self, timeout: Duration) -> Result<WorldVersions, Error> {
        self.provision_cluster(timeout).await
    }

    async fn install_velero(&self, timeout: Duration) -> Result<String, Error> {
        self.install(timeout).await
    }

    async fn deploy_workload(&self, timeout: Duration) -> Result<(), Error> {
        self.deploy(timeout).await
    }

    async fn ledger_last(&self) -> Result<LastAck, Error> {
        ledger_proxy::last(&self.ledger_client()?, NAMESPACE).await
    }

    async fn create_schedule(&self) -> Result<(), Error> {
        self.schedule().await
    }

    async fn wait_backup(
        &self,
        after: DateTime<Utc>,
        timeout: Duration,
    ) -> Result<BackupTaken, Error> {
        let schedule = plan::schedule_name(&self.setup.scenario, self.setup.seed);
        backup::wait_first(&self.client()?, &schedule, after, &LEDGER_VOLUME, timeout).await
    }

    async fn choose_backup(&self, after: DateTime<Utc>) -> Result<BackupTaken, Error> {
        let schedule = plan::schedule_name(&self.setup.scenario, self.setup.seed);
        let chosen = backup::newest(&self.client()?, &schedule, after, &LEDGER_VOLUME)
            .await?
            .ok_or_else(|| {
                Error::Unavailable(format!(
                    "no Completed backup of Schedule {schedule} holding {LEDGER_VOLUME} is \
                     left to restore from (one was seen before: was it deleted?)"
                ))
            })?;
        self.created().backup = Some(chosen.name.clone());
        Ok(chosen)
    }

    async fn delete_namespace(&self) -> Result<(), Error> {
        namespace::delete(&self.client()?, NAMESPACE).await
    }

    async fn wait_namespace_gone(&self, timeout: Duration) -> Result<(), Error> {
        namespace::wait_gone(&self.client()?, NAMESPACE, timeout).await
    }

    async fn stop_writer(&self, timeout: Duration) -> Result<(), Error> {
        let api: Api<StatefulSet> = Api::namespaced(self.client()?, NAMESPACE);
        let scale = serde_json::json!({ "spec": { "replicas": 0 } });
        let strict = PatchParams {
            field_validation: Some(ValidationDirective::Strict),
            ..PatchParams::default()
        };
        api.patch(STATEFULSET, &strict, &Patch::Merge(&scale))
            .await
            .map_err(kube_error(format!(
                "scale StatefulSet {NAMESPACE}/{STATEFULSET} to 0"
            )))?;
        self.wait_pod_gone(LEDGER_POD, timeout).await
    }

    async fn corrupt_ledger(
        &self,
        offset: u64,
        bytes: u64,
        timeout: Duration,
    ) -> Result<Verification, Error> {
        let client = self.client()?;
        let job =
            corruption::job_object(offset, bytes, self.setup.image.reference(), &self.run_id)?;
        crate::kube::strict::create(
            &client,
            Some(NAMESPACE),
            &job,
            format!("create Job {NAMESPACE}/{}", corruption::JOB_NAME),
        )
        .await?;
        self.wait_job_finished(timeout).await?;
        let pods: Api<Pod> = Api::namespaced(client, NAMESPACE);
        let selector = format!("job-name={}", corruption::JOB_NAME);
        let listed = pods
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(kube_error(format!(
                "list the pods of Job {}",
                corruption::JOB_NAME
            )))?;
        let pod = listed
            .items
            .first()
            .and_then(|p| p.metadata.name.clone())
            .ok_or_else(|| {
                Error::Unavailable(format!(
                    "Job {} finished without a pod",
                    corruption::JOB_NAME
                ))
            })?;
        let log = pods
            .logs(
                &pod,
                &LogParams {
                    container: Some(corruption::VERIFY_CONTAINER.into()),
                    ..LogParams::default()
                },
            )
            .await
            .map_err(kube_error(format!("read the log of pod {NAMESPACE}/{pod}")))?;
        serde_json::from_str(&log).map_err(|e| {
            Error::Unavailable(format!(
                "the verifier in pod {NAMESPACE}/{pod} did not report JSON ({e}): {}",
                log.chars().take(300).collect::<String>()
            ))
        })
    }

    async fn create_restore(&self, backup: &str) -> Result<String, Error> {
        let name = plan::restore_name(&self.setup.scenario, self.setup.seed);
        let manifest = plan::manifests::restore(&name, NAMESPACE, backup, &self.run_id);
        restore::create_labelled(&self.client()?, &manifest, &self.run_id).await?;
        self.created().restore = Some(name.clone());
        Ok(name)
    }

    async fn wait_restore(
        &self,
        name: &str,
        backup: &str,
        timeout: Duration,
    ) -> Result<RestoreOutcome, Error> {
        let client = self.client()?;
        let finished = restore::wait_finished(&client, name, timeout).await?;
        // The pod Velero restored (before any restart or re-creation): its UID names the
        // bytes as restored.
        if let Ok(Some(uid)) = self.ledger_pod_uid().await {
            self.created().restored_pod_uid = Some(uid);
        }
        let (warnings, errors) = if finished.warnings + finished.errors == 0 {
            (Vec::new(), Vec::new())
        } else {
            let fetched = download::fetch(
                &client,
                &format!("{name}-results"),
                "RestoreResults",
                name,
                &self.run_id,
                RESULTS_TIMEOUT,
            )
            .await
            .and_then(|json| download::restore_results(&json).map_err(Error::Unavailable));
            match fetched {
                Ok(messages) => messages,
                Err(e) => {
                    tracing::warn!("the restore's messages could not be read: {e}");
                    (Vec::new(), Vec::new())
                }
            }
        };
        Ok(restore::outcome(
            name, backup, &finished, &warnings, &errors,
        ))
    }

    async fn wait_pods_ready(&self, timeout: Duration) -> Result<PodsOutcome, Error> {
        let pods =
            crate::drill::live::pods::wait_ready(&self.client()?, NAMESPACE, 1, timeout).await;
        if pods.ready {
            Ok(pods)
        } else {
            Err(Error::Timeout {
                what: format!("the restored pods of {NAMESPACE} to be Ready"),
                after: timeout,
                last_seen: pods.detail,
            })
        }
    }

    async fn read_restored_ledger(&self, _timeout: Duration) -> Result<Vec<u8>, Error> {
        let recorded = self.created().restored_pod_uid.clone();
        let uid = match recorded {
            Some(uid) => uid,
            None => self.ledger_pod_uid().await?.ok_or_else(|| {
                Error::Unavailable(format!("no pod {NAMESPACE}/{LEDGER_POD} to read from"))
            })?,
        };
        ledger_proxy::found_at_start(&self.ledger_client()?, NAMESPACE, &uid).await
    }

    async fn stop_ledger_node(&self) -> Result<StoppedNode, Error> {
        self.stop_node().await
    }

    async fn wait_node_dead(&self, node: &str, timeout: Duration) -> Result<String, Error> {
        self.node_dead(node, timeout).await
    }

    async fn force_remove_ledger(&self, timeout: Duration) -> Result<ForceRemoved, Error> {
        self.remove_leftovers(timeout).await
    }

    async fn ledger_node(&self) -> Result<String, Error> {
        self.node_of_ledger().await
    }

    async fn delete_cluster(&self, timeout: Duration) -> Result<(), Error> {
        self.delete_own_cluster(timeout).await
    }

    async fn recreate_cluster(&self, timeout: Duration) -> Result<String, Error> {
        self.recreate(timeout).await
    }

    async fn wait_backup_synced(&self, backup: &str, timeout: Duration) -> Result<(), Error> {
        self.backup_synced(backup, timeout).await
    }

    async fn create_restore_of_everything(&self, backup: &str) -> Result<String, Error> {
        self.restore_everything(backup).await
    }

    async fn delete_backup_objects(&self, backup: &str) -> Result<DeletedBackup, Error> {
        self.delete_backup(backup).await
    }

    async fn how_unrestorable(
        &self,
        backup: &str,
        timeout: Duration,
    ) -> Result<Unrestorable, Error> {
        self.unrestorable(backup, timeout).await
    }

    async fn fall_back(
        &self,
        lost: &BackupTaken,
        unrestorable: Unrestorable,
        after: DateTime<Utc>,
        before: DateTime<Utc>,
    ) -> Result<Fallback, Error> {
        self.fallback(lost, unrestorable, after, before).await
    }

    async fn corrupt_repository(&self) -> Result<CorruptedRepository, Error> {
        self.corrupt().await
    }

    async fn collect_diagnostics(&self, dir: &Path, timeout: Duration) -> Result<(), Error> {
        self.diagnose(dir, timeout).await
    }

    async fn teardown(&self, timeout: Duration) -> Result<(), Error> {
        self.remove_everything(timeout).await
    }

    fn stop_commands(&self) {
        self.runner.stop_running();
    }
}
