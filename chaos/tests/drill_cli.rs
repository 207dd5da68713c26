//! `backstop-chaos drill` and `report` of a drill's result, as the binary: refusals before any
//! cluster is touched (exit 2), the live drill not built yet (exit 3), drill reports (0 / 1).

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
fn the_live_drill_is_not_built_yet_and_says_so_with_exit_3() {
    let o = chaos(&[&DRILL[..], &["--wait", "--cleanup", "--restore-pvs"]].concat());
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("the live drill is not built yet"), "{err}");
    assert!(err.contains("Nothing was touched"), "{err}");
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
