//! Each fault's own steps: how it strikes, how the harness sees it, and what
//! must happen before a restore can bring the data back.

use super::steps::{
    Names, argv, create_cluster, delete_cluster, install_velero, load_ledger_image, step,
};
use super::{Action, NAMESPACE, Step};
use crate::fault::corruption;
use crate::scenario::{FaultKind, FsBackup, Scenario, StorageLossMode};
use crate::timeline::Phase;

/// Pushes the fault, detect and pre-restore steps of the scenario's fault.
pub(super) fn inject(scenario: &Scenario, n: &Names, seed: u64, steps: &mut Vec<Step>) {
    match scenario.fault.kind {
        FaultKind::NamespaceLoss => namespace_loss(n, steps),
        FaultKind::PvcCorruption => pvc_corruption(scenario, n, seed, steps),
        FaultKind::NodeLoss => node_loss(n, steps),
        FaultKind::ClusterLoss => cluster_loss(scenario, n, steps),
        FaultKind::StorageLoss => storage_loss(scenario, n, steps),
    }
}

/// The backup the Restore names (known only during the run).
pub(super) fn restore_source(scenario: &Scenario, n: &Names) -> String {
    match scenario.fault.kind {
        FaultKind::StorageLoss => format!(
            "<newest Completed backup of {} whose objects are still in the store>",
            n.schedule
        ),
        _ => "<newest usable backup>".to_owned(),
    }
}

fn stop_ground_truth(phase: Phase) -> Step {
    step(
        phase,
        "Stop the ground truth",
        Action::Harness(
            "stop polling GET /last; the newest answer before the fault is the last acknowledged write"
                .into(),
        ),
    )
}

fn delete_namespace(n: &Names, phase: Phase, title: &str, wait: bool) -> Step {
    let wait = if wait { "--wait=true" } else { "--wait=false" };
    step(
        phase,
        title,
        Action::Run(n.kubectl(&["delete", "namespace", NAMESPACE, wait])),
    )
}

fn ledger_node(n: &Names, phase: Phase) -> Step {
    step(
        phase,
        "Find the node that runs the ledger → <node>",
        Action::Run(n.kubectl_ns(&["get", "pod/ledger-0", "--output=jsonpath={.spec.nodeName}"])),
    )
}

fn wait_namespace_gone(phase: Phase) -> Step {
    step(
        phase,
        "See the loss",
        Action::Wait(format!(
            "the Namespace {NAMESPACE} is gone (watch; GET /last fails meanwhile)"
        )),
    )
}

fn namespace_loss(n: &Names, steps: &mut Vec<Step>) {
    steps.push(delete_namespace(
        n,
        Phase::Fault,
        &format!("Delete the namespace {NAMESPACE}"),
        false,
    ));
    steps.push(wait_namespace_gone(Phase::Detect));
}

fn pvc_corruption(scenario: &Scenario, n: &Names, seed: u64, steps: &mut Vec<Step>) {
    let bytes = scenario.fault.corruption_bytes();
    steps.push(step(
        Phase::Fault,
        "Stop the writer, so nothing touches the file while it is damaged",
        Action::Run(n.kubectl_ns(&["scale", "statefulset/ledger", "--replicas=0"])),
    ));
    steps.push(step(
        Phase::Fault,
        "Wait for the writer to stop",
        Action::Wait(format!("pod {NAMESPACE}/ledger-0 is gone (watch)")),
    ));
    steps.push(step(
        Phase::Detect,
        format!(
            "Overwrite {bytes} bytes of the ledger at rest, at an offset drawn from seed {seed} \
             inside the acknowledged records, then verify the damaged file"
        ),
        Action::Apply {
            command: n.create_strict(),
            manifest: corruption::job("<seeded offset>", bytes, &n.image, &n.cluster),
        },
    ));
    steps.push(step(
        Phase::Detect,
        "Wait for the Job to finish (its verifier exits 1 on a broken chain)",
        Action::Wait(format!(
            "Job {NAMESPACE}/{} succeeded or failed (watch)",
            corruption::JOB_NAME
        )),
    ));
    steps.push(step(
        Phase::Detect,
        "See the corruption: the verifier's report must name the first broken record",
        Action::Run(n.kubectl_ns(&[
            "logs",
            &format!("job/{}", corruption::JOB_NAME),
            "--container",
            corruption::VERIFY_CONTAINER,
        ])),
    ));
    steps.push(delete_namespace(
        n,
        Phase::Detect,
        "Delete the damaged namespace: Velero's restore skips objects that exist",
        false,
    ));
    steps.push(step(
        Phase::Detect,
        "Wait for it to be gone",
        Action::Wait(format!("the Namespace {NAMESPACE} is gone (watch)")),
    ));
}

