//! The step builders and names that more than one part of a plan uses: the run's names
//! (cluster, context, MinIO, Schedule, Restore), and the steps both the normal sequence
//! ([`super::build`]) and a fault ([`super::fault`]) take (create the cluster, install
//! Velero, load the ledger image).

use std::path::{Path, PathBuf};

use super::{Action, Context, LEDGER_IMAGE, NAMESPACE, Step};
use crate::cluster::kind;
use crate::scenario::{Scenario, aws_plugin_for, parse_version};
use crate::timeline::Phase;

/// Names and flags derived from the scenario, shared by every step.
pub(super) struct Names {
    pub cluster: String,
    pub context: String,
    pub minio: String,
    pub schedule: String,
    pub restore: String,
    pub workdir: String,
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
        let cluster = kind::cluster_name(&scenario.name, ctx.seed);
        Self {
            context: kind::context(&cluster),
            minio: crate::minio::container_name(&cluster),
            schedule: schedule_name(scenario, ctx.seed),
            restore: restore_name(scenario, ctx.seed),
            workdir: ctx.workdir.display().to_string(),
            cluster,
        }
    }

    /// The run's own kubeconfig (written by `kind create cluster --kubeconfig`).
    pub fn kubeconfig(&self) -> PathBuf {
        PathBuf::from(self.path("kubeconfig"))
    }

    pub fn kubectl(&self, args: &[&str]) -> Vec<String> {
        let mut argv = vec![
            "kubectl".to_owned(),
            "--kubeconfig".to_owned(),
            self.path("kubeconfig"),
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
            &format!("kindest/node:{}", scenario.cluster.kubernetes),
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

/// `velero install` on the scenario's bucket and the wait for its location (also after cluster loss).
pub(super) fn install_velero(scenario: &Scenario, n: &Names, phase: Phase) -> Vec<Step> {
    let version = parse_version(&scenario.velero.version);
    let plugin = version.and_then(aws_plugin_for).unwrap_or("v1.12.0");
    let mut args = argv(&[
        "velero",
        "install",
        "--kubeconfig",
        &n.path("kubeconfig"),
        "--kubecontext",
        &n.context,
        "--provider",
        "aws",
        "--plugins",
        &format!("velero/velero-plugin-for-aws:{plugin}"),
        "--bucket",
        &scenario.store.bucket,
        "--secret-file",
        &n.path("credentials-velero"),
        "--backup-location-config",
        &format!(
            "region=minio,s3ForcePathStyle=true,s3Url=http://{}:9000",
            n.minio
        ),
        "--use-volume-snapshots=false",
        "--use-node-agent",
        "--uploader-type",
        &scenario.velero.fs_backup.to_string(),
        "--wait",
    ]);
    if version.is_some_and(|v| v.2.is_some()) {
        args.push("--image".into());
        args.push(format!("velero/velero:{}", scenario.velero.version));
    }
    vec![
        step(
            phase,
            format!(
                "Install Velero {} with the AWS plugin {plugin} and the {} node agent",
                scenario.velero.version, scenario.velero.fs_backup
            ),
            Action::Run(args),
        ),
        step(
            phase,
            "Wait for the backup storage location to be Available",
            Action::Run(n.kubectl(&[
                "--namespace",
                "velero",
                "wait",
                "backupstoragelocation/default",
                "--for=jsonpath={.status.phase}=Available",
                "--timeout=5m",
            ])),
        ),
    ]
}

/// `kind load docker-image` of the ledger image (there is no registry): before the workloads
/// first start, and again onto the new nodes after cluster loss.
pub(super) fn load_ledger_image(n: &Names, phase: Phase, nodes: &str) -> Step {
    step(
        phase,
        format!("Load the ledger image {LEDGER_IMAGE} into {nodes}"),
        Action::Run(argv(&[
            "kind",
            "load",
            "docker-image",
            LEDGER_IMAGE,
            "--name",
            &n.cluster,
        ])),
    )
}
