use std::path::{Path, PathBuf};

use super::*;
use crate::scenario;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn plan_for(name: &str) -> Plan {
    plan_with(name, false)
}

fn plan_with(name: &str, keep: bool) -> Plan {
    let file = fixtures().join(format!("scenarios/{name}.yaml"));
    let s = scenario::load(&file).unwrap();
    let ledger = fixtures().join("workloads/ledger.yaml");
    let ctx = Context {
        scenario_file: PathBuf::from(format!("fixtures/scenarios/{name}.yaml")),
        seed: 42,
        workdir: PathBuf::from(format!("out/chaos/{name}")),
        workloads: vec![Workload {
            name: "ledger".into(),
            path: PathBuf::from("fixtures/workloads/ledger.yaml"),
            manifest: std::fs::read_to_string(ledger).unwrap(),
        }],
        keep,
        cluster: crate::cluster::Cluster::Kind {
            name: run_id(&s, 42),
        },
        image: crate::workload::LedgerImage::Build {
            context: PathBuf::from("."),
        },
    };
    build(&s, &ctx)
}

fn commands(plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .filter_map(|s| match &s.action {
            Action::Run(argv) | Action::Apply { command: argv, .. } => Some(shell_line(argv)),
            _ => None,
        })
        .collect()
}

fn position(commands: &[String], prefix: &str) -> usize {
    commands
        .iter()
        .position(|c| c.starts_with(prefix))
        .unwrap_or_else(|| panic!("no command starts with {prefix:?}"))
}

/// How every kubectl command of the plan for `name` (seed 42) starts: the run's own
/// kubeconfig and context, never the user's.
fn kubectl(name: &str) -> String {
    format!(
        "kubectl --kubeconfig out/chaos/{name}/kubeconfig --context kind-backstop-{name}-0000002a"
    )
}

const SCENARIOS: [&str; 5] = [
    "namespace-loss",
    "pvc-corruption",
    "node-loss",
    "cluster-loss",
    "storage-loss",
];

#[test]
fn every_scenario_plans_provision_install_workload_backup_fault_restore_in_order() {
    for name in SCENARIOS {
        let plan = plan_for(name);
        let cmds = commands(&plan);
        let order = [
            "docker build --file ./chaos/Dockerfile",
            "kind create cluster",
            "docker run --detach",
            "velero install",
            "kind load docker-image",
            "kubectl ",
        ];
        let order = order.map(|p| {
            if p.starts_with("kubectl") {
                format!("{} create --validate=strict", kubectl(name))
            } else {
                p.to_owned()
            }
        });
        let positions: Vec<usize> = order.iter().map(|p| position(&cmds, p)).collect();
        assert!(positions.is_sorted(), "{name}: {positions:?}");
        let restore = plan
            .steps
            .iter()
            .position(|s| matches!(&s.action, Action::Apply { manifest, .. } if manifest.contains("kind: Restore")))
            .unwrap();
        let schedule = plan
            .steps
            .iter()
            .position(|s| matches!(&s.action, Action::Apply { manifest, .. } if manifest.contains("kind: Schedule")))
            .unwrap();
        assert!(schedule < restore, "{name}");
        let phases: Vec<_> = plan.steps.iter().map(|s| s.phase).collect();
        assert!(phases.is_sorted(), "{name}: steps out of phase order");
        assert_eq!(phases.first(), Some(&Phase::Provision));
        assert_eq!(phases.last(), Some(&Phase::Teardown));
    }
}

#[test]
fn every_kubectl_and_velero_command_names_the_run_s_own_context() {
    for name in SCENARIOS {
        for cmd in commands(&plan_for(name)) {
            if cmd.starts_with("kubectl") {
                assert!(cmd.starts_with(&format!("{} ", kubectl(name))), "{cmd}");
            }
            if cmd.starts_with("velero") && cmd != "velero version --client-only" {
                assert!(
                    cmd.contains(&format!(
                        "--kubeconfig out/chaos/{name}/kubeconfig --kubecontext kind-backstop-{name}-0000002a"
                    )),
                    "{cmd}"
                );
            }
        }
    }
}

