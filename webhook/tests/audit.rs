//! `backstop-webhook audit` end to end: the real binary over the bundled platform fixtures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn audit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_backstop-webhook"))
        .current_dir(repo())
        .arg("audit")
        .args(args)
        .output()
        .expect("the audit binary runs")
}

fn platform_json() -> (Output, serde_json::Value) {
    let output = audit(&[
        "--policy",
        "fixtures/policy/platform.yaml",
        "--manifests",
        "fixtures/platform",
        "--output",
        "json",
    ]);
    let report = serde_json::from_slice(&output.stdout).expect("audit prints JSON");
    (output, report)
}

fn object<'a>(
    report: &'a serde_json::Value,
    kind: &str,
    namespace: &str,
    name: &str,
) -> &'a serde_json::Value {
    report["objects"]
        .as_array()
        .expect("objects is a list")
        .iter()
        .find(|object| {
            object["kind"] == kind && object["namespace"] == namespace && object["name"] == name
        })
        .unwrap_or_else(|| panic!("{kind} {namespace}/{name} is in the report"))
}

fn gap_codes(object: &serde_json::Value) -> Vec<String> {
    object["gaps"]
        .as_array()
        .expect("gaps is a list")
        .iter()
        .map(|gap| gap["code"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn platform_audit_exits_one_because_the_hourly_schedule_misses_the_critical_target() {
    let (output, report) = platform_json();
    assert_eq!(output.status.code(), Some(1));
    for namespace in ["data-platform", "monitoring", "vault-prod", "ml-platform"] {
        let verdict = object(&report, "Namespace", namespace, namespace);
        assert_eq!(verdict["tier"], "critical");
        assert_eq!(
            verdict["rpoSeconds"], 3660,
            "{namespace}: hourly + 1 minute tick"
        );
        assert_eq!(verdict["rpoTargetSeconds"], 900);
        assert_eq!(verdict["met"], false);
        assert_eq!(gap_codes(verdict), ["rpo-exceeds-target"], "{namespace}");
        assert_eq!(verdict["coveredBy"][0], "critical-backup");
    }
}

#[test]
fn platform_audit_reports_each_schedule_worst_interval() {
    let (_, report) = platform_json();
    let intervals: Vec<(String, u64)> = report["schedules"]
        .as_array()
        .expect("schedules is a list")
        .iter()
        .map(|schedule| {
            (
                schedule["name"].as_str().unwrap_or_default().to_string(),
                schedule["worstIntervalSeconds"]
                    .as_u64()
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        intervals,
        [
            ("daily-backup".to_string(), 86_400),
            ("critical-backup".to_string(), 3_600),
            ("weekly-full-backup".to_string(), 604_800)
        ]
    );
}

#[test]
fn platform_audit_finds_the_unmounted_volume_and_honours_the_exemption() {
    let (_, report) = platform_json();
    let leftover = object(
        &report,
        "PersistentVolumeClaim",
        "kubeflow",
        "pipeline-artifacts-2024",
    );
    assert_eq!(gap_codes(leftover), ["unmounted-fs-backup-only"]);
    assert_eq!(leftover["rpoSeconds"], serde_json::Value::Null);
    let scratch = object(
        &report,
        "PersistentVolumeClaim",
        "monitoring",
        "thanos-compactor-scratch",
    );
    assert!(
        scratch["exempt"]
            .as_str()
            .is_some_and(|reason| reason.contains("scratch"))
    );
    assert!(gap_codes(scratch).is_empty());
}

#[test]
fn markdown_and_table_outputs_name_the_gap() {
    for format in ["markdown", "table"] {
        let output = audit(&[
            "--policy",
            "fixtures/policy/platform.yaml",
            "--manifests",
            "fixtures/platform",
            "--output",
            format,
        ]);
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains("rpo-exceeds-target"), "{format}: {text}");
        assert!(text.contains("critical-backup"), "{format}");
    }
}

#[test]
fn covered_platform_exits_zero() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("all.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: registry}\n---\n\
         apiVersion: velero.io/v1\nkind: Schedule\nmetadata: {name: twice-daily, namespace: velero}\n\
         spec: {schedule: '0 */12 * * *', template: {includedNamespaces: [registry], ttl: 720h}}\n",
    )
    .expect("write manifest");
    let output = audit(&[
        "--policy",
        "fixtures/policy/platform.yaml",
        "--manifests",
        dir.path().to_str().expect("utf-8 temp path"),
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn bad_manifest_exits_two_naming_file_document_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("broken.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: velero.io/v1\nkind: Schedule\nmetadata: {name: s}\nspec: {paused: maybe}\n",
    )
    .expect("write manifest");
    let output = audit(&[
        "--policy",
        "fixtures/policy/platform.yaml",
        "--manifests",
        dir.path().to_str().expect("utf-8 temp path"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("broken.yaml (document 2, line 5): spec.paused"),
        "{stderr}"
    );
}

#[test]
fn bad_policy_exits_two_naming_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let policy = dir.path().join("policy.yaml");
    std::fs::write(
        &policy,
        "tiers: {a: {rpo: 15, rto: 1h, minRetention: 1h}}\n",
    )
    .expect("write policy");
    let output = audit(&[
        "--policy",
        policy.to_str().expect("utf-8"),
        "--manifests",
        "fixtures/platform",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("tiers.a.rpo"));
}

/// `audit --cluster` with `KUBECONFIG` set to `kubeconfig` and no in-cluster configuration.
fn audit_cluster(kubeconfig: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_backstop-webhook"))
        .current_dir(repo())
        .env("KUBECONFIG", kubeconfig)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .args([
            "audit",
            "--policy",
            "fixtures/policy/platform.yaml",
            "--cluster",
        ])
        .output()
        .expect("the audit binary runs")
}

#[test]
fn a_cluster_that_cannot_be_read_exits_three() {
    // A port that was just bound and released: nothing listens there, so every list call is
    // refused by the kernel, as with an API server that is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: down\nclusters:\n- name: down\n  cluster: {{server: 'https://127.0.0.1:{port}', insecure-skip-tls-verify: true}}\nusers:\n- name: viewer\n  user: {{token: not-used}}\ncontexts:\n- name: down\n  context: {{cluster: down, user: viewer}}\n"
        ),
    )
    .expect("write kubeconfig");
    let output = audit_cluster(&kubeconfig);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("cannot list"), "{stderr}");
}

#[test]
fn no_kubernetes_client_configuration_exits_two() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = audit_cluster(&dir.path().join("no-such-kubeconfig"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("kubernetes client"), "{stderr}");
}

/// kind's local-path class provisions hostPath volumes, which Velero's file-system backup
/// skips (`pkg/podvolume/backupper.go`, `BackupPodVolumes`): the platform's mounted claims are
/// not backed up, and the finding says why and how to fix it.
#[test]
fn platform_audit_reports_local_path_claims_as_not_backed_up() {
    let (_, report) = platform_json();
    let claim = object(
        &report,
        "PersistentVolumeClaim",
        "data-platform",
        "data-postgres-0",
    );
    assert_eq!(gap_codes(claim), ["volume-not-backed-up"]);
    assert_eq!(claim["coveredBy"], serde_json::json!([]));
    let message = claim["gaps"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("pod postgres-0")
            && message.contains("hostPath")
            && message.contains("volumeType: local"),
        "{message}"
    );
}

/// Each fixture of `fixtures/velero-skips/`: the skipped ones report `volume-not-backed-up`
/// for the claim `team-skips/data` (exit 1), the `-backed-up` ones cover it (exit 0).
#[test]
fn audit_reports_each_silent_skip_of_velero_file_system_backup() {
    let dir = repo().join("fixtures/velero-skips");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures/velero-skips is readable") {
        let path = entry.expect("directory entry").path();
        if path.extension().is_none_or(|ext| ext != "yaml") {
            continue;
        }
        seen += 1;
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let output = audit(&[
            "--policy",
            "fixtures/policy/rules-daily-meets-standard.yaml",
            "--manifests",
            path.to_str().expect("utf-8 fixture path"),
            "--output",
            "json",
        ]);
        let report: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("audit prints JSON");
        let claim = object(&report, "PersistentVolumeClaim", "team-skips", "data");
        if name.ends_with("-backed-up.yaml") {
            assert_eq!(output.status.code(), Some(0), "{name}: {claim}");
            assert_eq!(
                claim["coveredBy"],
                serde_json::json!(["daily-fs"]),
                "{name}"
            );
        } else {
            assert_eq!(output.status.code(), Some(1), "{name}");
            assert_eq!(gap_codes(claim), ["volume-not-backed-up"], "{name}");
        }
    }
    assert_eq!(seen, 7, "every fixture of fixtures/velero-skips is judged");
}
