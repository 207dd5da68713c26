//! `audit --verify-backups`: the real binary over the exported Velero records of
//! `fixtures/evidence/` (`kubectl get … -o yaml` Lists, shaped by `ci/schemas/velero.io/`), and
//! `--cluster` reading the same records from the mock API server of `support/apiserver.rs`
//! (answers from `fixtures/apiserver-captures/`, each case names its capture and exchange).

// Test code: a failed unwrap is a failed test (clippy only exempts #[test] functions).
#![allow(clippy::unwrap_used)]

#[path = "support/apiserver.rs"]
mod apiserver;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use apiserver::{Captured, MockApiServer, custom_list};
use backstop_webhook::audit::load_cluster_records;
use backstop_webhook::manifests::{load_inventory, load_policy};
use policy::CoverageIndex;
use policy::evidence::{VeleroRecords, gather};
use serde_json::Value;

const NOW: &str = "2026-12-03T02:30:00Z";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn audit(scenario: &str, output: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_backstop-webhook"))
        .current_dir(repo())
        .args([
            "audit",
            "--policy",
            "fixtures/evidence/policy.yaml",
            "--manifests",
        ])
        .arg(format!(
            "fixtures/evidence/cluster,fixtures/evidence/{scenario}"
        ))
        .args(["--verify-backups", "--now", NOW, "--output", output])
        .output()
        .expect("the audit binary runs")
}

/// (exit code, the evidence of the claim `orders` or `cache`, every gap code of the report).
fn judged(scenario: &str, claim: &str) -> (Option<i32>, Value, Vec<String>) {
    let output = audit(scenario, "json");
    let report: Value = serde_json::from_slice(&output.stdout).expect("audit prints JSON");
    let evidence = report["evidence"]["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|object| object["name"] == claim)
        .cloned()
        .unwrap_or_else(|| panic!("no evidence for {claim}: {report:#}"));
    let codes = report["objects"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|object| object["gaps"].as_array().unwrap().clone())
        .map(|gap| gap["code"].as_str().unwrap().to_string())
        .collect();
    (output.status.code(), evidence, codes)
}

#[test]
fn a_completed_backup_with_every_volume_passes_with_its_achieved_rpo() {
    let (code, orders, codes) = judged("completed-backup-with-every-volume", "orders");
    assert_eq!(code, Some(0), "{codes:?}");
    assert!(codes.is_empty(), "{codes:?}");
    assert_eq!(orders["achievedRpoSeconds"], 29 * 60 + 55);
    assert_eq!(orders["predictedRpoSeconds"], 24 * 3600 + 60);
    assert_eq!(orders["restorableFrom"], "daily-20261203020005");
}

#[test]
fn a_completed_backup_that_skipped_a_hostpath_claim_fails_the_audit_for_that_claim() {
    let (code, cache, codes) = judged("completed-backup-skipped-hostpath-volume", "cache");
    assert_eq!(code, Some(1));
    assert_eq!(
        cache["findings"],
        serde_json::json!(["last-backup-missed-volume"])
    );
    assert!(cache["achievedRpoSeconds"].is_null());
    // The prediction already saw it; the evidence confirms the backup holds no copy.
    assert_eq!(codes, ["volume-not-backed-up", "last-backup-missed-volume"]);
}

#[test]
fn a_partially_failed_newest_backup_is_reported_and_the_older_completed_one_restores() {
    let (code, orders, _) = judged("partially-failed-newest-after-completed", "orders");
    assert_eq!(code, Some(1));
    assert_eq!(
        orders["findings"],
        serde_json::json!(["last-backup-failed"])
    );
    assert_eq!(orders["restorableFrom"], "daily-20261202020004");
}

#[test]
fn an_overdue_schedule_is_reported_per_object_and_per_schedule() {
    let output = audit("overdue-schedule", "json");
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let daily = &report["evidence"]["schedules"][0];
    assert_eq!(daily["name"], "daily");
    assert_eq!(daily["overdue"], true);
    assert_eq!(daily["lastCompletedAgeSeconds"], 3 * 86_400 + 29 * 60 + 55);
    let (_, orders, _) = judged("overdue-schedule", "orders");
    assert_eq!(orders["findings"], serde_json::json!(["backup-overdue"]));
}

#[test]
fn a_newest_backup_in_progress_is_listed_as_not_judged_in_every_format() {
    let (code, orders, codes) = judged("in-progress-newest-not-judged", "orders");
    assert_eq!(code, Some(0), "{codes:?}");
    assert_eq!(orders["restorableFrom"], "daily-20261202020004");
    for format in ["table", "markdown"] {
        let text =
            String::from_utf8(audit("in-progress-newest-not-judged", format).stdout).unwrap();
        assert!(text.contains("Backup evidence"), "{text}");
        assert!(
            text.contains("daily-20261203020005 (InProgress, started 2026-12-03T02:00:05Z) of schedule daily is not finished: not judged yet"),
            "{text}"
        );
    }
}

#[test]
fn now_without_verify_backups_is_a_usage_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_backstop-webhook"))
        .current_dir(repo())
        .args(["audit", "--policy", "fixtures/evidence/policy.yaml"])
        .args(["--manifests", "fixtures/evidence/cluster", "--now", NOW])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

/// The items of a fixture's `kind: List`, as a custom-resource list answer keeps them (with
/// apiVersion and kind), split by kind.
fn fixture_items(scenario: &str, kind: &str) -> Vec<Value> {
    let path = repo().join(format!("fixtures/evidence/{scenario}/backups.yaml"));
    let text = std::fs::read_to_string(&path).unwrap();
    let list = policy::yaml::documents(&text, "backups.yaml")
        .unwrap()
        .remove(0);
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["kind"] == kind)
        .cloned()
        .collect()
}

