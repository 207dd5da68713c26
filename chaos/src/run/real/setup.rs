//! Setting the world up: the cluster and the store (provision), Velero (install), the ledger
//! image and the workload (steady), the Schedule (backups). Each thing is recorded in
//! [`super::Created`] before it is made, so a teardown after a half-made step still removes it.

use std::time::Duration;

use ::kube::Client;

use super::{Cluster, LedgerImage, RealWorld, blocking};
use crate::cluster::kind;
use crate::error::Error;
use crate::kube::namespace;
use crate::minio::{self, Spec};
use crate::plan::{self, NAMESPACE};
use crate::run::world::WorldVersions;
use crate::velero::install::{self, Install};
use crate::velero::schedule;
use crate::workload;

/// How long MinIO may take to answer its readiness probe once its container runs.
const MINIO_READY: Duration = Duration::from_secs(120);

impl RealWorld {
    /// The cluster (created, or the existing one connected to) and, on kind, the store.
    pub(super) async fn provision_cluster(
        &self,
        timeout: Duration,
    ) -> Result<WorldVersions, Error> {
        let versions = match &self.setup.cluster {
            Cluster::Kind { name } => {
                let name = name.clone();
                self.refuse_leftovers(&name).await?;
                if let LedgerImage::Build { context } = &self.setup.image {
                    let tag = self.setup.image.reference();
                    self.checked(workload::build_argv(tag, context), timeout)
                        .await?;
                }
                let kind_version = self.create_kind(&name, timeout).await?;
                self.start_store(&name).await?;
                WorldVersions {
                    kubernetes: self.kubernetes_version().await?,
                    kind: kind_version,
                }
            }
            Cluster::Existing {
                kubeconfig,
                context,
            } => {
                self.connect(kubeconfig, context).await?;
                WorldVersions {
                    kubernetes: self.kubernetes_version().await?,
                    kind: "none (existing cluster)".into(),
                }
            }
        };
        Ok(versions)
    }

    /// A kind cluster or MinIO container of the run's name already there (left by `--keep`)
    /// is refused before anything is made: the run never reuses what it did not create.
    async fn refuse_leftovers(&self, cluster: &str) -> Result<(), Error> {
        let runner = self.runner.clone();
        let (cluster, container) = (cluster.to_owned(), minio::container_name(cluster));
        blocking(move || {
            kind::ensure_unused(runner.as_ref(), &cluster)?;
            minio::ensure_unused(runner.as_ref(), &container)
        })
        .await
    }

    /// `kind create cluster` from the generated config, its kubeconfig in the run directory;
    /// returns `kind version`.
    pub(super) async fn create_kind(&self, name: &str, timeout: Duration) -> Result<String, Error> {
        let dir = &self.setup.dir;
        let config = dir.kind_config();
        dir.write(&config, &plan::manifests::kind_config(&self.setup.scenario))?;
        let kind_version = self
            .checked(kind::version_argv(), timeout)
            .await
            .map(|v| v.trim().to_owned())
            .unwrap_or_default();
        let node_image = kind::node_image(&self.setup.scenario.cluster.kubernetes);
        let kubeconfig = dir.kubeconfig();
        self.created().cluster = true;
        self.checked(
            kind::create_argv(name, &node_image, &config, &kubeconfig),
            timeout,
        )
        .await?;
        self.connect(&kubeconfig, &kind::context(name)).await?;
        Ok(kind_version)
    }

    /// MinIO on kind's network with fresh credentials (in a 0600 env file, never in argv),
    /// ready, with the scenario's bucket made through the S3 API.
    async fn start_store(&self, cluster: &str) -> Result<(), Error> {
        let spec = Spec {
            container: minio::container_name(cluster),
            image: self.setup.scenario.store.image().to_owned(),
            network: minio::KIND_NETWORK.to_owned(),
            run_id: self.run_id.clone(),
        };
        let credentials = minio::generate_credentials()?;
        let env_file = minio::write_env_file(self.setup.dir.root(), &credentials)?;
        self.created().store = Some(spec.container.clone());
        let runner = self.runner.clone();
        let started =
            blocking(move || minio::start(runner.as_ref(), &spec, &env_file, &credentials)).await?;
        minio::wait_ready(&started, MINIO_READY).await?;
        minio::create_bucket(&started, &self.setup.scenario.store.bucket).await?;
        self.created().minio = Some(started);
        Ok(())
    }

