//! The steps every run takes, in phase order; the fault's own steps come from [`super::fault`].

use policy::duration::format_whole;

use super::steps::{
    Names, argv, create_cluster, delete_cluster, install_velero, load_ledger_image, step,
};
use super::{Action, Context, LEDGER_LOCAL_PORT, NAMESPACE, Plan, Step};
use super::{fault, manifests};
use crate::scenario::Scenario;
use crate::timeline::Phase;

/// Builds the plan of a run.
pub fn build(scenario: &Scenario, ctx: &Context) -> Plan {
    let names = Names::new(scenario, ctx);
    let mut steps = Vec::new();
    provision(scenario, &names, ctx.seed, &mut steps);
    install(scenario, &names, ctx, &mut steps);
    steady(&names, ctx, &mut steps);
    backups(scenario, &names, &mut steps);
    fault::inject(scenario, &names, ctx.seed, &mut steps);
    recover(scenario, &names, &mut steps);
    if !ctx.keep {
        teardown(&names, &mut steps);
    }
    Plan {
        scenario: scenario.name.clone(),
        scenario_file: ctx.scenario_file.clone(),
        seed: ctx.seed,
        cluster: names.cluster,
        steps,
    }
}

fn provision(scenario: &Scenario, n: &Names, seed: u64, steps: &mut Vec<Step>) {
    let config = n.path("kind.yaml");
    steps.push(step(
        Phase::Provision,
        format!(
            "Write the kind config: a control plane and {} workers",
            scenario.cluster.workers
        ),
        Action::WriteFile {
            path: config.clone().into(),
            content: manifests::kind_config(scenario),
        },
    ));
    steps.push(create_cluster(scenario, n));
    steps.push(step(
        Phase::Provision,
        "Write MinIO's root password (throwaway, derived from the seed)",
        Action::WriteFile {
            path: n.path("minio.env").into(),
            content: format!("MINIO_ROOT_PASSWORD={}\n", password(seed)),
        },
    ));
    steps.push(step(
        Phase::Provision,
        "Start MinIO outside the cluster, on kind's Docker network, so it survives cluster loss",
        Action::Run(argv(&[
            "docker",
            "run",
            "--detach",
            "--name",
            &n.minio,
            "--network",
            "kind",
            "--env",
            "MINIO_ROOT_USER=backstop",
            "--env-file",
            &n.path("minio.env"),
            scenario.store.image(),
            "server",
            "/data",
        ])),
    ));
    steps.push(step(
        Phase::Provision,
        "Wait for MinIO",
        Action::Wait(format!(
            "http://{}:9000/minio/health/ready answers 200 (probed from the kind network)",
            n.minio
        )),
    ));
    steps.push(step(
        Phase::Provision,
        "Point mc at the server",
        Action::Run(argv(&[
            "docker",
            "exec",
            &n.minio,
            "sh",
            "-c",
            "mc alias set local http://127.0.0.1:9000 backstop \"$MINIO_ROOT_PASSWORD\"",
        ])),
    ));
    steps.push(step(
        Phase::Provision,
        format!("Create the bucket {}", scenario.store.bucket),
        Action::Run(argv(&[
            "docker",
            "exec",
            &n.minio,
            "mc",
            "mb",
            "--ignore-existing",
            &format!("local/{}", scenario.store.bucket),
        ])),
    ));
}

fn install(scenario: &Scenario, n: &Names, ctx: &Context, steps: &mut Vec<Step>) {
    steps.push(step(
        Phase::Install,
        "Write Velero's credentials for the bucket",
        Action::WriteFile {
            path: n.path("credentials-velero").into(),
            content: manifests::velero_credentials("backstop", &password(ctx.seed)),
        },
    ));
    steps.extend(install_velero(scenario, n, Phase::Install));
}

/// The MinIO root password of a run (throwaway, derived from the seed so a plan is reproducible).
fn password(seed: u64) -> String {
    format!(
        "backstop-{:016x}",
        seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5851_F42D_4C95_7F2D
    )
}

fn steady(n: &Names, ctx: &Context, steps: &mut Vec<Step>) {
    steps.extend(deploy_workloads(n, ctx));
    steps.push(step(
        Phase::Steady,
        "Forward a local port to the ledger",
        Action::Run(n.kubectl_ns(&[
            "port-forward",
            "service/ledger",
            &format!("{LEDGER_LOCAL_PORT}:8080"),
        ])),
    ));
    steps.push(step(
        Phase::Steady,
        "Start the ground truth: record every acknowledged write outside the cluster",
        Action::Harness(format!(
            "poll GET http://127.0.0.1:{LEDGER_LOCAL_PORT}/last every second; append each answer \
             with the harness's wall and monotonic time to {}",
            n.path("acks.jsonl")
        )),
    ));
    steps.push(step(
        Phase::Steady,
        "Wait for steady writes",
        Action::Wait("30 consecutive polls each saw a newer acknowledged record".into()),
    ));
}