#[test]
fn each_fault_strikes_with_its_own_command() {
    let cases = [
        (
            "namespace-loss",
            "kubectl --kubeconfig out/chaos/namespace-loss/kubeconfig --context kind-backstop-namespace-loss-0000002a delete namespace backstop-chaos",
        ),
        (
            "pvc-corruption",
            "kubectl --kubeconfig out/chaos/pvc-corruption/kubeconfig --context kind-backstop-pvc-corruption-0000002a --namespace backstop-chaos scale statefulset/ledger --replicas=0",
        ),
        ("node-loss", "docker stop <container>"),
        (
            "cluster-loss",
            "kind delete cluster --name backstop-cluster-loss-0000002a --kubeconfig out/chaos/cluster-loss/kubeconfig",
        ),
        (
            "storage-loss",
            "kubectl --kubeconfig out/chaos/storage-loss/kubeconfig --context kind-backstop-storage-loss-0000002a delete namespace backstop-chaos",
        ),
    ];
    for (name, command) in cases {
        let plan = plan_for(name);
        let fault_cmds: Vec<String> = plan
            .steps
            .iter()
            .filter(|s| s.phase == Phase::Fault)
            .filter_map(|s| match &s.action {
                Action::Run(argv) => Some(shell_line(argv)),
                _ => None,
            })
            .collect();
        assert!(
            fault_cmds.iter().any(|c| c.starts_with(command)),
            "{name}: {fault_cmds:#?}"
        );
    }
}

#[test]
fn cluster_loss_rebuilds_and_reinstalls_velero_on_the_same_bucket_before_restoring() {
    let plan = plan_for("cluster-loss");
    let creates: Vec<&Step> = plan
        .steps
        .iter()
        .filter(|s| matches!(&s.action, Action::Run(a) if a.starts_with(&["kind".into(), "create".into()])))
        .collect();
    assert_eq!(creates.len(), 2);
    assert_eq!(creates[1].phase, Phase::RestoreStart);
    let installs: Vec<&Step> = plan
        .steps
        .iter()
        .filter(|s| matches!(&s.action, Action::Run(a) if a.starts_with(&["velero".into(), "install".into()])))
        .collect();
    assert_eq!(installs.len(), 2);
    assert_eq!(installs[0].action, installs[1].action);
}

#[test]
fn every_object_the_run_creates_is_shown_in_full() {
    let text = render(&plan_for("pvc-corruption"));
    for kind in [
        "kind: Namespace",
        "kind: Service",
        "kind: StatefulSet",
        "kind: Schedule",
        "kind: Job",
        "kind: Restore",
        "kind: DownloadRequest",
    ] {
        assert!(text.contains(kind), "missing {kind}");
    }
    // The workload as created: in the run's namespace, labelled, with the manifest's fields.
    for line in [
        "namespace: backstop-chaos",
        "backstop.io/chaos-run: backstop-pvc-corruption-0000002a",
        "volumeType: local",
        "backup.velero.io/backup-volumes: data",
    ] {
        assert!(text.contains(line), "missing {line:?}");
    }
}

#[test]
fn the_pvc_corruption_plan_renders_as_committed() {
    insta::assert_snapshot!(render(&plan_for("pvc-corruption")));
}

#[test]
fn shell_lines_quote_only_what_needs_it() {
    let argv: Vec<String> = [
        "echo",
        "plain-arg",
        "two words",
        "it's",
        "<node>",
        "of=<pv path>/x",
        "a<b",
        "{.x}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(
        shell_line(&argv),
        r"echo plain-arg 'two words' 'it'\''s' <node> of=<pv path>/x 'a<b' '{.x}'"
    );
}

#[test]
fn keep_leaves_the_cluster_and_the_store_behind() {
    let kept = commands(&plan_with("pvc-corruption", true));
    assert!(
        !kept.iter().any(|c| c.starts_with("kind delete cluster")),
        "{kept:#?}"
    );
    assert!(
        !kept.iter().any(|c| c.starts_with("docker rm")),
        "{kept:#?}"
    );
    let full = commands(&plan_for("pvc-corruption"));
    assert!(full.iter().any(|c| c.starts_with("kind delete cluster")));
    assert!(full.iter().any(|c| c.starts_with("docker rm")));
}

