//! `backstop-chaos drill` and `report` of a drill's result, as the binary: refusals before any
//! cluster is touched (exit 2), no cluster to reach (exit 3), drill reports (0 / 1).

#![allow(clippy::unwrap_used)] // test helpers, outside #[test] functions, may unwrap

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs the binary with a kubeconfig that points at nothing: any attempt to reach a cluster
/// would fail differently from what these tests expect.
fn chaos(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_backstop-chaos"))
        .args(args)
        .current_dir(repo())
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("BACKSTOP_DRILL_OUT")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const DRILL: [&str; 5] = [
    "drill",
    "--schedule",
    "daily",
    "--namespace",
    "data-platform",
];

#[test]
fn restoring_over_the_source_namespace_is_refused_with_exit_2() {
    let o = chaos(
        &[
            &DRILL[..],
            &["--restore-namespace", "data-platform", "--wait"],
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("writes over its live objects"), "{err}");
    assert!(err.contains("--in-place"), "{err}");
}

#[test]
fn cleanup_of_an_in_place_drill_is_refused_with_exit_2() {
    let o = chaos(&[&DRILL[..], &["--in-place", "--wait", "--cleanup"]].concat());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("live namespace data-platform"));
}

#[test]
fn a_check_that_is_not_a_service_path_is_bad_input() {
    let o = chaos(&[&DRILL[..], &["--wait", "--check", "web/../../api"]].concat());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn a_missing_kubeconfig_is_an_infrastructure_failure_naming_it() {
    let o = chaos(&[&DRILL[..], &["--wait", "--cleanup", "--restore-pvs"]].concat());
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("/nonexistent/kubeconfig"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_unreachable_api_server_is_said_plainly_with_exit_3() {
    // A kubeconfig for 127.0.0.1 on a port nobody listens on (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: gone\nclusters:\n- name: gone\n  \
             cluster: {{server: \"http://127.0.0.1:{port}\"}}\ncontexts:\n- name: gone\n  \
             context: {{cluster: gone, user: nobody}}\nusers:\n- name: nobody\n  user: {{}}\n"
        ),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_backstop-chaos"))
        .args([&DRILL[..], &["--wait", "--context", "gone", "--out"]].concat())
        .arg(dir.path().join("out"))
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the Kubernetes API server cannot be reached"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("out").exists());
}

#[test]
fn report_renders_a_drill_result_and_exits_with_its_verdict() {
    let pass = chaos(&[
        "report",
        "fixtures/chaos/drill/results/pass.json",
        "--format",
        "markdown",
    ]);
    assert_eq!(pass.status.code(), Some(0), "{}", stderr(&pass));
    let md = String::from_utf8_lossy(&pass.stdout);
    assert!(md.starts_with("## ✅ Restore drill `daily`"), "{md}");
    for (fixture, format) in [
        ("no-completed-backup", "junit"),
        ("restore-partially-failed", "html"),
        ("pods-never-ready", "markdown"),
    ] {
        let o = chaos(&[
            "report",
            &format!("fixtures/chaos/drill/results/{fixture}.json"),
            "--format",
            format,
        ]);
        assert_eq!(o.status.code(), Some(1), "{fixture}: {}", stderr(&o));
    }
}

#[test]
fn run_results_still_render_as_before() {
    let o = chaos(&[
        "report",
        "fixtures/chaos/results/pass-with-torn-tail.json",
        "--format",
        "markdown",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("## ✅ Chaos run `namespace-loss`"));
}

#[test]
fn the_sample_report_in_the_docs_is_what_the_renderer_makes_of_the_pass_fixture() {
    let rendered = chaos(&[
        "report",
        "fixtures/chaos/drill/results/pass.json",
        "--format",
        "markdown",
    ]);
    assert_eq!(rendered.status.code(), Some(0), "{}", stderr(&rendered));
    let docs = std::fs::read_to_string(repo().join("docs/chaos.md")).unwrap();
    let start = docs.find("````markdown\n").unwrap() + "````markdown\n".len();
    let end = start + docs[start..].find("\n````").unwrap();
    assert_eq!(
        docs[start..end].trim_end(),
        String::from_utf8_lossy(&rendered.stdout).trim_end(),
        "docs/chaos.md's sample drill report is stale: paste the output of `backstop-chaos \
         report fixtures/chaos/drill/results/pass.json --format markdown`"
    );
}

#[test]
fn a_kubeconfig_variable_listing_several_files_is_read_as_kubectl_reads_it() {
    // $KUBECONFIG is a list (`a:b`), not a path: the cluster comes from the first file, the
    // context from the second. The server is unreachable, so reading it all is exit 3 saying
    // so, not a kubeconfig error about a file named "a:b".
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let clusters = dir.path().join("clusters");
    std::fs::write(
        &clusters,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster: {{server: \
             \"http://127.0.0.1:{port}\"}}\nusers:\n- name: nobody\n  user: {{}}\n"
        ),
    )
    .unwrap();
    let contexts = dir.path().join("contexts");
    std::fs::write(
        &contexts,
        "apiVersion: v1\nkind: Config\ncurrent-context: gone\ncontexts:\n- name: gone\n  \
         context: {cluster: gone, user: nobody}\n",
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_backstop-chaos"))
        .args([&DRILL[..], &["--wait", "--out"]].concat())
        .arg(dir.path().join("out"))
        .env(
            "KUBECONFIG",
            format!("{}:{}", clusters.display(), contexts.display()),
        )
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the Kubernetes API server cannot be reached"),
        "{}",
        stderr(&o)
    );
}
