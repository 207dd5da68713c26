//! The platform's own repository, as its Velero/DR guide describes it
//! (`fixtures/platform-repository/`): StatefulSets with claim templates, Deployments with
//! claims, a CronJob, the three Schedules, on the cluster's default local-path class. Audited by
//! the real binary under the platform policy, in every output format.

use serde_json::Value;

use crate::outputs::schema_errors;
use crate::*;

const PLATFORM_POLICY: &str = "fixtures/policy/platform.yaml";
const REPOSITORY: &str = "fixtures/platform-repository";

fn platform_audit(format: &str) -> Output {
    audit(&[
        "--policy",
        PLATFORM_POLICY,
        "--manifests",
        REPOSITORY,
        "--output",
        format,
    ])
}

fn platform_report() -> Value {
    let output = platform_audit("json");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn every_claim_the_repository_will_create_is_judged_including_each_statefulset_replica() {
    let report = platform_report();
    let mut claims = claims(&report);
    claims.sort();
    assert_eq!(
        claims,
        [
            "data-clickhouse-0",
            "data-dolphinscheduler-postgresql-0",
            "data-mlflow-postgresql-0",
            "data-superset-postgresql-0",
            "data-vault-0",
            "data-vault-1",
            "data-vault-2",
            "export-minio-0",
            "grafana",
            "logs-clickhouse-0",
            "mlflow-artifacts",
            "mysql-pv-claim",
            "pipeline-artifacts-2024",
            "postgres-dumps",
            "prometheus-db-prometheus-0",
            "registry-storage",
            "storage-alertmanager-0",
            "storage-loki-0",
        ]
    );
}

#[test]
fn mounted_claims_on_the_default_local_path_class_are_not_backed_up_and_the_leftover_is_unmounted()
{
    let report = platform_report();
    for object in report["objects"].as_array().unwrap() {
        if object["kind"] != "PersistentVolumeClaim" {
            continue;
        }
        let want = if object["name"] == "pipeline-artifacts-2024" {
            "unmounted-fs-backup-only"
        } else {
            "volume-not-backed-up"
        };
        assert_eq!(gap_codes(object), [want], "{object:#}");
    }
    let cronjob_claim = object(
        &report,
        "PersistentVolumeClaim",
        "data-platform",
        "postgres-dumps",
    );
    assert!(
        cronjob_claim["gaps"][0]["message"]
            .as_str()
            .unwrap()
            .contains("pod cronjob/postgres-backup"),
        "the dump CronJob's pod mounts it: {cronjob_claim:#}"
    );
}

#[test]
fn a_replica_claim_names_its_statefulset_template_and_file() {
    let report = platform_report();
    let claim = object(
        &report,
        "PersistentVolumeClaim",
        "vault-prod",
        "data-vault-2",
    );
    let source = &claim["source"];
    assert_eq!(
        source["file"],
        "fixtures/platform-repository/k8s/vault-prod/vault.yaml"
    );
    assert_eq!(
        source["line"], 3,
        "the StatefulSet's first key, after the comment"
    );
    assert_eq!(source["predictedFrom"]["kind"], "StatefulSet");
    assert_eq!(source["predictedFrom"]["name"], "vault");
    assert_eq!(
        source["predictedFrom"]["path"],
        "spec.volumeClaimTemplates[0]"
    );
    let logs = object(
        &report,
        "PersistentVolumeClaim",
        "data-platform",
        "logs-clickhouse-0",
    );
    assert_eq!(
        logs["source"]["predictedFrom"]["path"],
        "spec.volumeClaimTemplates[1]"
    );
}

#[test]
fn the_critical_namespaces_miss_their_15_minute_target_with_the_hourly_schedule() {
    let report = platform_report();
    for namespace in ["data-platform", "ml-platform", "monitoring", "vault-prod"] {
        let object = object(&report, "Namespace", namespace, namespace);
        assert_eq!(object["tier"], "critical");
        assert_eq!(object["rpoSeconds"], 3660, "1h plus the reconcile tick");
        assert_eq!(gap_codes(object), ["rpo-exceeds-target"]);
    }
}

#[test]
fn sarif_of_the_repository_validates_and_locates_every_result_in_a_repository_file() {
    let output = platform_audit("sarif");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        stderr(&output),
        "",
        "nothing to warn of: every result has a file"
    );
    let log: Value = serde_json::from_slice(&output.stdout).unwrap();
    let errors = schema_errors(&log);
    assert!(errors.is_empty(), "{errors:#?}");
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(
        results.len(),
        platform_report()["findings"].as_array().unwrap().len()
    );
    for result in results {
        let physical = &result["locations"][0]["physicalLocation"];
        let uri = physical["artifactLocation"]["uri"]
            .as_str()
            .unwrap_or_default();
        assert!(
            uri.starts_with("fixtures/platform-repository/k8s/") && repo().join(uri).is_file(),
            "every result points into a file of the repository (code scanning rejects a log with a result that does not): {result:#}"
        );
        assert!(physical["region"]["startLine"].as_u64().unwrap_or_default() >= 1);
    }
}

#[test]
fn github_annotations_of_the_repository_are_one_error_per_finding_at_its_file_and_line() {
    let output = platform_audit("github");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    let errors: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("::error "))
        .collect();
    assert_eq!(
        errors.len(),
        platform_report()["findings"].as_array().unwrap().len()
    );
    assert!(errors.iter().any(|line| line.starts_with(
        "::error file=fixtures/platform-repository/k8s/vault-prod/vault.yaml,line=3,title=volume-not-backed-up::"
    )));
    assert!(
        text.lines()
            .last()
            .unwrap_or_default()
            .starts_with("::notice ")
    );
}

#[test]
fn table_and_markdown_of_the_repository_name_each_findings_source() {
    for format in ["table", "markdown"] {
        let output = platform_audit(format);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{format}: {}",
            stderr(&output)
        );
        let text = stdout(&output);
        assert!(
            text.contains("fixtures/platform-repository/k8s/vault-prod/vault.yaml (document 1, line 3): spec.volumeClaimTemplates[0] of StatefulSet vault-prod/vault"),
            "{format}: {text}"
        );
    }
}
