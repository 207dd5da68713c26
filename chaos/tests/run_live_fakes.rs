//! The live run's real code end to end against a fake outside world (`support/fake_cluster.rs`:
//! a stateful mocked API server answering in captured shapes, fake kind/docker/velero/kubectl
//! recording their argv, moto standing in for MinIO): in process through the engine, and as
//! the `backstop-chaos` binary a user runs. Scenarios strike 2 s after steady writes
//! (`fixtures/chaos/run/scenarios/`), so a whole run takes seconds.
//!
//! The recorded argv are checked against the flags the real CLIs define: kind's
//! `pkg/cmd/kind/{create,delete}/cluster/*.go` and `pkg/cmd/kind/load/docker-image/docker-image.go`,
//! Velero's `pkg/cmd/cli/install/install.go` (`BindFlags`, the same in v1.14 to v1.17) and its
//! root flags in `pkg/client/factory.go`.
#![allow(clippy::unwrap_used)]

#[path = "support/apiserver.rs"]
mod apiserver;
#[path = "support/fake_cluster.rs"]
mod fake_cluster;
#[path = "support/fake_tools.rs"]
mod fake_tools;
#[path = "support/live_run.rs"]
mod live_run;
#[path = "support/moto.rs"]
mod moto;
#[path = "support/schema.rs"]
mod schema;
#[path = "support/velero_store.rs"]
mod velero_store;

use std::time::Duration;

use backstop_chaos::timeline::Phase;
use backstop_chaos::verdict::Verdict;
use fake_cluster::FakeCluster;
use live_run::{invocation, repo, run_in_process, scenario_file};

/// Flags of `kind create cluster` (createcluster.go), `kind delete cluster`
/// (deletecluster.go) and `kind load docker-image` (docker-image.go).
const KIND_CREATE_FLAGS: &[&str] = &[
    "--name",
    "--config",
    "--image",
    "--retain",
    "--wait",
    "--kubeconfig",
];
const KIND_DELETE_FLAGS: &[&str] = &["--name", "--kubeconfig"];
const KIND_LOAD_FLAGS: &[&str] = &["--name", "--nodes"];
/// Flags of `velero install` the run may use, as `BindFlags` defines them, and the root
/// command's (factory.go).
const VELERO_INSTALL_FLAGS: &[&str] = &[
    "--provider",
    "--plugins",
    "--bucket",
    "--secret-file",
    "--backup-location-config",
    "--use-volume-snapshots",
    "--use-node-agent",
    "--uploader-type",
    "--wait",
    "--image",
    "--kubeconfig",
    "--kubecontext",
    "--namespace",
];

