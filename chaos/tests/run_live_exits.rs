//! How a live run ends, as the `backstop-chaos` binary a user runs, against the fake outside
//! world of `support/fake_cluster.rs` (a mocked API server answering in captured shapes, fake
//! kind/docker/velero/kubectl recording their argv, moto standing in for MinIO): a failed
//! verdict exits 1 and a Ctrl-C exits 3, each with diagnostics, everything the run made
//! removed, and `result.json` with its reports written. (A pass exiting 0 is in
//! `run_live_fakes.rs`; refusals exiting 2 in `run_live_existing.rs` and `cli.rs`.)
#![allow(clippy::unwrap_used)]

#[path = "support/apiserver.rs"]
mod apiserver;
#[path = "support/ctrl_c.rs"]
mod ctrl_c;
#[path = "support/fake_cluster.rs"]
mod fake_cluster;
#[path = "support/fake_tools.rs"]
mod fake_tools;
#[path = "support/moto.rs"]
mod moto;
#[path = "support/velero_store.rs"]
mod velero_store;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use backstop_chaos::outcome::RestorePhase;
use backstop_chaos::timeline::Phase;
use backstop_chaos::verdict::Verdict;
use fake_cluster::FakeCluster;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `backstop-chaos run` of `fixtures/chaos/run/scenarios/<scenario>.yaml` with seed 42 and
/// the ledger image given, the fake tools first on PATH, stderr piped.
fn command(scenario: &str, tools: &fake_tools::FakeTools, out: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_backstop-chaos"));
    command
        .arg("run")
        .arg("--scenario")
        .arg(repo().join(format!("fixtures/chaos/run/scenarios/{scenario}.yaml")))
        .arg("--workloads")
        .arg(repo().join("fixtures/workloads"))
        .args(["--seed", "42", "--ledger-image", "backstop-chaos:dev"])
        .arg("--out")
        .arg(out)
        .env("PATH", tools.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// The run's cluster and MinIO container were removed.
fn everything_removed(tools: &fake_tools::FakeTools) {
    let calls = tools.invocations();
    let ran = |first: &[&str]| {
        calls
            .iter()
            .any(|c| c.len() >= first.len() && c[..first.len()] == *first)
    };
    assert!(ran(&["kind", "delete", "cluster"]), "{calls:?}");
    assert!(ran(&["docker", "rm", "--force", "--volumes"]), "{calls:?}");
}

fn reports_written(out: &Path) {
    for name in ["result.json", "report.md", "junit.xml", "report.html"] {
        assert!(out.join(name).is_file(), "{name} missing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partially_failed_restore_exits_1_with_velero_s_errors_diagnostics_and_everything_removed()
 {
    let moto = moto::start_as_minio().await;
    let cluster = FakeCluster::start().await;
    cluster.state.lock().unwrap().restore_phase = Some("PartiallyFailed");
    let tools = cluster.tools(moto.port, "v1.16.2");
    let out = tempfile::tempdir().unwrap();
    let output = command("namespace-loss-after-2s", &tools, out.path()).output();
    let output = tokio::time::timeout(Duration::from_secs(60), output)
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("verdict fail"), "{stderr}");

    let result = backstop_chaos::result::load(&out.path().join("result.json")).unwrap();
    assert_eq!(result.verdict, Verdict::Fail);
    let restore = result.restore.as_ref().unwrap();
    assert_eq!(restore.phase, RestorePhase::PartiallyFailed);
    assert_eq!(
        restore.errors,
        [
            "velero: pod volume restore failed: data path restore failed: Failed to run kopia restore: Unable to load snapshot k5e7b0c8a1f: snapshot not found"
        ],
        "Velero's own words, from the restore's results"
    );
    let failed: Vec<&str> = result
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.name())
        .collect();
    assert_eq!(failed, ["restore-completed"]);
    // The run went on to measure what came back: every phase is there (reprovision is
    // cluster-loss's alone).
    let phases: Vec<Phase> = result.phases.iter().map(|p| p.phase).collect();
    let without_reprovision: Vec<Phase> = Phase::ALL
        .into_iter()
        .filter(|p| *p != Phase::Reprovision)
        .collect();
    assert_eq!(phases, without_reprovision);

    let index = std::fs::read_to_string(out.path().join("diagnostics/index.txt")).unwrap();
    // The workload's pods and the Restore as Velero describes it (`velero restore describe`).
    let run = "backstop-namespace-loss-0000002a";
    for capture in ["pods.txt", &format!("restore-{run}.describe.txt")] {
        assert!(index.contains(&format!("{capture}\tok\t")), "{index}");
    }
    reports_written(out.path());
    everything_removed(&tools);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_while_the_fault_waits_tears_down_writes_a_partial_result_and_exits_3() {
    let moto = moto::start_as_minio().await;
    let cluster = FakeCluster::start().await;
    let tools = cluster.tools(moto.port, "v1.16.2");
    let out = tempfile::tempdir().unwrap();
    let child = command("namespace-loss-after-1h", &tools, out.path())
        .spawn()
        .unwrap();
    let (status, stderr) = ctrl_c::during_the_fault_wait(child).await;
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("Ctrl-C during the fault phase; tearing down"),
        "{stderr}"
    );

    let result = backstop_chaos::result::load(&out.path().join("result.json")).unwrap();
    assert_eq!(result.verdict, Verdict::Fail);
    let phases: Vec<Phase> = result.phases.iter().map(|p| p.phase).collect();
    assert_eq!(
        phases,
        [
            Phase::Provision,
            Phase::Install,
            Phase::Steady,
            Phase::Backups,
            Phase::Teardown
        ],
        "the phases reached, then the teardown"
    );
    assert!(result.restore.is_none(), "no Restore was made");
    assert!(
        std::fs::read_to_string(out.path().join("ground-truth.jsonl"))
            .unwrap()
            .lines()
            .count()
            > 0,
        "the acknowledgements seen before Ctrl-C are kept"
    );
    assert!(out.path().join("diagnostics/index.txt").is_file());
    reports_written(out.path());
    everything_removed(&tools);
}

/// A run of namespace-loss whose kind cluster or MinIO container name (the run's id) is taken
/// by something left standing: exit 2 naming it, and nothing made or removed.
async fn refused_as_left_standing(tools: &fake_tools::FakeTools, left: &str) {
    let out = tempfile::tempdir().unwrap();
    let output = command("namespace-loss-after-2s", tools, out.path()).output();
    let output = tokio::time::timeout(Duration::from_secs(60), output)
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("named {left} exists already")),
        "{stderr}"
    );
    let calls = tools.invocations();
    let lookups_only = calls
        .iter()
        .all(|c| c[..2] == ["kind", "get"] || c[..2] == ["docker", "ps"]);
    assert!(
        lookups_only,
        "only looked; made, removed and diagnosed nothing: {calls:?}"
    );
    assert_eq!(
        std::fs::read_to_string(out.path().join("diagnostics/index.txt")).unwrap(),
        "nothing collected: the run made no cluster\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kind_cluster_of_the_run_s_name_left_standing_is_refused_and_not_deleted() {
    let cluster = FakeCluster::start().await;
    let run = "backstop-namespace-loss-0000002a";
    // `kind get clusters` lists one name a line (kind's pkg/cmd/kind/get/clusters).
    let tools = cluster.tools(1, "v1.16.2").tool(
        "kind",
        &format!("[ \"$1 $2\" = 'get clusters' ] && echo {run}; exit 0"),
    );
    refused_as_left_standing(&tools, run).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minio_container_of_the_run_s_name_left_standing_is_refused_and_not_removed() {
    let cluster = FakeCluster::start().await;
    let container = "backstop-namespace-loss-0000002a-minio";
    let tools = cluster.tools(1, "v1.16.2").tool(
        "docker",
        &format!("[ \"$1\" = ps ] && echo {container}; exit 0"),
    );
    refused_as_left_standing(&tools, container).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_leaves_the_cluster_and_the_store_standing_and_exits_with_the_verdict() {
    let moto = moto::start_as_minio().await;
    let cluster = FakeCluster::start().await;
    let tools = cluster.tools(moto.port, "v1.16.2");
    let out = tempfile::tempdir().unwrap();
    let output = command("namespace-loss-after-2s", &tools, out.path())
        .arg("--keep")
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), output)
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("--keep: the cluster and the store stay"),
        "{stderr}"
    );
    let calls = tools.invocations();
    assert!(
        !calls
            .iter()
            .any(|c| c[..2] == ["kind", "delete"] || c[..2] == ["docker", "rm"]),
        "nothing removed: {calls:?}"
    );
    // The cluster it made: one control plane and the scenario's two workers, of the scenario's
    // Kubernetes version; its kubeconfig stays in the run directory for a look.
    let create = calls
        .iter()
        .find(|c| c.starts_with(&["kind".into(), "create".into(), "cluster".into()]))
        .unwrap();
    assert!(
        create
            .windows(2)
            .any(|w| w == ["--image", "kindest/node:v1.33.1"]),
        "{create:?}"
    );
    assert_eq!(
        std::fs::read_to_string(out.path().join("kind.yaml")).unwrap(),
        "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n  - role: control-plane\n  - role: worker\n  - role: worker\n"
    );
    assert!(out.path().join("kubeconfig").is_file());
    let result = backstop_chaos::result::load(&out.path().join("result.json")).unwrap();
    assert_eq!(result.verdict, Verdict::Pass);
    assert!(
        !result.phases.iter().any(|p| p.phase == Phase::Teardown),
        "no teardown phase"
    );
}