/// Load the ledger image, create the namespace and apply every workload.
fn deploy_workloads(n: &Names, ctx: &Context) -> Vec<Step> {
    let phase = Phase::Steady;
    let mut steps = vec![
        load_ledger_image(n, phase, "the cluster's nodes"),
        step(
            phase,
            format!("Create the namespace {NAMESPACE}"),
            Action::Run(n.kubectl(&["create", "namespace", NAMESPACE])),
        ),
    ];
    for w in &ctx.workloads {
        steps.push(step(
            phase,
            format!("Apply the {} workload ({})", w.name, w.path.display()),
            Action::Apply {
                command: n.kubectl_ns(&["apply", "--filename", "-"]),
                manifest: w.manifest.clone(),
            },
        ));
        steps.push(step(
            phase,
            format!("Wait for {} to roll out", w.name),
            Action::Run(n.kubectl_ns(&[
                "rollout",
                "status",
                &format!("statefulset/{}", w.name),
                "--timeout=5m",
            ])),
        ));
    }
    steps
}

fn backups(scenario: &Scenario, n: &Names, steps: &mut Vec<Step>) {
    steps.push(step(
        Phase::Backups,
        format!(
            "Create the Schedule {} ({})",
            n.schedule, scenario.backup.schedule
        ),
        Action::Apply {
            command: n.kubectl(&["apply", "--filename", "-"]),
            manifest: manifests::schedule(&n.schedule, NAMESPACE, scenario),
        },
    ));
    steps.push(step(
        Phase::Backups,
        "Wait for the first scheduled backup",
        Action::Wait(format!(
            "a Backup labelled velero.io/schedule-name={} reaches phase Completed (watch)",
            n.schedule
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
}

fn recover(scenario: &Scenario, n: &Names, steps: &mut Vec<Step>) {
    steps.push(step(
        Phase::RestoreStart,
        "Create the Restore from the newest usable backup",
        Action::Apply {
            command: n.kubectl(&["apply", "--filename", "-"]),
            manifest: manifests::restore(
                &n.restore,
                NAMESPACE,
                &fault::restore_source(scenario, n),
            ),
        },
    ));
    steps.push(step(
        Phase::RestoreComplete,
        "Wait for the Restore to finish",
        Action::Wait(format!(
            "Restore {} reaches Completed, PartiallyFailed or Failed (watch)",
            n.restore
        )),
    ));
    steps.push(step(
        Phase::RestoreComplete,
        "Record the restore's phase, warnings and errors",
        Action::Run(argv(&[
            "velero",
            "restore",
            "describe",
            &n.restore,
            "--details",
            "--kubeconfig",
            &n.path("kubeconfig"),
            "--kubecontext",
            &n.context,
        ])),
    ));
    steps.push(step(
        Phase::PodsReady,
        "Wait for the restored ledger pod to be Ready",
        Action::Run(n.kubectl_ns(&[
            "wait",
            "pod/ledger-0",
            "--for=condition=Ready",
            "--timeout=10m",
        ])),
    ));
    steps.push(step(
        Phase::DataVerified,
        "Forward a local port to the restored ledger",
        Action::Run(n.kubectl_ns(&[
            "port-forward",
            "service/ledger",
            &format!("{LEDGER_LOCAL_PORT}:8080"),
        ])),
    ));
    steps.push(step(
        Phase::DataVerified,
        "Fetch the ledger as restored (copied aside by the writer before it appended anything)",
        Action::Harness(format!(
            "GET http://127.0.0.1:{LEDGER_LOCAL_PORT}/found-at-start/<uid of the first restored ledger-0 pod> > {}",
            n.path("restored.ledger")
        )),
    ));
    steps.push(step(
        Phase::DataVerified,
        "Verify the restored chain and measure RTO and RPO against the ground truth",
        Action::Harness(format!(
            "verify {restored}; measure with {acks} and the timeline; write {result}",
            restored = n.path("restored.ledger"),
            acks = n.path("acks.jsonl"),
            result = n.path("result.json"),
        )),
    ));
}

fn teardown(n: &Names, steps: &mut Vec<Step>) {
    steps.push(delete_cluster(n, Phase::Teardown, "Delete the cluster"));
    steps.push(step(
        Phase::Teardown,
        "Remove MinIO",
        Action::Run(argv(&["docker", "rm", "--force", "--volumes", &n.minio])),
    ));
}
