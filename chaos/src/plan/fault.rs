//! Each fault's own steps: how it strikes, how the harness sees it, and what
//! must happen before a restore can bring the data back.

use super::steps::{
    Names, argv, create_cluster, delete_cluster, install_velero, load_ledger_image, step,
};
use super::{Action, NAMESPACE, Step};
use crate::scenario::{FaultKind, Scenario, StorageLossMode};
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
        _ => format!("<newest Completed backup of {}>", n.schedule),
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

fn namespace_loss(n: &Names, steps: &mut Vec<Step>) {
    steps.push(delete_namespace(
        n,
        Phase::Fault,
        &format!("Delete the namespace {NAMESPACE}"),
        false,
    ));
    steps.push(step(
        Phase::Detect,
        "See the loss",
        Action::Wait("GET /last fails and the Namespace is gone (watch)".into()),
    ));
    steps.push(stop_ground_truth(Phase::Detect));
}

fn pvc_corruption(scenario: &Scenario, n: &Names, seed: u64, steps: &mut Vec<Step>) {
    let bytes = scenario.fault.corruption_bytes();
    steps.push(ledger_node(n, Phase::Fault));
    steps.push(step(
        Phase::Fault,
        "Find the ledger's volume → <pv>",
        Action::Run(n.kubectl_ns(&[
            "get",
            "pvc/data-ledger-0",
            "--output=jsonpath={.spec.volumeName}",
        ])),
    ));
    steps.push(step(
        Phase::Fault,
        "Find the volume's directory on the node (local-path) → <pv-path>",
        Action::Run(n.kubectl(&[
            "get",
            "pv/<pv>",
            "--output=jsonpath={.spec.hostPath.path}{.spec.local.path}",
        ])),
    ));
    steps.push(step(
        Phase::Fault,
        format!(
            "Overwrite {bytes} bytes of the ledger at rest, at an offset drawn from seed {seed} \
             inside the records written so far"
        ),
        Action::Run(argv(&[
            "docker",
            "exec",
            "<node>",
            "dd",
            "if=/dev/zero",
            "of=<pv-path>/ledger.log",
            "bs=1",
            &format!("count={bytes}"),
            "seek=<seeded offset>",
            "conv=notrunc,fsync",
        ])),
    ));
    steps.push(step(
        Phase::Detect,
        "See the corruption: the chain no longer verifies",
        Action::Run(n.kubectl_ns(&[
            "exec",
            "pod/ledger-0",
            "--",
            "backstop-chaos",
            "ledger",
            "verify",
            "/data/ledger.log",
            "--output",
            "json",
        ])),
    ));
    steps.push(stop_ground_truth(Phase::Detect));
    steps.push(delete_namespace(
        n,
        Phase::RestoreStart,
        "Delete the damaged namespace: Velero's restore skips objects that exist",
        true,
    ));
}

fn node_loss(n: &Names, steps: &mut Vec<Step>) {
    steps.push(ledger_node(n, Phase::Fault));
    steps.push(step(
        Phase::Fault,
        "Stop that node's container",
        Action::Run(argv(&["docker", "stop", "<node>"])),
    ));
    steps.push(step(
        Phase::Detect,
        "See the loss",
        Action::Wait("Node <node> turns NotReady (watch) and GET /last fails".into()),
    ));
    steps.push(stop_ground_truth(Phase::Detect));
    steps.push(step(
        Phase::RestoreStart,
        "Remove the lost node, so its pods are deleted",
        Action::Run(n.kubectl(&["delete", "node", "<node>"])),
    ));
    steps.push(delete_namespace(
        n,
        Phase::RestoreStart,
        "Delete the namespace: its local-path volume is pinned to the lost node",
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
    let damage = match scenario.fault.storage_mode() {
        StorageLossMode::DeleteNewestBackup => step(
            Phase::Fault,
            "Delete every object of the newest backup from the store",
            Action::Run(argv(&[
                "docker",
                "exec",
                &n.minio,
                "mc",
                "rm",
                "--recursive",
                "--force",
                &format!("local/{bucket}/backups/<newest backup>/"),
            ])),
        ),
        StorageLossMode::CorruptRepository => step(
            Phase::Fault,
            "Overwrite the pack files of the namespace's file-system backup repository",
            Action::Run(argv(&[
                "docker",
                "exec",
                &n.minio,
                "sh",
                "-c",
                &format!(
                    "for o in $(mc find local/{bucket}/kopia/{NAMESPACE} --name 'p*'); \
                     do echo corrupted | mc pipe \"$o\"; done"
                ),
            ])),
        ),
    };
    steps.push(damage);
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
    steps.push(step(
        Phase::Detect,
        "List what the store still holds",
        Action::Run(argv(&[
            "docker",
            "exec",
            &n.minio,
            "mc",
            "ls",
            "--recursive",
            &format!("local/{bucket}/backups/"),
        ])),
    ));
    steps.push(step(
        Phase::Detect,
        "Compare with the Backups Velero reports Completed",
        Action::Harness(
            "a Completed backup whose objects are gone is reported as lost; the restore falls \
             back to the newest one still whole, and the RPO shows the price"
                .into(),
        ),
    ));
}