fn plan_of(scenario: &scenario::Scenario, name: &str) -> Plan {
    let ctx = Context {
        scenario_file: PathBuf::from(format!("fixtures/scenarios/{name}.yaml")),
        seed: 42,
        workdir: PathBuf::from(format!("out/chaos/{name}")),
        workloads: Vec::new(),
        keep: false,
        cluster: crate::cluster::Cluster::Kind {
            name: run_id(scenario, 42),
        },
        image: crate::workload::LedgerImage::Build {
            context: PathBuf::from("."),
        },
    };
    build(scenario, &ctx)
}

fn titles_and_actions(plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .map(|s| {
            let action = match &s.action {
                Action::Run(argv) => shell_line(argv),
                Action::Apply { command, manifest } => {
                    format!("{}\n{manifest}", shell_line(command))
                }
                Action::Wait(what) | Action::Harness(what) => what.clone(),
                Action::WriteFile { path, .. } => path.display().to_string(),
            };
            format!("{}: {} | {action}", s.phase, s.title)
        })
        .collect()
}

fn index_of(lines: &[String], needle: &str) -> usize {
    lines
        .iter()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no step with {needle:?}:\n{}", lines.join("\n")))
}

#[test]
fn node_loss_stops_the_container_sees_it_dead_and_clears_the_dead_node_before_the_namespace() {
    let lines = titles_and_actions(&plan_for("node-loss"));
    let order = [
        "--output=jsonpath={.spec.nodeName}",
        "--output=jsonpath={.spec.providerID}",
        "docker stop <container>",
        "Ready condition turns Unknown",
        "delete pod/ledger-0 --grace-period=0 --force",
        "delete pvc/data-ledger-0",
        "delete pv/<pv>",
        "delete namespace backstop-chaos --wait=true",
    ];
    let at: Vec<usize> = order.iter().map(|n| index_of(&lines, n)).collect();
    assert!(at.is_sorted(), "{at:?}\n{}", lines.join("\n"));
    assert!(lines[at[3]].starts_with("detect:"), "{}", lines[at[3]]);
}

#[test]
fn deleting_the_newest_backup_goes_through_the_harness_s_s3_client_and_tries_its_restore() {
    let lines = titles_and_actions(&plan_for("storage-loss"));
    let delete = index_of(
        &lines,
        "DELETE each object under s3://backstop/backups/<newest backup>/",
    );
    let trial = index_of(&lines, "backupName: <newest backup>");
    let fallback = index_of(&lines, "Fall back to the newest backup still whole");
    assert!(delete < trial && trial < fallback, "{}", lines.join("\n"));
    assert!(lines[delete].starts_with("fault:"));
    assert!(
        lines[trial].contains("--validate=strict"),
        "{}",
        lines[trial]
    );
    assert!(
        !lines.iter().any(|l| l.contains("mc rm")),
        "no MinIO client inside the container: {}",
        lines.join("\n")
    );
}

#[test]
fn corrupting_the_repository_names_the_engine_s_data_objects() {
    let file = fixtures().join("scenarios/storage-loss.yaml");
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("mode: delete-newest-backup", "mode: corrupt-repository");
    for (engine, objects) in [
        (
            "kopia",
            "every pack blob p* under s3://backstop/kopia/backstop-chaos/",
        ),
        (
            "restic",
            "every file under data/ under s3://backstop/restic/backstop-chaos/",
        ),
    ] {
        let text = text.replace("fsBackup: kopia", &format!("fsBackup: {engine}"));
        let s = scenario::parse(&file, &text).unwrap();
        let lines = titles_and_actions(&plan_of(&s, "storage-loss"));
        let at = index_of(&lines, objects);
        assert!(lines[at].starts_with("fault:"), "{}", lines[at]);
        index_of(&lines, "Judge the restore of the corrupted data");
    }
}
