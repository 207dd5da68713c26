//! The live run on a cluster the harness did not create (`cluster.provider: existing`), as the
//! `backstop-chaos` binary a user runs, against the fake outside world of
//! `support/fake_cluster.rs` (a mocked API server answering in captured shapes, fake
//! kind/docker/velero/kubectl recording their argv). The run is refused without
//! `--allow-existing-cluster` before anything is touched; allowed, it reads the named context of
//! the user's kubeconfig, uses the Velero installed there, works only in the namespace it
//! creates and labels, and removes what it made and nothing else.
#![allow(clippy::unwrap_used)]

#[path = "support/apiserver.rs"]
mod apiserver;
#[path = "support/ctrl_c.rs"]
mod ctrl_c;
#[path = "support/fake_cluster.rs"]
mod fake_cluster;
#[path = "support/fake_tools.rs"]
mod fake_tools;
#[path = "support/velero_store.rs"]
mod velero_store;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use backstop_chaos::kube::namespace::RUN_LABEL;
use backstop_chaos::verdict::Verdict;
use fake_cluster::FakeCluster;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scenario(after: &str) -> PathBuf {
    repo().join(format!(
        "fixtures/chaos/run/scenarios/namespace-loss-on-existing-after-{after}.yaml"
    ))
}

/// The run's id for seed 42 (`plan::run_id`): the name of its Schedule and Restore, and the
/// value of its label.
const RUN: &str = "backstop-namespace-loss-0000002a";

/// A kubeconfig of the user's with the context `staging` for the fake cluster, and another
/// one current: the run must use the named context and never write the file.
fn user_kubeconfig(dir: &Path, server: std::net::SocketAddr) -> PathBuf {
    let path = dir.join("config");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1
kind: Config
clusters:
- {{name: staging, cluster: {{server: 'http://{server}'}}}}
- {{name: prod, cluster: {{server: 'https://prod.example:6443'}}}}
users: [{{name: me, user: {{}}}}]
contexts:
- {{name: staging, context: {{cluster: staging, user: me}}}}
- {{name: prod, context: {{cluster: prod, user: me}}}}
current-context: prod
"
        ),
    )
    .unwrap();
    path
}

/// `backstop-chaos run` of the existing-cluster scenario striking `after` steady writes, with
/// every flag it needs, on the context `staging` of `kubeconfig`, with the fake tools first on
/// PATH.
fn allowed(
    after: &str,
    tools: &fake_tools::FakeTools,
    kubeconfig: &Path,
    out: &Path,
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_backstop-chaos"));
    command
        .arg("run")
        .arg("--scenario")
        .arg(scenario(after))
        .arg("--workloads")
        .arg(repo().join("fixtures/workloads"))
        .args(["--seed", "42", "--allow-existing-cluster"])
        .args(["--context", "staging"])
        .args(["--ledger-image", "registry.example/backstop-chaos:1"])
        .arg("--out")
        .arg(out)
        .env("PATH", tools.path())
        .env("KUBECONFIG", kubeconfig)
        .kill_on_drop(true);
    command
}

