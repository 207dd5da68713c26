//! The steps every run takes, in phase order; the fault's own steps come from [`super::fault`].
//! Commands and manifests come from the builders the live run uses; what the harness does
//! through the API itself is shown with its `kubectl` equivalent.

use policy::duration::format_whole;
use serde::Serialize;

use super::steps::{
    Names, create_cluster, delete_cluster, install_velero, load_ledger_image, step, wait_location,
};
use super::{Action, Context, NAMESPACE, Plan, Step};
use super::{fault, manifests};
use crate::cluster::kind;
use crate::kube::ledger_proxy::proxy_path;
use crate::kube::namespace;
use crate::minio::{self, Spec};
use crate::scenario::Scenario;
use crate::timeline::Phase;
use crate::velero::{backup, download};
use crate::workload::{self, LedgerImage};

/// Builds the plan of a run.
pub fn build(scenario: &Scenario, ctx: &Context) -> Plan {
    let names = Names::new(scenario, ctx);
    let mut steps = Vec::new();
    provision(scenario, &names, ctx, &mut steps);
    install(scenario, &names, &mut steps);
    steady(&names, ctx, &mut steps);
    backups(scenario, &names, &mut steps);
    fault::inject(scenario, &names, ctx.seed, &mut steps);
    recover(scenario, &names, &mut steps);
    diagnostics(&names, &mut steps);
    if !ctx.keep {
        teardown(&names, &mut steps);
    }
    Plan {
        scenario: scenario.name.clone(),
        scenario_file: ctx.scenario_file.clone(),
        seed: ctx.seed,
        cluster: if names.kind {
            names.cluster.clone()
        } else {
            format!("{} (existing, context {})", names.cluster, names.context)
        },
        steps,
    }
}

/// An object as YAML, for the plan's text.
pub(super) fn yaml(object: &impl Serialize) -> String {
    serde_saphyr::to_string(object).unwrap_or_else(|e| format!("# not printable: {e}\n"))
}

fn provision(scenario: &Scenario, n: &Names, ctx: &Context, steps: &mut Vec<Step>) {
    let phase = Phase::Provision;
    if !n.kind {
        steps.push(step(
            phase,
            format!(
                "Use context {} of {} (only read; the current context is not changed)",
                n.context, n.kubeconfig
            ),
            Action::Harness(
                "refused unless --allow-existing-cluster is given; the run creates and labels its \
                 own namespace and Velero objects, and removes them at the end"
                    .into(),
            ),
        ));
        return;
    }
    steps.push(step(
        phase,
        "Refuse a kind cluster of the run's name left behind (by --keep)",
        Action::Run(kind::list_argv()),
    ));
    steps.push(step(
        phase,
        "Refuse a MinIO container of the run's name left behind",
        Action::Run(minio::list_argv(&n.minio)),
    ));
    match &ctx.image {
        LedgerImage::Build { context } => steps.push(step(
            phase,
            "Build the ledger image from chaos/Dockerfile",
            Action::Run(workload::build_argv(&n.image, context)),
        )),
        LedgerImage::Given(image) => steps.push(step(
            phase,
            format!("Use the ledger image {image} (--ledger-image), already in the local Docker"),
            Action::Harness("no build".into()),
        )),
    }
    let config = n.path("kind.yaml");
    steps.push(step(
        phase,
        format!(
            "Write the kind config: a control plane and {} workers",
            scenario.cluster.workers
        ),
        Action::WriteFile {
            path: config.into(),
            content: manifests::kind_config(scenario),
        },
    ));
    steps.push(create_cluster(scenario, n));
    let env_file = n.path("minio.env");
    steps.push(step(
        phase,
        "Write MinIO's root user and password, generated for the run (mode 0600, never in argv)",
        Action::WriteFile {
            path: env_file.clone().into(),
            content: "MINIO_ROOT_USER=<generated>\nMINIO_ROOT_PASSWORD=<generated>\n".into(),
        },
    ));
    let spec = Spec {
        container: n.minio.clone(),
        image: scenario.store.image().to_owned(),
        network: minio::KIND_NETWORK.to_owned(),
        run_id: n.cluster.clone(),
    };
    steps.push(step(
        phase,
        "Start MinIO outside the cluster, on kind's Docker network, so it survives cluster loss",
        Action::Run(minio::run_argv(&spec, std::path::Path::new(&env_file))),
    ));
    steps.push(step(
        phase,
        "Find MinIO's address on the kind network → <minio address on the kind network>",
        Action::Run(minio::inspect_argv(&n.minio, minio::KIND_NETWORK)),
    ));
    steps.push(step(
        phase,
        "Find the port Docker published for the harness → <published MinIO address>",
        Action::Run(minio::port_argv(&n.minio)),
    ));
    steps.push(step(
        phase,
        "Wait for MinIO",
        Action::Wait(
            "http://<published MinIO address>/minio/health/ready answers 200 (probed, backing off to 1 s)"
                .into(),
        ),
    ));
    steps.push(step(
        phase,
        format!("Create the bucket {}", scenario.store.bucket),
        Action::Harness(format!(
            "PUT http://<published MinIO address>/{} through the S3 API (signed with the generated keys)",
            scenario.store.bucket
        )),
    ));
}

