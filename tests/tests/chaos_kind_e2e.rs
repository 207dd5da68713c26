//! End to end on real kind: `backstop-chaos run` of the shipped `namespace-loss` and
//! `node-loss` scenarios, from this repository (the ledger image is built from
//! `chaos/Dockerfile`), as a user runs it. It needs a working Docker and `kind`, `velero` (of
//! the scenarios' minor version) and `kubectl` on PATH, and about half an hour a scenario;
//! without them it prints why it skips (CI has no Docker; `ci/nightly-chaos.yml` runs the
//! scenarios there).

use std::path::{Path, PathBuf};
use std::process::Command;

use backstop_chaos::cli::Cli;
use backstop_chaos::command::{Outcome, execute};
use clap::Parser;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scenario(name: &str) -> PathBuf {
    repo().join(format!("fixtures/scenarios/{name}.yaml"))
}

/// What this machine lacks for the run, in words; `None` when it has everything.
fn missing(name: &str) -> Option<String> {
    match Command::new("docker").arg("info").output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            let why = String::from_utf8_lossy(&o.stderr);
            return Some(format!("`docker info` fails: {}", why.trim()));
        }
        Err(e) => return Some(format!("no docker: {e}")),
    }
    for tool in ["kind", "kubectl"] {
        if let Err(e) = Command::new(tool).arg("--help").output() {
            return Some(format!("no {tool}: {e}"));
        }
    }
    let velero = match Command::new("velero")
        .args(["version", "--client-only"])
        .output()
    {
        Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
        Err(e) => return Some(format!("no velero: {e}")),
    };
    let wanted = backstop_chaos::scenario::load(&scenario(name))
        .map(|s| s.velero.version)
        .unwrap_or_default();
    let cli = backstop_chaos::velero::install::parse_client_version(&velero).unwrap_or_default();
    if !cli.starts_with(&format!("{wanted}.")) && cli != wanted {
        return Some(format!(
            "the velero CLI is {cli:?}, the scenario needs Velero {wanted}"
        ));
    }
    None
}

/// Runs the shipped scenario `name` as a user would, or prints why this machine cannot.
fn run_on_kind(name: &str) -> Option<(backstop_chaos::result::RunResult, tempfile::TempDir)> {
    if let Some(why) = missing(name) {
        eprintln!("skipping the kind end-to-end run of {name}: {why}");
        return None;
    }
    let out = tempfile::tempdir().expect("a run directory");
    let args = [
        "backstop-chaos".to_owned(),
        "run".into(),
        "--scenario".into(),
        scenario(name).display().to_string(),
        "--build-context".into(),
        repo().display().to_string(),
        "--out".into(),
        out.path().display().to_string(),
    ];
    let cli = Cli::try_parse_from(args).expect("the command line parses");
    let outcome = execute(cli);
    let result = backstop_chaos::result::load(&out.path().join("result.json"));
    assert!(
        matches!(outcome, Ok(Outcome::Pass)),
        "the {name} run did not pass: {outcome:?}; result: {result:?}; files in {}",
        out.keep().display()
    );
    let result = result.expect("result.json");
    assert!(result.rto.is_some(), "RTO measured");
    assert!(result.rpo.ms.is_some(), "RPO measured");
    assert!(out.path().join("ground-truth.jsonl").is_file());
    assert!(out.path().join("commands.log").is_file());
    Some((result, out))
}

#[test]
fn namespace_loss_runs_end_to_end_on_kind() {
    run_on_kind("namespace-loss");
}

#[test]
fn node_loss_runs_end_to_end_on_kind_and_restores_onto_a_surviving_worker() {
    let Some((result, _out)) = run_on_kind("node-loss") else {
        return;
    };
    let node = result
        .fault
        .and_then(|f| f.node)
        .expect("the fault section names the node");
    let restored_on = node.restored_on.expect("where the restored pod runs");
    assert_ne!(restored_on, node.node, "not on the stopped node");
    assert!(
        result
            .phases
            .iter()
            .any(|p| p.phase == backstop_chaos::timeline::Phase::Detect),
        "detection is its own phase"
    );
}