/// Every `--flag` of `argv` (a `--flag=value` counts as `--flag`) is one of `known`, and every
/// flag that takes a value has one.
fn only_known_flags(argv: &[String], known: &[&str]) {
    for arg in argv.iter().filter(|a| a.starts_with("--")) {
        let flag = arg.split('=').next().unwrap();
        assert!(
            known.contains(&flag),
            "{flag} is not a flag of `{}`",
            argv[..3].join(" ")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_loss_run_on_kind_passes_end_to_end_against_the_fake_world() {
    let ran = run_in_process("namespace-loss").await;
    let result = &ran.result;
    assert_eq!(result.verdict, Verdict::Pass, "{:#?}", result.checks);
    let phases: Vec<Phase> = result.phases.iter().map(|p| p.phase).collect();
    let without_reprovision: Vec<Phase> = Phase::ALL
        .into_iter()
        .filter(|p| *p != Phase::Reprovision)
        .collect();
    assert_eq!(
        phases, without_reprovision,
        "reprovision is cluster-loss's alone"
    );
    assert_eq!(
        result.versions.kubernetes, "v1.36.2",
        "capture 00's gitVersion"
    );
    assert_eq!(result.versions.velero, "v1.16.2", "the CLI's own server");
    assert_eq!(result.versions.kind, "kind v0.29.0 go1.24.2 linux/amd64");
    let restore = result.restore.as_ref().unwrap();
    assert_eq!(
        restore.backup,
        "backstop-namespace-loss-0000002a-20261203121600"
    );
    assert_eq!(
        restore.warnings,
        [
            "namespace backstop-chaos: could not restore, ConfigMap \"kube-root-ca.crt\" already exists. Warning: the in-cluster version is different than the backed-up version"
        ],
        "the restore's own words, from its results file"
    );
    // Every record the backup held came back and verifies.
    let backed_up = ran.cluster.state.lock().unwrap().backup.unwrap();
    assert_eq!(result.ledger.newest_valid_seq, Some(backed_up));

    let calls = ran.tools.invocations();
    let create = invocation(&calls, &["kind", "create", "cluster"]);
    only_known_flags(create, KIND_CREATE_FLAGS);
    let kubeconfig = ran.out.path().join("kubeconfig").display().to_string();
    assert!(
        create
            .windows(2)
            .any(|w| w == ["--kubeconfig", kubeconfig.as_str()])
    );
    only_known_flags(
        invocation(&calls, &["kind", "delete", "cluster"]),
        KIND_DELETE_FLAGS,
    );
    let load = invocation(&calls, &["kind", "load", "docker-image"]);
    only_known_flags(load, KIND_LOAD_FLAGS);
    assert_eq!(load[3], "backstop-chaos:dev");
    let install = invocation(&calls, &["velero", "install"]);
    only_known_flags(install, VELERO_INSTALL_FLAGS);
    let config = &install[install
        .iter()
        .position(|a| a == "--backup-location-config")
        .unwrap()
        + 1];
    assert_eq!(
        config,
        &format!(
            "region=us-east-1,s3ForcePathStyle=true,s3Url=http://172.18.0.5:9000,publicUrl=http://127.0.0.1:{}",
            ran.moto.port
        ),
        "Velero reaches MinIO on kind's network; download URLs are signed for the harness's side"
    );
    assert!(install.contains(&"--use-node-agent".to_owned()));
    invocation(&calls, &["docker", "rm", "--force", "--volumes"]);

    // Velero's credentials file is the harness's, readable by its user only.
    let secret = ran.out.path().join("credentials-velero");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let log = std::fs::read_to_string(ran.out.path().join("commands.log")).unwrap();
    let secret_key = std::fs::read_to_string(&secret).unwrap();
    let secret_key = secret_key
        .lines()
        .last()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap();
    assert!(!log.contains(secret_key), "no secret in commands.log");

    // Every create is strict, and every Velero object sent validates against its CRD.
    for request in ran
        .cluster
        .server
        .requests()
        .iter()
        .filter(|r| r.starts_with("POST "))
    {
        assert!(request.contains("fieldValidation=Strict"), "{request}");
    }
    for (request, body) in ran.cluster.posted() {
        if request.contains("/apis/velero.io/") {
            let violations = schema::velero_violations(&body);
            assert!(violations.is_empty(), "{request}: {violations:?}\n{body}");
        }
    }
    for name in [
        "result.json",
        "report.md",
        "junit.xml",
        "report.html",
        "ground-truth.jsonl",
        "backup.json",
        "kind.yaml",
    ] {
        assert!(ran.out.path().join(name).is_file(), "{name} missing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pvc_corruption_run_overwrites_the_ledger_through_a_job_and_restores_it_whole() {
    let ran = run_in_process("pvc-corruption").await;
    let result = &ran.result;
    assert_eq!(result.verdict, Verdict::Pass, "{:#?}", result.checks);
    let state = ran.cluster.state.lock().unwrap();
    let (offset, bytes, written) = state.corrupted.unwrap();
    assert_eq!(bytes, 4096);
    assert!(
        offset + bytes + 84 <= written * 84,
        "the damage lies inside the records written, with an intact one after it"
    );
    assert_eq!(
        offset,
        backstop_chaos::fault::corruption::offset(
            42,
            result.ledger.acknowledged_before_fault.unwrap(),
            4096
        )
        .unwrap()
    );
    let requests = ran.cluster.server.requests();
    let at = |needle: &str| {
        requests
            .iter()
            .position(|r| r.contains(needle))
            .unwrap_or_else(|| panic!("no {needle}: {requests:#?}"))
    };
    assert!(
        at("PATCH /apis/apps/v1/namespaces/backstop-chaos/statefulsets/ledger")
            < at("POST /apis/batch/v1/namespaces/backstop-chaos/jobs")
    );
    assert!(at("POST /apis/batch/v1") < at("DELETE /api/v1/namespaces/backstop-chaos?"));
    assert!(
        at("DELETE /api/v1/namespaces/backstop-chaos?")
            < at("POST /apis/velero.io/v1/namespaces/velero/restores")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_velero_cli_of_another_minor_version_stops_the_run_at_install_and_everything_is_removed()
{
    let moto = moto::start_as_minio().await;
    let cluster = FakeCluster::start().await;
    let tools = cluster.tools(moto.port, "v1.17.0");
    let out = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_backstop-chaos"))
        .args([
            "run",
            "--scenario",
            &scenario_file("namespace-loss").display().to_string(),
            "--workloads",
            &repo().join("fixtures/workloads").display().to_string(),
            "--seed",
            "42",
            "--ledger-image",
            "backstop-chaos:dev",
            "--out",
            &out.path().display().to_string(),
        ])
        .env("PATH", tools.path())
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), output)
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("install the v1.16 CLI"), "{stderr}");
    let calls = tools.invocations();
    assert!(
        !calls.iter().any(|c| c[..2] == ["velero", "install"]),
        "nothing installed"
    );
    invocation(&calls, &["kind", "delete", "cluster"]);
    invocation(&calls, &["docker", "rm", "--force", "--volumes"]);
    // diagnostics/: one file per capture, and the index of how each command ended.
    let index = std::fs::read_to_string(out.path().join("diagnostics/index.txt")).unwrap();
    assert!(
        index.contains("pods.txt\tok\tkubectl --kubeconfig"),
        "{index}"
    );
    let pods = std::fs::read_to_string(out.path().join("diagnostics/pods.txt")).unwrap();
    assert!(
        pods.contains("describe pods --namespace backstop-chaos"),
        "{pods}"
    );
    let result = backstop_chaos::result::load(&out.path().join("result.json")).unwrap();
    assert_eq!(result.verdict, Verdict::Fail);
    let phases: Vec<Phase> = result.phases.iter().map(|p| p.phase).collect();
    assert_eq!(phases, [Phase::Provision, Phase::Teardown]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_runs_namespace_loss_end_to_end_and_exits_0() {
    let moto = moto::start_as_minio().await;
    let cluster = FakeCluster::start().await;
    let tools = cluster.tools(moto.port, "v1.16.2");
    let out = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let binary = env!("CARGO_BIN_EXE_backstop-chaos");
    let args = [
        "run",
        "--scenario",
        &scenario_file("namespace-loss").display().to_string(),
        "--workloads",
        &repo().join("fixtures/workloads").display().to_string(),
        "--seed",
        "42",
        "--ledger-image",
        "backstop-chaos:dev",
        "--out",
        &out.path().display().to_string(),
    ]
    .map(str::to_owned);
    let path = tools.path();
    let child = tokio::process::Command::new(binary)
        .args(&args)
        .env("PATH", &path)
        .env("HOME", home.path())
        .env_remove("KUBECONFIG")
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), child)
        .await
        .expect("the run ended")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("verdict pass"), "{stderr}");
    for phase in [
        "provision",
        "install",
        "steady",
        "backups",
        "fault",
        "restore-complete",
        "data-verified",
        "teardown",
    ] {
        assert!(
            stderr.contains(&format!("[{phase} ")),
            "no progress line for {phase}: {stderr}"
        );
    }
    let result = backstop_chaos::result::load(&out.path().join("result.json")).unwrap();
    assert_eq!(result.verdict, Verdict::Pass);
    assert!(
        !home.path().join(".kube").exists(),
        "the user's kubeconfig is never written"
    );
    let log = std::fs::read_to_string(out.path().join("commands.log")).unwrap();
    let commands: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        commands
            .iter()
            .all(|c| c["exitStatus"] == 0 && c["durationMs"].is_u64()),
        "{log}"
    );
    assert!(
        commands.iter().any(|c| c["argv"][1] == "install"),
        "velero install is logged"
    );
}
