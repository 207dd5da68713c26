//! The binary as CI and people use it: commands, output and exit codes
//! (0 pass, 1 failed verdict, 2 bad input, 3 infrastructure failure).

#![allow(clippy::unwrap_used)] // test helpers, outside #[test] functions, may unwrap

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn chaos(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_backstop-chaos"))
        .args(args)
        .current_dir(repo())
        .env_remove("BACKSTOP_CHAOS_SEED")
        .env_remove("BACKSTOP_CHAOS_WORKDIR")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn every_shipped_scenario_plans_without_docker_kind_or_velero() {
    for name in [
        "namespace-loss",
        "pvc-corruption",
        "node-loss",
        "cluster-loss",
        "storage-loss",
    ] {
        let file = format!("fixtures/scenarios/{name}.yaml");
        let o = Command::new(env!("CARGO_BIN_EXE_backstop-chaos"))
            .args(["run", "--plan", "--seed", "1", "--scenario", &file])
            .current_dir(repo())
            .env("PATH", "/nonexistent")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        let plan = stdout(&o);
        assert!(
            plan.starts_with(&format!("Plan for scenario {name} ")),
            "{name}"
        );
        for expected in [
            "$ kind create cluster",
            "$ docker run --detach",
            "$ velero install",
            "kind: Schedule",
            "kind: StatefulSet",
            "kind: Restore",
        ] {
            assert!(plan.contains(expected), "{name}: no {expected:?}");
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_plan() {
    let args = [
        "run",
        "--plan",
        "--seed",
        "99",
        "--scenario",
        "fixtures/scenarios/pvc-corruption.yaml",
    ];
    assert_eq!(stdout(&chaos(&args)), stdout(&chaos(&args)));
}

#[test]
fn a_live_run_without_docker_says_how_to_install_it_and_exits_3_before_touching_anything() {
    let bin = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let workdir = out.path().join("run");
    let o = Command::new(env!("CARGO_BIN_EXE_backstop-chaos"))
        .args([
            "run",
            "--scenario",
            "fixtures/scenarios/namespace-loss.yaml",
            "--out",
        ])
        .arg(&workdir)
        .current_dir(repo())
        .env("PATH", bin.path())
        .env_remove("BACKSTOP_CHAOS_SEED")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    let text = stderr(&o);
    assert!(text.contains("`docker` was not found on PATH"), "{text}");
    assert!(text.contains("docs.docker.com"), "{text}");
    assert!(
        !workdir.exists(),
        "the run directory was created before the tools were checked"
    );
}

#[test]
fn a_context_for_a_kind_scenario_is_refused_as_bad_input() {
    let o = chaos(&[
        "run",
        "--scenario",
        "fixtures/scenarios/namespace-loss.yaml",
        "--context",
        "prod",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--context"), "{}", stderr(&o));
}

#[test]
fn an_invalid_scenario_exits_2_naming_the_file_and_the_field() {
    let o = chaos(&[
        "run",
        "--plan",
        "--scenario",
        "fixtures/chaos/invalid-scenarios/fault-with-unknown-key.yaml",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("fixtures/chaos/invalid-scenarios/fault-with-unknown-key.yaml: fault.strikeAt: unknown field `strikeAt`"),
        "{err}"
    );
}

#[test]
fn a_scenario_naming_a_missing_workload_manifest_exits_2() {
    let o = chaos(&[
        "run",
        "--plan",
        "--scenario",
        "fixtures/chaos/invalid-scenarios/workload-without-manifest.yaml",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("postgres.yaml"), "{}", stderr(&o));
}

#[test]
fn report_exits_with_the_result_s_verdict() {
    for (result, code) in [
        ("pass-with-torn-tail", 0),
        ("wall-clock-step", 0),
        ("partially-failed-restore", 1),
        ("corrupted-chain", 1),
        ("no-surviving-record", 1),
    ] {
        let file = format!("fixtures/chaos/results/{result}.json");
        for format in ["markdown", "junit", "html"] {
            let o = chaos(&["report", &file, "--format", format]);
            assert_eq!(
                o.status.code(),
                Some(code),
                "{result} {format}: {}",
                stderr(&o)
            );
            assert!(!o.stdout.is_empty(), "{result} {format}");
        }
    }
}

#[test]
fn report_writes_to_the_out_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.html");
    let o = Command::new(env!("CARGO_BIN_EXE_backstop-chaos"))
        .args(["report", "fixtures/chaos/results/pass-with-torn-tail.json"])
        .args(["--format", "html", "--out"])
        .arg(&out)
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
    let html = std::fs::read_to_string(out).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg id=\"timeline\""));
}

#[test]
fn report_on_a_missing_or_malformed_result_exits_2() {
    let o = chaos(&[
        "report",
        "fixtures/chaos/results/nope.json",
        "--format",
        "junit",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = chaos(&[
        "report",
        "fixtures/scenarios/namespace-loss.yaml",
        "--format",
        "junit",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("fixtures/scenarios/namespace-loss.yaml: "));
}

#[test]
fn ledger_verify_exits_0_for_an_intact_chain_and_1_for_a_broken_one() {
    for (case, code, broken) in [
        ("clean-restore", 0, None),
        ("torn-tail", 0, None),
        ("corrupted-record", 1, Some(200)),
        ("gap-in-restored-ledger", 1, Some(250)),
    ] {
        let file = format!("fixtures/chaos/{case}/restored.ledger");
        let o = chaos(&["ledger", "verify", &file, "--output", "json"]);
        assert_eq!(o.status.code(), Some(code), "{case}");
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(json["firstBrokenSeq"].as_u64(), broken, "{case}");
        assert!(json.get("records").is_some() && json.get("tornTail").is_some());
    }
}

#[test]
fn ledger_verify_text_names_the_break() {
    let o = chaos(&[
        "ledger",
        "verify",
        "fixtures/chaos/corrupted-record/restored.ledger",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("chain BROKEN at seq 200 (newest valid: seq 199)"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn ledger_verify_of_a_missing_file_exits_2() {
    let o = chaos(&["ledger", "verify", "fixtures/chaos/nope.ledger"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn usage_errors_exit_2_and_help_lists_the_exit_codes() {
    assert_eq!(chaos(&["report"]).status.code(), Some(2));
    assert_eq!(chaos(&["frobnicate"]).status.code(), Some(2));
    let help = chaos(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(stdout(&help).contains("3  infrastructure failure"));
    let help = chaos(&["report", "--help"]);
    assert!(stdout(&help).contains("1  failed verdict"));
}