fn node_loss(n: &Names, steps: &mut Vec<Step>) {
    steps.push(ledger_node(n, Phase::Fault));
    steps.push(step(
        Phase::Fault,
        format!(
            "Find that node's kind container from its provider ID (kind://docker/{}/<node>); \
             refuse a control-plane node or one of another cluster → <container>",
            n.cluster
        ),
        Action::Run(n.kubectl(&["get", "node/<node>", "--output=jsonpath={.spec.providerID}"])),
    ));
    steps.push(step(
        Phase::Fault,
        "Stop that node's container",
        Action::Run(argv(&["docker", "stop", "<container>"])),
    ));
    steps.push(step(
        Phase::Detect,
        "See the loss from the API server",
        Action::Wait(
            "Node <node>'s Ready condition turns Unknown (the kubelet stopped posting status) \
             or False (watch, within the fault timeout)"
                .into(),
        ),
    ));
    steps.push(stop_ground_truth(Phase::Detect));
    steps.push(step(
        Phase::RestoreStart,
        "Remove the ledger pod: no kubelet will ever confirm it gone",
        Action::Run(n.kubectl_ns(&["delete", "pod/ledger-0", "--grace-period=0", "--force"])),
    ));
    steps.push(step(
        Phase::RestoreStart,
        "Find the local-path volume pinned to the dead node → <pv>",
        Action::Run(n.kubectl_ns(&[
            "get",
            "pvc/data-ledger-0",
            "--output=jsonpath={.spec.volumeName}",
        ])),
    ));
    steps.push(step(
        Phase::RestoreStart,
        "Delete the claim and its volume (the volume's node affinity names the dead node)",
        Action::Run(n.kubectl_ns(&["delete", "pvc/data-ledger-0", "--wait=false"])),
    ));
    steps.push(step(
        Phase::RestoreStart,
        "Delete the volume; wait until it is gone",
        Action::Run(n.kubectl(&[
            "delete",
            "pv/<pv>",
            "--wait=true",
            "--timeout=<fault timeout / 2>",
        ])),
    ));
    steps.push(step(
        Phase::RestoreStart,
        "If the volume is still there: take its finalizers off (nothing on a dead node runs them) and record them",
        Action::Run(n.kubectl(&[
            "patch",
            "pv/<pv>",
            "--type=merge",
            "--patch={\"metadata\":{\"finalizers\":null}}",
        ])),
    ));
    steps.push(delete_namespace(
        n,
        Phase::RestoreStart,
        "Delete the namespace, so the restore recreates it on a surviving worker",
        true,
    ));
}

fn cluster_loss(scenario: &Scenario, n: &Names, steps: &mut Vec<Step>) {
    steps.push(delete_cluster(
        n,
        Phase::Fault,
        format!("Delete the cluster {}", n.cluster),
    ));
    steps.push(step(
        Phase::Detect,
        "See the loss",
        Action::Wait("the API server and GET /last are unreachable".into()),
    ));
    steps.push(stop_ground_truth(Phase::Detect));
    let mut rebuild = create_cluster(scenario, n);
    rebuild.phase = Phase::RestoreStart;
    rebuild.title = format!("Create a new cluster {}", n.cluster);
    steps.push(rebuild);
    steps.extend(install_velero(scenario, n, Phase::RestoreStart));
    steps.push(step(
        Phase::RestoreStart,
        "Wait for Velero to find the old backups in the bucket",
        Action::Wait(format!(
            "Backups labelled velero.io/schedule-name={} appear (backup sync, watch)",
            n.schedule
        )),
    ));
    // The Restore brings the workloads back; only the image must be loaded again.
    steps.push(load_ledger_image(n, Phase::RestoreStart, "the new nodes"));
}

