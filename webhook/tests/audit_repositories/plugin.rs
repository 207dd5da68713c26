//! `kubectl backstop`: kubectl runs `kubectl-backstop` from PATH as a plugin; it takes audit's
//! flags. (Its default, the cluster of the current context, is tested against the mock API
//! server in `tests/audit_cluster.rs`.)

use std::process::Command;

use crate::*;

fn plugin(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kubectl-backstop"))
        .current_dir(repo())
        .args(args)
        .output()
        .expect("the plugin runs")
}

#[test]
fn kubectl_backstop_takes_audits_flags_and_gives_the_same_report() {
    let args = [
        "--policy",
        POLICY,
        "--manifests",
        "fixtures/platform",
        "--output",
        "json",
    ];
    let from_plugin = plugin(&args);
    let from_audit = audit(&args);
    assert_eq!(from_plugin.status.code(), Some(1));
    assert_eq!(from_plugin.status.code(), from_audit.status.code());
    assert_eq!(stdout(&from_plugin), stdout(&from_audit));
}

#[test]
fn kubectl_backstop_help_names_itself_as_kubectl_does() {
    let help = plugin(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let text = stdout(&help);
    assert!(
        text.contains("Usage: kubectl backstop [OPTIONS] --policy <FILE>"),
        "{text}"
    );
    assert!(text.contains("current kubeconfig context"), "{text}");
}

#[test]
fn kubectl_backstop_errors_name_the_plugin() {
    let output = plugin(&[
        "--policy",
        "/nonexistent/policy.yaml",
        "--manifests",
        "fixtures/platform",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).starts_with("kubectl backstop: /nonexistent/policy.yaml:"),
        "{}",
        stderr(&output)
    );
}
