//! The real world of a live run: kind and docker by argv (each recorded in `commands.log`),
//! the Kubernetes API through the run's own kubeconfig (kind) or the named context of the
//! user's (existing, only with `--allow-existing-cluster`; that file is only read).
//!
//! Pieces owned elsewhere and not built yet (the MinIO store, `velero install`, the workload
//! deploy, the Schedule and the backup watch, diagnostics) fail with
//! [`Error::NotImplemented`] naming what is missing: never a pretended success.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::kube::api::{ListParams, LogParams, Patch, PatchParams, PostParams};
use ::kube::{Api, Client};
use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;

use super::corruption;
use super::ledger_proxy;
use super::rundir::RunDir;
use super::world::{BackupTaken, LastAck, World, WorldVersions};
use crate::cluster::kind;
use crate::error::Error;
use crate::exec::{Processes, Runner};
use crate::kube::namespace;
use crate::kube::wait::{self, Target};
use crate::ledger::verify::Verification;
use crate::outcome::{PodsOutcome, RestoreOutcome};
use crate::plan::{self, NAMESPACE};
use crate::scenario::Scenario;
use crate::velero::restore;

/// The ledger's StatefulSet and its one pod.
const STATEFULSET: &str = "ledger";
const LEDGER_POD: &str = "ledger-0";

/// Which cluster the run uses.
#[derive(Debug, Clone)]
pub enum Cluster {
    /// The run's own kind cluster, named for the scenario and seed.
    Kind { name: String },
    /// A cluster the run did not create: a context of the user's kubeconfig (only read).
    Existing {
        kubeconfig: PathBuf,
        context: String,
    },
}

/// What the run created, so teardown removes exactly that.
#[derive(Debug, Default)]
struct Created {
    cluster: bool,
    namespaces: Vec<String>,
}

/// The live world.
pub struct RealWorld {
    scenario: Scenario,
    seed: u64,
    dir: RunDir,
    cluster: Cluster,
    ledger_image: String,
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
            .field("cluster", &self.cluster)
            .finish_non_exhaustive()
    }
}

fn kube_error(action: String) -> impl FnOnce(::kube::Error) -> Error {
    move |source| Error::Kube {
        action,
        source: Box::new(source),
    }
}

fn not_built(what: &str) -> Error {
    Error::NotImplemented(format!(
        "the live run cannot go on: {what} is not built yet (see docs/chaos.md, \"What exists \
         today\"); `run --plan` shows the step"
    ))
}