fn storage_loss(scenario: &Scenario, n: &Names, steps: &mut Vec<Step>) {
    let bucket = &scenario.store.bucket;
    match scenario.fault.storage_mode() {
        StorageLossMode::DeleteNewestBackup => {
            steps.push(step(
                Phase::Fault,
                format!(
                    "Find the newest Completed backup of {} that started before the fault → <newest backup>",
                    n.schedule
                ),
                Action::Harness(format!(
                    "S3 (the harness's own client): list s3://{bucket}/backups/, read each \
                     backups/<name>/velero-backup.json, pick the newest Completed one of the \
                     Schedule by status.startTimestamp"
                )),
            ));
            steps.push(step(
                Phase::Fault,
                "Delete every object of the newest backup from the store",
                Action::Harness(format!(
                    "S3: DELETE each object under s3://{bucket}/backups/<newest backup>/, then \
                     list the folder again: it must be empty; every key is kept in result.json"
                )),
            ));
        }
        StorageLossMode::CorruptRepository => steps.push(step(
            Phase::Fault,
            format!(
                "Overwrite the data of the namespace's {} repository in the store",
                scenario.velero.fs_backup
            ),
            Action::Harness(format!(
                "S3: every {} under s3://{bucket}/{} is rewritten with each byte inverted \
                 (same size) and read back; each key with its SHA-256 before and after is kept \
                 in result.json",
                match scenario.velero.fs_backup {
                    FsBackup::Kopia => "pack blob p*",
                    FsBackup::Restic => "file under data/",
                },
                crate::fault::repository::prefix(scenario.velero.fs_backup, NAMESPACE)
            )),
        )),
    }
    steps.push(delete_namespace(
        n,
        Phase::Fault,
        &format!("Delete the namespace {NAMESPACE}, so the backups are needed"),
        false,
    ));
    steps.push(step(
        Phase::Detect,
        "See the loss",
        Action::Wait("GET /last fails and the Namespace is gone (watch)".into()),
    ));
    steps.push(stop_ground_truth(Phase::Detect));
    match scenario.fault.storage_mode() {
        StorageLossMode::DeleteNewestBackup => {
            steps.push(step(
                Phase::Detect,
                "See how Velero shows the lost backup: removed by its backup sync?",
                Action::Run(n.kubectl(&["--namespace", "velero", "get", "backup/<newest backup>"])),
            ));
            steps.push(step(
                Phase::Detect,
                "If it is still listed: try to restore it, and keep Velero's reason when it fails",
                Action::Apply {
                    command: n.create_strict(),
                    manifest: super::manifests::restore(
                        &format!("{}-newest", n.restore),
                        NAMESPACE,
                        "<newest backup>",
                        &n.cluster,
                    ),
                },
            ));
            steps.push(step(
                Phase::Detect,
                "Fall back to the newest backup still whole",
                Action::Harness(
                    "the newest Completed backup of the Schedule, started before the fault, \
                     whose velero-backup.json and contents are in the store; newer ones passed \
                     over are named with the reason, and the RPO comes with the explanation"
                        .into(),
                ),
            ));
        }
        StorageLossMode::CorruptRepository => steps.push(step(
            Phase::Detect,
            "Judge the restore of the corrupted data",
            Action::Harness(
                "after the restore: did it fail (Velero's phase and errors), or did the data \
                 come back broken (the restored chain breaks)? Either way the verdict is fail \
                 with that reason"
                    .into(),
            ),
        )),
    }
}
