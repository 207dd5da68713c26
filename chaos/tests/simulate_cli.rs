//! `backstop-chaos simulate` as a user runs it, on the platform's manifests and policy.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use serde_json::Value;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn simulate(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_backstop-chaos"))
        .current_dir(ROOT)
        .arg("simulate")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_platform_critical_tier_breaches_three_quarters_of_the_time_on_an_hourly_schedule() {
    let output = simulate(&[
        "--policy",
        "fixtures/policy/platform.yaml",
        "--manifests",
        "fixtures/platform",
        "--samples",
        "50000",
        "--output",
        "json",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let critical = report["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|tier| tier["tier"] == "critical")
        .unwrap();
    assert_eq!(critical["objects"], 4);
    // Hourly against 15 min: breached from 15 min after each backup to the next, 45 of 60 min.
    let fraction = critical["breachFraction"].as_f64().unwrap();
    assert!((0.73..=0.77).contains(&fraction), "{fraction}");
    // The worst case is audit's: 1 h plus at most the 1-minute tick.
    let max = critical["rpo"]["maxSeconds"].as_f64().unwrap();
    assert!((3600.0..=3660.0).contains(&max), "{max}");
}

#[test]
fn the_same_seed_prints_the_same_report() {
    let args = [
        "--policy",
        "fixtures/policy/platform.yaml",
        "--manifests",
        "fixtures/platform",
        "--samples",
        "2000",
        "--seed",
        "42",
        "--output",
        "json",
    ];
    assert_eq!(simulate(&args).stdout, simulate(&args).stdout);
}

#[test]
fn sources_and_duration_flags_exclude_each_other() {
    for args in [
        &["--policy", "p.yaml"][..],
        &["--policy", "p.yaml", "--manifests", "m", "--context", "c"],
        &[
            "--policy",
            "p.yaml",
            "--manifests",
            "m",
            "--backup-duration",
            "5m",
            "--durations-from-cluster",
        ],
    ] {
        let output = simulate(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn a_missing_policy_file_is_bad_input() {
    let output = simulate(&[
        "--policy",
        "no/such/policy.yaml",
        "--manifests",
        "fixtures/platform",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no/such/policy.yaml"));
}

#[test]
fn markdown_and_table_name_every_object() {
    for format in ["table", "markdown"] {
        let output = simulate(&[
            "--policy",
            "fixtures/policy/platform.yaml",
            "--manifests",
            "fixtures/platform",
            "--samples",
            "1000",
            "--output",
            format,
        ]);
        let text = String::from_utf8(output.stdout).unwrap();
        for subject in [
            "Namespace data-platform",
            "PersistentVolumeClaim kubeflow/pipeline-artifacts-2024",
        ] {
            assert!(
                text.contains(subject),
                "{format}: {subject} missing:\n{text}"
            );
        }
    }
}