fn install(scenario: &Scenario, n: &Names, steps: &mut Vec<Step>) {
    if scenario.velero.install {
        steps.extend(install_velero(scenario, n, Phase::Install));
        return;
    }
    steps.push(step(
        Phase::Install,
        "Use the Velero already installed",
        Action::Harness(format!(
            "BackupStorageLocation velero/{} must exist and DaemonSet velero/node-agent run \
             file-system backups; the server's version is the velero Deployment's image tag",
            scenario.velero.backup_storage_location()
        )),
    ));
    steps.push(wait_location(scenario, Phase::Install));
}

fn steady(n: &Names, ctx: &Context, steps: &mut Vec<Step>) {
    let phase = Phase::Steady;
    if n.kind {
        steps.push(load_ledger_image(n, phase, "the cluster's nodes"));
    }
    steps.push(step(
        phase,
        format!(
            "Create the namespace {NAMESPACE}, labelled for the run (an existing one is refused)"
        ),
        Action::Apply {
            command: n.create_strict(),
            manifest: yaml(&namespace::manifest(NAMESPACE, &n.cluster)),
        },
    ));
    match workload::prepare(&ctx.workloads, NAMESPACE, &n.image, &n.cluster) {
        Ok(objects) => {
            for o in &objects {
                steps.push(step(
                    phase,
                    format!(
                        "Create {} (from the workload manifest, in {NAMESPACE}, labelled)",
                        o.id
                    ),
                    Action::Apply {
                        command: n.create_strict(),
                        manifest: yaml(&o.object),
                    },
                ));
            }
            for o in objects
                .iter()
                .filter(|o| matches!(o.resource.kind.as_str(), "StatefulSet" | "Deployment"))
            {
                steps.push(step(
                    phase,
                    format!("Wait for {} to be Ready", o.id),
                    Action::Wait(format!(
                        "{} has every replica Ready for its current generation (watch)",
                        o.id
                    )),
                ));
            }
        }
        Err(e) => steps.push(step(
            phase,
            "The workload manifests",
            Action::Harness(e.to_string()),
        )),
    }
    steps.push(step(
        phase,
        "Start the ground truth: record every acknowledged write outside the cluster",
        Action::Harness(format!(
            "GET {} every second, through the API server's service proxy (no port-forward, no \
             retries); append each new answer with the harness's wall and monotonic time to {}, \
             flushed at once",
            proxy_path(NAMESPACE, "last"),
            n.path("ground-truth.jsonl")
        )),
    ));
    steps.push(step(
        phase,
        "Wait for steady writes",
        Action::Wait("the writer's first acknowledgement".into()),
    ));
}

fn backups(scenario: &Scenario, n: &Names, steps: &mut Vec<Step>) {
    steps.push(step(
        Phase::Backups,
        format!(
            "Create the Schedule {} ({})",
            n.schedule, scenario.backup.schedule
        ),
        Action::Apply {
            command: n.create_strict(),
            manifest: manifests::schedule(&n.schedule, NAMESPACE, scenario, &n.cluster),
        },
    ));
    steps.push(step(
        Phase::Backups,
        "Wait for the first backup that holds the ledger's data",
        Action::Wait(format!(
            "a Backup labelled velero.io/schedule-name={} that started after steady writes reaches \
             Completed, and its PodVolumeBackup (labelled {}=<its uid>) of \
             {NAMESPACE}/ledger-0 volume data is Completed (watch); record it in {}",
            n.schedule,
            backup::BACKUP_UID_LABEL,
            n.path("backup.json")
        )),
    ));
    steps.push(step(
        Phase::Fault,
        format!(
            "Wait until {} after steady writes began",
            format_whole(scenario.fault.after.0)
        ),
        Action::Wait(format!(
            "the monotonic clock reaches steady + {}; the Schedule keeps backing up meanwhile",
            format_whole(scenario.fault.after.0)
        )),
    ));
    steps.push(step(
        Phase::Fault,
        "Choose the newest usable backup → <newest usable backup>",
        Action::Harness(format!(
            "the newest Backup of {} that started after steady writes, Completed, with the \
             ledger volume's PodVolumeBackup Completed",
            n.schedule
        )),
    ));
}