    async fn kubernetes_version(&self) -> Result<String, Error> {
        let client: Client = self.client()?;
        client
            .apiserver_version()
            .await
            .map(|v| v.git_version)
            .map_err(|e| {
                Error::Unavailable(format!("the Kubernetes API server cannot be reached: {e}"))
            })
    }

    /// Velero: installed with the CLI on kind, found on an existing cluster; then its
    /// location watched until Available. Returns the server's version.
    pub(super) async fn install(&self, timeout: Duration) -> Result<String, Error> {
        let scenario = &self.setup.scenario;
        let location = scenario.velero.backup_storage_location().to_owned();
        let client = self.client()?;
        let version = if scenario.velero.install {
            self.velero_install(timeout).await?
        } else {
            install::require_installed(&client, &location).await?;
            install::server_version(&client).await?
        };
        install::wait_location_available(&client, &location, timeout).await?;
        Ok(version)
    }

    /// `velero install` against the run's MinIO, with the CLI's version checked first.
    async fn velero_install(&self, timeout: Duration) -> Result<String, Error> {
        let scenario = &self.setup.scenario;
        let cli = self
            .checked(install::client_version_argv(), timeout)
            .await?;
        let cli = install::parse_client_version(&cli).ok_or_else(|| {
            Error::Unavailable(format!(
                "`velero version --client-only` printed no version: {}",
                cli.trim()
            ))
        })?;
        let versions =
            install::versions(&scenario.velero.version, &cli).map_err(Error::Unavailable)?;
        let minio = self
            .created()
            .minio
            .clone()
            .ok_or_else(|| Error::Unavailable("the backup store was not started".into()))?;
        let secret_file = self.setup.dir.root().join("credentials-velero");
        install::write_credentials(
            &secret_file,
            &minio.credentials.access_key,
            &minio.credentials.secret_key,
        )?;
        let (kubeconfig, context) = self.access();
        let secret_file = secret_file.display().to_string();
        let argv = install::install_argv(&Install {
            kubeconfig: &kubeconfig,
            context: &context,
            bucket: &scenario.store.bucket,
            secret_file: &secret_file,
            s3_url: &minio.cluster_endpoint,
            public_url: &minio.harness_endpoint,
            region: minio::REGION,
            uploader: scenario.velero.fs_backup,
            plugin: versions.plugin,
            image: versions.image.as_deref(),
        });
        self.checked(argv, timeout).await?;
        Ok(versions.server)
    }

    /// The ledger image into kind, the run's namespace (labelled, refused if it exists), the
    /// workload created strictly, and every replica Ready.
    pub(super) async fn deploy(&self, timeout: Duration) -> Result<(), Error> {
        if let Cluster::Kind { name } = &self.setup.cluster {
            self.checked(
                workload::load_argv(self.setup.image.reference(), name),
                timeout,
            )
            .await?;
        }
        let client = self.client()?;
        match namespace::create(&client, NAMESPACE, &self.run_id).await {
            Ok(_) => self.created().namespaces.push(NAMESPACE.to_owned()),
            Err(Error::Kube { source, .. }) if matches!(source.as_ref(), ::kube::Error::Api(s) if s.code == 409) =>
            {
                return Err(Error::InvalidArgument {
                    argument: "--context".into(),
                    message: format!(
                        "the namespace {NAMESPACE} exists already in this cluster: the harness \
                         works only in namespaces it creates (delete it if a run left it \
                         with --keep)"
                    ),
                });
            }
            Err(e) => return Err(e),
        }
        workload::create(&client, NAMESPACE, &self.setup.workloads).await?;
        workload::wait_ready(&client, NAMESPACE, &self.setup.workloads, timeout).await
    }

    /// The scenario's Schedule, created strictly and labelled for the run.
    pub(super) async fn schedule(&self) -> Result<(), Error> {
        let scenario = &self.setup.scenario;
        let name = plan::schedule_name(scenario, self.setup.seed);
        let manifest = plan::manifests::schedule(&name, NAMESPACE, scenario, &self.run_id);
        schedule::create(&self.client()?, &manifest, &self.run_id).await?;
        // Recorded once made: a Schedule of that name that was there before is not the run's.
        self.created().schedule = Some(name);
        Ok(())
    }
}