#[tokio::test]
async fn verify_backups_on_a_cluster_lists_backups_and_pod_volume_backups_read_only() {
    let server = MockApiServer::start().await;
    // Capture 03, exchange 3: a 200 custom-resource list (its status and headers), with the
    // fixture's objects as items; capture 04: velero.io/v1 discovery.
    let scenario = "completed-backup-skipped-hostpath-volume";
    for (path, kind) in [
        ("/apis/velero.io/v1/namespaces/velero/backups", "Backup"),
        (
            "/apis/velero.io/v1/namespaces/velero/podvolumebackups",
            "PodVolumeBackup",
        ),
    ] {
        let body = custom_list("velero.io/v1", kind, "4417", &fixture_items(scenario, kind));
        server.get(
            path,
            Captured::response("03-get-missing-object-and-missing-namespace.json", 3)
                .with_json(&body),
        );
    }
    server.get(
        "/apis/velero.io/v1",
        Captured::response("04-discovery-velero-v1.json", 0),
    );
    let (backups, volumes) = load_cluster_records(server.client(), "velero")
        .await
        .unwrap();
    assert_eq!(backups.len(), 1);
    assert_eq!(volumes.len(), 1);
    assert!(
        server
            .seen()
            .iter()
            .all(|seen| seen.method == http::Method::GET),
        "read-only"
    );
    assert!(server.unrouted().is_empty(), "{:?}", server.unrouted());

    let policy = Arc::new(load_policy(&repo().join("fixtures/evidence/policy.yaml")).unwrap());
    let inventory = load_inventory(&[
        repo().join("fixtures/evidence/cluster"),
        repo().join(format!("fixtures/evidence/{scenario}/cache-claim.yaml")),
    ])
    .unwrap();
    let index = CoverageIndex::build(policy, inventory);
    let evidence = gather(
        &index,
        &index.evaluate_all(),
        VeleroRecords {
            backups: &backups,
            pod_volume_backups: &volumes,
        },
        &HashMap::new(),
        NOW.parse().unwrap(),
    );
    let cache = evidence.objects.iter().find(|o| o.name == "cache").unwrap();
    assert_eq!(cache.findings[0].code.as_str(), "last-backup-missed-volume");
    let orders = evidence
        .objects
        .iter()
        .find(|o| o.name == "orders")
        .unwrap();
    assert!(orders.findings.is_empty(), "{:?}", orders.findings);
}

#[tokio::test]
async fn verify_backups_without_the_pod_volume_backup_crd_names_it() {
    let server = MockApiServer::start().await;
    server.get(
        "/apis/velero.io/v1/namespaces/velero/backups",
        Captured::response("03-get-missing-object-and-missing-namespace.json", 3)
            .with_json(&custom_list("velero.io/v1", "Backup", "4417", &[])),
    );
    // Capture 01, exchange 0: an unserved resource's text/plain 404; capture 04's discovery
    // (the real velero.io/v1 list, with podvolumebackups removed).
    server.get(
        "/apis/velero.io/v1/namespaces/velero/podvolumebackups",
        Captured::response("01-unserved-group-404-text-plain.json", 0),
    );
    let mut discovery = Captured::response("04-discovery-velero-v1.json", 0).json();
    discovery["resources"]
        .as_array_mut()
        .unwrap()
        .retain(|resource| resource["name"] != "podvolumebackups");
    server.get(
        "/apis/velero.io/v1",
        Captured::response("04-discovery-velero-v1.json", 0).with_json(&discovery),
    );
    let error = load_cluster_records(server.client(), "velero")
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the CustomResourceDefinition podvolumebackups.velero.io is not installed in this cluster (is Velero installed?)"
    );
}