fn recover(scenario: &Scenario, n: &Names, steps: &mut Vec<Step>) {
    steps.push(step(
        Phase::RestoreStart,
        "Create the Restore from the newest usable backup",
        Action::Apply {
            command: n.create_strict(),
            manifest: manifests::restore(
                &n.restore,
                NAMESPACE,
                &fault::restore_source(scenario, n),
                &n.cluster,
            ),
        },
    ));
    steps.push(step(
        Phase::RestoreComplete,
        "Wait for the Restore to finish",
        Action::Wait(format!(
            "Restore {} reaches Completed, PartiallyFailed or Failed (watch; PartiallyFailed fails the run)",
            n.restore
        )),
    ));
    steps.push(step(
        Phase::RestoreComplete,
        "Note the restored pod's UID → <uid> (its writer files the bytes as restored under it)",
        Action::Run(n.kubectl_ns(&["get", "pod/ledger-0", "--output=jsonpath={.metadata.uid}"])),
    ));
    let request = format!("{}-results", n.restore);
    steps.push(step(
        Phase::RestoreComplete,
        "Ask Velero for the restore's warnings and errors (when it has any)",
        Action::Apply {
            command: n.create_strict(),
            manifest: yaml(&download::request(
                &request,
                "RestoreResults",
                &n.restore,
                &n.cluster,
            )),
        },
    ));
    steps.push(step(
        Phase::RestoreComplete,
        "Record them in result.json",
        Action::Harness(format!(
            "wait for DownloadRequest velero/{request} to be Processed (watch), GET its \
             downloadURL (signed for the published MinIO address), gunzip the JSON, delete the \
             request"
        )),
    ));
    steps.push(step(
        Phase::PodsReady,
        "Wait for the restored pods to be Ready",
        Action::Wait(format!("every pod of {NAMESPACE} is Ready (watch)")),
    ));
    steps.push(step(
        Phase::DataVerified,
        "Fetch the ledger as restored (copied aside by the writer before it appended anything)",
        Action::Harness(format!(
            "GET {}",
            proxy_path(NAMESPACE, "found-at-start/<uid>")
        )),
    ));
    steps.push(step(
        Phase::DataVerified,
        "Verify the restored chain and measure RTO and RPO against the ground truth",
        Action::Harness(format!(
            "verify the bytes; measure with {acks} and the timeline; write {result}, report.md, \
             junit.xml and report.html",
            acks = n.path("ground-truth.jsonl"),
            result = n.path("result.json"),
        )),
    ));
}

fn diagnostics(n: &Names, steps: &mut Vec<Step>) {
    let captures = crate::diagnostics::captures(
        &crate::diagnostics::Access {
            kubeconfig: &n.kubeconfig,
            context: &n.context,
        },
        Some(NAMESPACE),
        &crate::diagnostics::Known {
            schedule: Some(n.schedule.clone()),
            backup: Some("<newest usable backup>".into()),
            restore: Some(n.restore.clone()),
        },
    );
    let files: Vec<String> = captures.iter().map(|c| c.file.clone()).collect();
    steps.push(step(
        Phase::Teardown,
        "On failure (a failed verdict, an error, Ctrl-C), before anything is removed",
        Action::Harness(format!(
            "write {}/diagnostics/: {} and index.txt (each file one kubectl or velero command)",
            n.workdir,
            files.join(", ")
        )),
    ));
}

fn teardown(n: &Names, steps: &mut Vec<Step>) {
    if n.kind {
        steps.push(delete_cluster(n, Phase::Teardown, "Delete the cluster"));
        steps.push(step(
            Phase::Teardown,
            "Remove MinIO (and the backups in it)",
            Action::Run(minio::remove_argv(&n.minio)),
        ));
        return;
    }
    steps.push(step(
        Phase::Teardown,
        "Delete the run's Restore",
        Action::Run(n.kubectl(&[
            "--namespace",
            "velero",
            "delete",
            "restores.velero.io",
            &n.restore,
        ])),
    ));
    steps.push(step(
        Phase::Teardown,
        "Delete the run's Schedule",
        Action::Run(n.kubectl(&[
            "--namespace",
            "velero",
            "delete",
            "schedules.velero.io",
            &n.schedule,
        ])),
    ));
    steps.push(step(
        Phase::Teardown,
        "Have Velero delete each of the Schedule's backups, from the store too",
        Action::Apply {
            command: n.create_strict(),
            manifest: yaml(&backup::delete_request("<backup>", &n.cluster)),
        },
    ));
    steps.push(step(
        Phase::Teardown,
        format!("Delete the namespace {NAMESPACE} and wait until it is gone"),
        Action::Run(n.kubectl(&["delete", "namespace", NAMESPACE, "--wait=true"])),
    ));
}