impl RealWorld {
    /// `path`: the PATH kind and docker are found on (the process's own when `None`).
    pub fn new(
        scenario: Scenario,
        seed: u64,
        dir: RunDir,
        cluster: Cluster,
        ledger_image: String,
        path: Option<OsString>,
    ) -> Result<Self, Error> {
        let runner = Arc::new(Processes::new(&dir.commands_log(), path)?);
        Ok(Self {
            scenario,
            seed,
            dir,
            cluster,
            ledger_image,
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
        *self
            .client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(client);
        *self
            .ledger_client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(ledger);
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

    fn ledger_client(&self) -> Result<Client, Error> {
        self.ledger_client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or_else(|| {
                Error::Unavailable(
                    "no Kubernetes client yet: the cluster was not provisioned".into(),
                )
            })
    }

    fn created(&self) -> std::sync::MutexGuard<'_, Created> {
        self.created
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn client(&self) -> Result<Client, Error> {
        self.client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or_else(|| {
                Error::Unavailable(
                    "no Kubernetes client yet: the cluster was not provisioned".into(),
                )
            })
    }

    /// Runs `argv` off the async threads (the runner blocks while the process runs).
    async fn checked(&self, argv: Vec<String>, timeout: Duration) -> Result<String, Error> {
        let runner = self.runner.clone();
        tokio::task::spawn_blocking(move || runner.checked(&argv, timeout))
            .await
            .map_err(|e| Error::Unavailable(format!("a command's thread failed: {e}")))?
            .map(|finished| finished.stdout)
    }

    async fn provision_kind(&self, name: &str, timeout: Duration) -> Result<WorldVersions, Error> {
        let runner = self.runner.clone();
        let unused = name.to_owned();
        tokio::task::spawn_blocking(move || kind::ensure_unused(runner.as_ref(), &unused))
            .await
            .map_err(|e| Error::Unavailable(format!("a command's thread failed: {e}")))??;
        let config = self.dir.kind_config();
        self.dir
            .write(&config, &plan::manifests::kind_config(&self.scenario))?;
        let kind_version = self
            .checked(vec!["kind".into(), "version".into()], timeout)
            .await
            .unwrap_or_default();
        let node_image = format!("kindest/node:{}", self.scenario.cluster.kubernetes);
        let kubeconfig = self.dir.kubeconfig();
        self.created().cluster = true;
        self.checked(
            kind::create_argv(name, &node_image, &config, &kubeconfig),
            timeout,
        )
        .await?;
        self.connect(&kubeconfig, &kind::context(name)).await?;
        Ok(WorldVersions {
            kubernetes: self.scenario.cluster.kubernetes.clone(),
            kind: kind_version.trim().to_owned(),
        })
    }

    /// The backup store outside the cluster.
    async fn start_store(&self, _timeout: Duration) -> Result<(), Error> {
        Err(not_built(
            "the MinIO backup store outside the cluster (chaos/src/minio.rs)",
        ))
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
}

impl World for RealWorld {
    async fn provision(&self, timeout: Duration) -> Result<WorldVersions, Error> {
        let versions = match &self.cluster {
            Cluster::Kind { name } => self.provision_kind(name, timeout).await?,
            Cluster::Existing {
                kubeconfig,
                context,
            } => {
                self.connect(kubeconfig, context).await?;
                WorldVersions::default()
            }
        };
        self.start_store(timeout).await?;
        Ok(versions)
    }

    async fn install_velero(&self, _timeout: Duration) -> Result<(), Error> {
        Err(not_built(
            "`velero install` and the BackupStorageLocation wait (chaos/src/velero/install.rs)",
        ))
    }

    async fn deploy_workload(&self, _timeout: Duration) -> Result<(), Error> {
        Err(not_built(
            "the ledger image build and the workload deploy (chaos/src/workload.rs)",
        ))
    }

    async fn ledger_last(&self) -> Result<LastAck, Error> {
        ledger_proxy::last(&self.ledger_client()?, NAMESPACE).await
    }

    async fn create_schedule(&self) -> Result<(), Error> {
        Err(not_built(
            "the Velero Schedule (chaos/src/velero/schedule.rs)",
        ))
    }

    async fn wait_backup(
        &self,
        _after: DateTime<Utc>,
        _timeout: Duration,
    ) -> Result<BackupTaken, Error> {
        Err(not_built(
            "the backup watch and its PodVolumeBackup check (chaos/src/velero/backup.rs)",
        ))
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
        api.patch(STATEFULSET, &PatchParams::default(), &Patch::Merge(&scale))
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
        let manifest = corruption::job(&offset.to_string(), bytes, &self.ledger_image);
        let job: Job = serde_saphyr::from_str(&manifest).map_err(|e| Error::InvalidArgument {
            argument: "corruption Job manifest".into(),
            message: e.to_string(),
        })?;
        let jobs: Api<Job> = Api::namespaced(client.clone(), NAMESPACE);
        jobs.create(&PostParams::default(), &job)
            .await
            .map_err(kube_error(format!(
                "create Job {NAMESPACE}/{}",
                corruption::JOB_NAME
            )))?;
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
        let name = plan::restore_name(&self.scenario, self.seed);
        let manifest = plan::manifests::restore(&name, NAMESPACE, backup);
        restore::create(&self.client()?, &manifest).await?;
        Ok(name)
    }

    async fn wait_restore(
        &self,
        name: &str,
        backup: &str,
        timeout: Duration,
    ) -> Result<RestoreOutcome, Error> {
        let finished = restore::wait_finished(&self.client()?, name, timeout).await?;
        Ok(restore::outcome(name, backup, &finished, &[], &[]))
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
        let client = self.client()?;
        let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
        let pod = pods
            .get(LEDGER_POD)
            .await
            .map_err(kube_error(format!("get pod {NAMESPACE}/{LEDGER_POD}")))?;
        let uid = pod.metadata.uid.ok_or_else(|| {
            Error::Unavailable(format!("pod {NAMESPACE}/{LEDGER_POD} has no uid"))
        })?;
        // The writer files what it found at start under its pod's UID and never rewrites
        // it, so a restart of the restored pod cannot replace the bytes as restored.
        ledger_proxy::found_at_start(&self.ledger_client()?, NAMESPACE, &uid).await
    }

    async fn collect_diagnostics(&self, _dir: &Path, _timeout: Duration) -> Result<(), Error> {
        Err(not_built(
            "diagnostics collection (chaos/src/diagnostics.rs)",
        ))
    }

    async fn teardown(&self, timeout: Duration) -> Result<(), Error> {
        let (cluster, namespaces) = {
            let created = self.created();
            (created.cluster, created.namespaces.clone())
        };
        if let Cluster::Kind { name } = &self.cluster
            && cluster
        {
            self.checked(kind::delete_argv(name, &self.dir.kubeconfig()), timeout)
                .await?;
            self.created().cluster = false;
        }
        if let Cluster::Existing { .. } = &self.cluster {
            let client = self.client()?;
            for ns in namespaces {
                namespace::delete(&client, &ns).await?;
                namespace::wait_gone(&client, &ns, timeout).await?;
            }
            self.created().namespaces.clear();
        }
        Ok(())
    }
}
