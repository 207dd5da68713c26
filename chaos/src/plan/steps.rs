//! The step builders and names that more than one part of a plan uses: the run's names
//! (cluster, context, MinIO, Schedule, Restore), and the steps both the normal sequence
//! ([`super::build`]) and a fault ([`super::fault`]) take (create the cluster, install
//! Velero, load the ledger image). Every command comes from the builder the live run uses.

use std::path::{Path, PathBuf};

use super::{Action, Context, NAMESPACE, Step};
use crate::cluster::{Cluster, kind};
use crate::scenario::{Scenario, aws_plugin_for, parse_version};
use crate::timeline::Phase;
use crate::velero::install::{self, Install};
use crate::workload;

/// Names and flags derived from the scenario, shared by every step.
pub(super) struct Names {
    /// The run's id, and its kind cluster's name.
    pub cluster: String,
    pub kubeconfig: String,
    pub context: String,
    pub minio: String,
    pub schedule: String,
    pub restore: String,
    pub workdir: String,
    pub image: String,
    pub kind: bool,
}

/// A run's id: the value of [`crate::kube::namespace::RUN_LABEL`] on everything it creates,
/// and the name of its kind cluster, Schedule and Restore (`backstop-<scenario>-<seed, 8 hex>`).
pub fn run_id(scenario: &Scenario, seed: u64) -> String {
    kind::cluster_name(&scenario.name, seed)
}

/// The Velero Schedule of a run (its backups are `<schedule>-<timestamp>`).
pub fn schedule_name(scenario: &Scenario, seed: u64) -> String {
    run_id(scenario, seed)
}

/// The Velero Restore of a run.
pub fn restore_name(scenario: &Scenario, seed: u64) -> String {
    run_id(scenario, seed)
}

impl Names {
    pub(super) fn new(scenario: &Scenario, ctx: &Context) -> Self {
        let cluster = run_id(scenario, ctx.seed);
        let workdir = ctx.workdir.display().to_string();
        let (kubeconfig, context, kind) = match &ctx.cluster {
            Cluster::Kind { .. } => (
                format!("{workdir}/kubeconfig"),
                kind::context(&cluster),
                true,
            ),
            Cluster::Existing {
                kubeconfig,
                context,
            } => (kubeconfig.display().to_string(), context.clone(), false),
        };
        Self {
            kubeconfig,
            context,
            minio: crate::minio::container_name(&cluster),
            schedule: schedule_name(scenario, ctx.seed),
            restore: restore_name(scenario, ctx.seed),
            workdir,
            image: ctx.image.reference().to_owned(),
            kind,
            cluster,
        }
    }

    /// The kubeconfig the run uses (on kind its own, written by `kind create cluster`).
    pub fn kubeconfig(&self) -> PathBuf {
        PathBuf::from(&self.kubeconfig)
    }

    pub fn kubectl(&self, args: &[&str]) -> Vec<String> {
        let mut argv = vec![
            "kubectl".to_owned(),
            "--kubeconfig".to_owned(),
            self.kubeconfig.clone(),
            "--context".to_owned(),
            self.context.clone(),
        ];
        argv.extend(args.iter().map(|a| (*a).to_owned()));
        argv
    }

    pub fn kubectl_ns(&self, args: &[&str]) -> Vec<String> {
        let mut argv = self.kubectl(&["--namespace", NAMESPACE]);
        argv.extend(args.iter().map(|a| (*a).to_owned()));
        argv
    }

    /// What creates an object strictly, as `kubectl` would (the harness does it through the
    /// API with `fieldValidation=Strict`).
    pub fn create_strict(&self) -> Vec<String> {
        self.kubectl(&["create", "--validate=strict", "--filename", "-"])
    }

    pub fn path(&self, file: &str) -> String {
        format!("{}/{file}", self.workdir)
    }
}

pub(super) fn argv(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

pub(super) fn step(phase: Phase, title: impl Into<String>, action: Action) -> Step {
    Step {
        phase,
        title: title.into(),
        action,
    }
}

/// `kind create cluster` (also used to rebuild after cluster loss).
pub(super) fn create_cluster(scenario: &Scenario, n: &Names) -> Step {
    step(
        Phase::Provision,
        format!("Create the kind cluster {}", n.cluster),
        Action::Run(kind::create_argv(
            &n.cluster,
            &kind::node_image(&scenario.cluster.kubernetes),
            Path::new(&n.path("kind.yaml")),
            &n.kubeconfig(),
        )),
    )
}

/// `kind delete cluster` (at teardown, and as the cluster-loss fault).
pub(super) fn delete_cluster(n: &Names, phase: Phase, title: impl Into<String>) -> Step {
    step(
        phase,
        title,
        Action::Run(kind::delete_argv(&n.cluster, &n.kubeconfig())),
    )
}

/// `velero install` on the scenario's bucket, and the wait for its location (also after
/// cluster loss). The store's addresses are known once MinIO runs.
pub(super) fn install_velero(scenario: &Scenario, n: &Names, phase: Phase) -> Vec<Step> {
    let version = parse_version(&scenario.velero.version);
    let plugin = version.and_then(aws_plugin_for).unwrap_or("<plugin>");
    let image = version
        .is_some_and(|v| v.2.is_some())
        .then(|| format!("{}:{}", install::VELERO_IMAGE, scenario.velero.version));
    let secret_file = n.path("credentials-velero");
    let args = install::install_argv(&Install {
        kubeconfig: &n.kubeconfig,
        context: &n.context,
        bucket: &scenario.store.bucket,
        secret_file: &secret_file,
        s3_url: "http://<minio address on the kind network>:9000",
        public_url: "http://<published MinIO address>",
        region: crate::minio::REGION,
        uploader: scenario.velero.fs_backup,
        plugin,
        image: image.as_deref(),
    });
    vec![
        step(
            phase,
            format!(
                "Check the velero CLI is of Velero {}'s minor version (it installs its own CRDs)",
                scenario.velero.version
            ),
            Action::Run(install::client_version_argv()),
        ),
        step(
            phase,
            "Write Velero's credentials for the bucket (mode 0600)",
            Action::WriteFile {
                path: secret_file.clone().into(),
                content: install::credentials_file(
                    "<generated access key>",
                    "<generated secret key>",
                ),
            },
        ),
        step(
            phase,
            format!(
                "Install Velero {} with the AWS plugin {plugin} and the {} node agent",
                scenario.velero.version, scenario.velero.fs_backup
            ),
            Action::Run(args),
        ),
        wait_location(scenario, phase),
    ]
}

/// The watch until the scenario's BackupStorageLocation is Available.
pub(super) fn wait_location(scenario: &Scenario, phase: Phase) -> Step {
    step(
        phase,
        "Wait for the backup storage location to be Available",
        Action::Wait(format!(
            "BackupStorageLocation velero/{} has status.phase Available (watch)",
            scenario.velero.backup_storage_location()
        )),
    )
}

/// `kind load docker-image` of the ledger image (there is no registry): before the workloads
/// first start, and again onto the new nodes after cluster loss.
pub(super) fn load_ledger_image(n: &Names, phase: Phase, nodes: &str) -> Step {
    step(
        phase,
        format!("Load the ledger image {} into {nodes}", n.image),
        Action::Run(workload::load_argv(&n.image, &n.cluster)),
    )
}