/// The run striking 2 s after steady writes, to its end.
async fn run_allowed(tools: &fake_tools::FakeTools, kubeconfig: &Path, out: &Path) -> Output {
    let output = allowed("2s", tools, kubeconfig, out).output();
    tokio::time::timeout(Duration::from_secs(60), output)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_an_existing_cluster_the_run_uses_its_velero_and_removes_only_what_it_made() {
    let cluster = FakeCluster::start().await;
    let tools = cluster.tools(1, "v1.16.2");
    let out = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = user_kubeconfig(home.path(), cluster.addr);
    let before = std::fs::read(&kubeconfig).unwrap();
    let output = run_allowed(&tools, &kubeconfig, out.path()).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let result = backstop_chaos::result::load(&out.path().join("result.json")).unwrap();
    assert_eq!(result.verdict, Verdict::Pass);
    assert_eq!(
        result.versions.velero, "v1.16.1",
        "the installed server's image tag"
    );
    assert_eq!(result.versions.kind, "none (existing cluster)");
    assert_eq!(
        std::fs::read(&kubeconfig).unwrap(),
        before,
        "the kubeconfig is only read"
    );
    let calls = tools.invocations();
    assert!(
        !calls
            .iter()
            .any(|c| c[0] == "kind" || c[0] == "docker" || c[..2] == ["velero", "install"]),
        "no cluster, store or Velero made: {calls:?}"
    );
    let posted = cluster.posted();
    let body = |resource: &str| {
        posted
            .iter()
            .find(|(r, _)| r.contains(resource))
            .unwrap_or_else(|| panic!("no POST of {resource}"))
            .1
            .clone()
    };
    // The namespace it works in is created by the run and labelled with its id.
    let namespace = body("POST /api/v1/namespaces?");
    assert_eq!(namespace["metadata"]["name"], "backstop-chaos");
    assert_eq!(namespace["metadata"]["labels"][RUN_LABEL], RUN);
    // The workload runs the given image; backups go to the location named.
    assert_eq!(
        body("/statefulsets")["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example/backstop-chaos:1"
    );
    assert_eq!(
        body("/schedules")["spec"]["template"]["storageLocation"],
        "primary"
    );
    // Nothing is created outside the run's namespace but Velero objects of the run.
    for (request, object) in &posted {
        let own = request.starts_with("POST /api/v1/namespaces?")
            || request.contains("/namespaces/backstop-chaos/")
            || request.starts_with("POST /apis/velero.io/v1/namespaces/velero/");
        assert!(own, "{request}");
        if !request.contains("/deletebackuprequests") {
            assert_eq!(object["metadata"]["labels"][RUN_LABEL], RUN, "{request}");
        }
    }
    // Teardown: the Restore, the backups (through Velero), the Schedule, the namespace.
    let requests = cluster.server.requests();
    let sent = |needle: &str| requests.iter().any(|r| r.starts_with(needle));
    assert!(sent(&format!(
        "DELETE /apis/velero.io/v1/namespaces/velero/restores/{RUN}?"
    )));
    assert!(sent(
        "POST /apis/velero.io/v1/namespaces/velero/deletebackuprequests?fieldValidation=Strict"
    ));
    assert!(sent(&format!(
        "DELETE /apis/velero.io/v1/namespaces/velero/schedules/{RUN}?"
    )));
    let namespace_deletes = requests
        .iter()
        .filter(|r| r.starts_with("DELETE /api/v1/namespaces/backstop-chaos?"))
        .count();
    assert_eq!(
        namespace_deletes, 2,
        "deleted by the fault, then by the teardown"
    );
    let deletes: Vec<&String> = requests
        .iter()
        .filter(|r| r.starts_with("DELETE "))
        .collect();
    assert!(
        deletes
            .iter()
            .all(|r| r.contains(RUN) || r.starts_with("DELETE /api/v1/namespaces/backstop-chaos?")),
        "nothing deleted but what the run made: {deletes:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_of_the_run_s_name_already_there_is_refused_and_left_alone() {
    let cluster = FakeCluster::start().await;
    cluster.state.lock().unwrap().namespace_taken = true;
    let tools = cluster.tools(1, "v1.16.2");
    let out = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = user_kubeconfig(home.path(), cluster.addr);
    let output = run_allowed(&tools, &kubeconfig, out.path()).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the namespace backstop-chaos exists already"),
        "{stderr}"
    );
    let requests = cluster.server.requests();
    assert!(
        !requests
            .iter()
            .any(|r| r.starts_with("DELETE ") || r.contains("/namespaces/backstop-chaos/")),
        "nothing in or of the namespace it did not make is touched: {requests:#?}"
    );
    assert!(
        !requests.iter().any(|r| r.contains("/schedules")),
        "no Schedule made"
    );
    let result = backstop_chaos::result::load(&out.path().join("result.json")).unwrap();
    assert_eq!(result.verdict, Verdict::Fail, "a partial result");
    // The diagnostics of the failed run look at Velero, not into the namespace that is not
    // the run's, through the user's kubeconfig and the context given, never the current one.
    let index = std::fs::read_to_string(out.path().join("diagnostics/index.txt")).unwrap();
    assert!(index.contains("velero-pods.txt\tok\t"), "{index}");
    assert!(!index.contains("backstop-chaos"), "{index}");
    let calls: Vec<Vec<String>> = tools
        .invocations()
        .into_iter()
        .filter(|c| c[0] == "kubectl" || c[0] == "velero")
        .collect();
    assert!(!calls.is_empty());
    let kubeconfig = kubeconfig.display().to_string();
    for call in &calls {
        assert!(!call.contains(&"backstop-chaos".to_owned()), "{call:?}");
        assert!(
            call.windows(2)
                .any(|w| w == ["--kubeconfig", kubeconfig.as_str()]),
            "{call:?}"
        );
        assert!(
            call.windows(2)
                .any(|w| w == ["--context", "staging"] || w == ["--kubecontext", "staging"]),
            "{call:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_on_an_existing_cluster_removes_the_run_s_namespace_schedule_and_backups() {
    let cluster = FakeCluster::start().await;
    let tools = cluster.tools(1, "v1.16.2");
    let out = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = user_kubeconfig(home.path(), cluster.addr);
    let child = allowed("1h", &tools, &kubeconfig, out.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (status, stderr) = ctrl_c::during_the_fault_wait(child).await;
    assert_eq!(status.code(), Some(3), "{stderr}");

    let requests = cluster.server.requests();
    let sent = |needle: &str| requests.iter().filter(|r| r.starts_with(needle)).count();
    assert_eq!(
        sent("DELETE /api/v1/namespaces/backstop-chaos?"),
        1,
        "the run's namespace, removed once, by the teardown"
    );
    assert_eq!(
        sent(&format!(
            "DELETE /apis/velero.io/v1/namespaces/velero/schedules/{RUN}?"
        )),
        1
    );
    assert_eq!(
        sent("POST /apis/velero.io/v1/namespaces/velero/deletebackuprequests?"),
        1,
        "the one backup of its Schedule"
    );
    assert_eq!(
        sent("POST /apis/velero.io/v1/namespaces/velero/restores"),
        0
    );
    let result = backstop_chaos::result::load(&out.path().join("result.json")).unwrap();
    assert_eq!(result.verdict, Verdict::Fail);
    assert_eq!(
        result.phases.last().map(|p| p.phase),
        Some(backstop_chaos::timeline::Phase::Teardown)
    );
}

#[test]
fn an_existing_cluster_is_refused_without_the_flag_before_anything_is_touched() {
    let out = tempfile::tempdir().unwrap();
    let workdir = out.path().join("run");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_backstop-chaos"))
        .args(["run", "--scenario"])
        .arg(scenario("2s"))
        .args(["--context", "staging", "--ledger-image", "x:1", "--out"])
        .arg(&workdir)
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--allow-existing-cluster"), "{stderr}");
    assert!(!workdir.exists(), "nothing was written");
}

#[test]
fn an_existing_cluster_needs_a_ledger_image_it_can_pull() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_backstop-chaos"))
        .args(["run", "--scenario"])
        .arg(scenario("2s"))
        .args(["--allow-existing-cluster", "--context", "staging"])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--ledger-image"), "{stderr}");
}
