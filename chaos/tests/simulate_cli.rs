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

fn platform_report(samples: &str) -> Value {
    let output = simulate(&[
        "--policy",
        "fixtures/policy/platform.yaml",
        "--manifests",
        "fixtures/platform",
        "--samples",
        samples,
        "--output",
        "json",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn critical_objects(report: &Value) -> Vec<&Value> {
    report["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|object| object["tier"] == "critical")
        .collect()
}

#[test]
fn the_platform_critical_namespaces_breach_three_quarters_of_the_time_on_an_hourly_schedule() {
    let report = platform_report("20000");
    let namespaces: Vec<&Value> = critical_objects(&report)
        .into_iter()
        .filter(|object| object["kind"] == "Namespace")
        .collect();
    let names: Vec<&str> = namespaces
        .iter()
        .map(|object| object["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["data-platform", "ml-platform", "monitoring", "vault-prod"]
    );
    for namespace in namespaces {
        // Hourly against 15 min: breached from 15 min after each backup to the next, 45 of 60.
        let fraction = namespace["breachFraction"].as_f64().unwrap();
        assert!((0.73..=0.77).contains(&fraction), "{namespace}");
        // The worst case is audit's: 1 h plus at most the 1-minute tick.
        let max = namespace["rpo"]["maxSeconds"].as_f64().unwrap();
        assert!((3600.0..=3660.0).contains(&max), "{namespace}");
        assert_eq!(namespace["noRestorableFraction"], 0.0);
    }
}

/// The tier holds its 4 namespaces and their 4 claims on `local-path` (Rancher's provisioner,
/// hostPath volumes): Velero's file-system backup skips hostPath volumes
/// (`pkg/podvolume/backupper.go`), so audit reports them `volume-not-backed-up`, no schedule
/// covers their data, and at every instant there is nothing to restore it from. The exempt
/// `thanos-compactor-scratch` claim is not protected and not simulated.
#[test]
fn the_platform_critical_claims_on_local_path_are_never_restorable_and_breach_the_tier() {
    let report = platform_report("5000");
    let claims: Vec<&str> = critical_objects(&report)
        .into_iter()
        .filter(|object| object["kind"] == "PersistentVolumeClaim")
        .inspect(|claim| {
            assert_eq!(claim["coveredBy"], serde_json::json!([]), "{claim}");
            assert_eq!(claim["noRestorableFraction"], 1.0, "{claim}");
            assert_eq!(claim["breachFraction"], 1.0, "{claim}");
        })
        .map(|claim| claim["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        claims,
        [
            "data-postgres-0",
            "artifacts-mlflow-0",
            "prometheus-db-prometheus-0",
            "data-vault-0"
        ]
    );
    let critical = report["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|tier| tier["tier"] == "critical")
        .unwrap();
    assert_eq!(critical["objects"], 8);
    assert_eq!(critical["breachFraction"], 1.0);
    assert_eq!(
        critical["worstObject"],
        "PersistentVolumeClaim data-platform/data-postgres-0"
    );
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

/// The block of `docs/simulate.md` that follows `opening` (up to its closing fence).
fn docs_block(opening: &str) -> String {
    let docs = std::fs::read_to_string(format!("{ROOT}/docs/simulate.md")).unwrap();
    let start = docs.find(opening).unwrap() + opening.len();
    let end = start + docs[start..].find("\n```").unwrap();
    docs[start..end].to_owned()
}

/// Every key path of a JSON document, arrays reduced to their first element (`objects[].rpo.p50Seconds`).
fn key_paths(value: &Value, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let path = format!("{prefix}{}{key}", if prefix.is_empty() { "" } else { "." });
                out.insert(path.clone());
                key_paths(inner, &path, out);
            }
        }
        Value::Array(items) => {
            if let Some(first) = items.first() {
                key_paths(first, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_json_has_exactly_the_keys_the_docs_show() {
    let documented: Value = serde_json::from_str(&docs_block("```json\n")).unwrap();
    let report = platform_report("1000");
    let (mut want, mut got) = (Default::default(), Default::default());
    key_paths(&documented, "", &mut want);
    key_paths(&report, "", &mut got);
    assert_eq!(got, want);
    // Issue #15, item 3, by name.
    for path in [
        "samples",
        "seed",
        "horizon.start",
        "horizon.end",
        "objects[].kind",
        "objects[].namespace",
        "objects[].name",
        "objects[].tier",
        "objects[].targetSeconds",
        "objects[].coveredBy",
        "objects[].rpo.p50Seconds",
        "objects[].rpo.p90Seconds",
        "objects[].rpo.p99Seconds",
        "objects[].rpo.maxSeconds",
        "objects[].breachFraction",
        "objects[].longestBreachSeconds",
        "objects[].noRestorableFraction",
        "tiers[].tier",
        "tiers[].objects",
        "tiers[].breachFraction",
        "tiers[].worstObject",
    ] {
        assert!(got.contains(path), "{path} missing");
    }
}

#[test]
fn the_platform_table_in_the_docs_is_what_simulate_prints() {
    let output = simulate(&[
        "--policy",
        "fixtures/policy/platform.yaml",
        "--manifests",
        "fixtures/platform",
    ]);
    assert!(output.status.success());
    let documented = docs_block("```console\n");
    let printed = documented
        .lines()
        .next()
        .and_then(|command| command.strip_prefix("$ "))
        .unwrap();
    assert_eq!(
        printed,
        "backstop-chaos simulate --policy fixtures/policy/platform.yaml --manifests fixtures/platform"
    );
    let (_, shown) = documented.split_once('\n').unwrap();
    assert_eq!(
        shown.trim_end(),
        String::from_utf8_lossy(&output.stdout).trim_end(),
        "docs/simulate.md's platform table is stale: paste the command's output"
    );
}
