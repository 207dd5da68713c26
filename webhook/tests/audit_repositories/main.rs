//! `audit` on what repositories and clusters really hold: workload controllers as the pods and
//! claims they will run, Helm streams on standard input and rendered kustomizations, findings
//! located at the file, document and line they come from, SARIF and GitHub annotations, the
//! app-consistency warning and the kubectl plugin. The real binaries over the fixtures of
//! `fixtures/workload-controllers/` (one file or folder per behaviour, README there).
//!
//! One test binary, split by concern: [`workloads`], the excluded-volume [`diagnosis`],
//! [`inputs`], [`outputs`], [`consistency`], the [`plugin`], and the [`platform`]'s own repository
//! (`fixtures/platform-repository/`) in every output format.

// Helpers outside `#[test]` functions unwrap too: a failing helper is a failing test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod consistency;
mod diagnosis;
mod inputs;
mod outputs;
mod platform;
mod plugin;
mod workloads;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The standard tier allows 25h, so a daily schedule meets it and a covered claim shows no gap.
pub const POLICY: &str = "fixtures/policy/rules-daily-meets-standard.yaml";
/// The same for a Velero server with `--features=EnableCSI` (claims snapshotted by CSI).
pub const POLICY_CSI: &str = "fixtures/policy/rules-daily-meets-standard-csi.yaml";
pub const FIXTURES: &str = "fixtures/workload-controllers";

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

/// `backstop-webhook audit ARGS`, run from the repository's root.
pub fn audit(args: &[&str]) -> Output {
    audit_with_stdin(args, b"")
}

/// [`audit`] with `stdin` on its standard input.
pub fn audit_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_backstop-webhook"))
        .current_dir(repo())
        .arg("audit")
        .args(args)
        .env_remove("BACKSTOP_MANIFESTS")
        .env_remove("BACKSTOP_KUSTOMIZE")
        .env_remove("BACKSTOP_KUBECTL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the audit binary runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin)
        .expect("the audit reads its standard input");
    child.wait_with_output().expect("the audit binary ends")
}

/// The JSON report of `audit --policy POLICY ARGS --output json`.
pub fn report(args: &[&str]) -> (Output, Value) {
    report_under(POLICY, args)
}

/// The JSON report of `audit --policy policy ARGS --output json`.
pub fn report_under(policy: &str, args: &[&str]) -> (Output, Value) {
    let mut all = vec!["--policy", policy, "--output", "json"];
    all.extend_from_slice(args);
    let output = audit(&all);
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "audit prints JSON ({error}); stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output, report)
}

pub fn object<'a>(report: &'a Value, kind: &str, namespace: &str, name: &str) -> &'a Value {
    report["objects"]
        .as_array()
        .expect("objects is a list")
        .iter()
        .find(|object| {
            object["kind"] == kind && object["namespace"] == namespace && object["name"] == name
        })
        .unwrap_or_else(|| panic!("{kind} {namespace}/{name} is in the report: {report:#}"))
}

pub fn claims(report: &Value) -> Vec<String> {
    report["objects"]
        .as_array()
        .expect("objects is a list")
        .iter()
        .filter(|object| object["kind"] == "PersistentVolumeClaim")
        .map(|object| object["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

pub fn gap_codes(object: &Value) -> Vec<String> {
    object["gaps"]
        .as_array()
        .expect("gaps is a list")
        .iter()
        .map(|gap| gap["code"].as_str().unwrap_or_default().to_string())
        .collect()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}
