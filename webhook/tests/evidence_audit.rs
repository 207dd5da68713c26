//! `audit --verify-backups`: the real binary over the exported Velero records of
//! `fixtures/evidence/` (`kubectl get … -o yaml` Lists, validated against `ci/schemas/` by
//! `ci/validate-manifests.sh`), and `--cluster` reading the same records of every case from
//! the mock API server of `support/apiserver.rs` (answers from `fixtures/apiserver-captures/`,
//! each named where it is served, in `support/evidence.rs`).

// Test code: a failed unwrap is a failed test (clippy only exempts #[test] functions).
#![allow(clippy::unwrap_used)]

mod support {
    #[path = "apiserver.rs"]
    pub mod apiserver;
    #[path = "evidence.rs"]
    pub mod evidence;
}

use std::process::{Command, Output};
use std::sync::Arc;

use backstop_webhook::WebhookError;
use backstop_webhook::audit::{ClusterRecords, load_cluster_records};
use backstop_webhook::manifests::{load_inventory, load_policy};
use http::Method;
use policy::CoverageIndex;
use policy::evidence::{Evidence, VeleroRecords, gather};
use serde_json::Value;
use support::apiserver::{Captured, MockApiServer};
use support::evidence::{
    NOW, POD_VOLUME_BACKUPS, SCENARIOS, VELERO_V1_DISCOVERY, cluster_of, list_answer,
    manifest_paths, repo, serve_records,
};

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
            "fixtures/evidence/{},fixtures/evidence/{scenario}",
            cluster_of(scenario)
        ))
        .args(["--verify-backups", "--now", NOW, "--output", output])
        .output()
        .expect("the audit binary runs")
}

/// (exit code, the evidence of the claim `orders` or `cache`, every gap code of the report but
/// the consistency warning).
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
        // The fixture's PostgreSQL pod has no pre-backup hook: its `no-consistency-hook`
        // warning (docs/audit.md) is not what these tests judge.
        .filter(|code| code != "no-consistency-hook")
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
    assert_eq!(daily["overdueAfterSeconds"], 25 * 3600 + 60);
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

#[test]
fn a_data_mover_backup_holds_the_claim_through_its_completed_data_upload() {
    let (code, orders, codes) = judged("data-mover-upload-completed", "orders");
    assert_eq!(code, Some(0), "{codes:?}");
    assert_eq!(orders["restorableFrom"], "daily-20261203020005");
    assert_eq!(orders["achievedRpoSeconds"], 29 * 60 + 55);
}

#[test]
fn a_failed_data_upload_makes_the_newest_backup_a_failure_and_the_older_one_restores() {
    let (code, orders, _) = judged("data-mover-upload-failed-after-completed", "orders");
    assert_eq!(code, Some(1));
    assert_eq!(
        orders["findings"],
        serde_json::json!(["last-backup-failed"])
    );
    assert_eq!(orders["restorableFrom"], "daily-20261202020004");
}

/// The evidence of `scenario` judged from Velero's records as the mock API server lists them,
/// and from the scenario's export, over the same manifests of the cluster.
async fn judged_from_cluster_and_export(scenario: &str) -> (Evidence, Evidence) {
    let server = MockApiServer::start().await;
    serve_records(&server, scenario);
    let from_cluster = load_cluster_records(server.client(), "velero")
        .await
        .unwrap();
    assert!(
        server.seen().iter().all(|seen| seen.method == Method::GET),
        "read-only"
    );
    assert!(server.unrouted().is_empty(), "{:?}", server.unrouted());

    let policy = Arc::new(load_policy(&repo().join("fixtures/evidence/policy.yaml")).unwrap());
    let mut inventory = load_inventory(&manifest_paths(scenario)).unwrap();
    let from_export = ClusterRecords {
        backups: std::mem::take(&mut inventory.backups),
        pod_volume_backups: std::mem::take(&mut inventory.pod_volume_backups),
        data_uploads: std::mem::take(&mut inventory.data_uploads),
    };
    let index = CoverageIndex::build(policy, inventory);
    let verdicts = index.evaluate_all();
    let judge = |records: &ClusterRecords| {
        gather(
            &index,
            &verdicts,
            &VeleroRecords {
                backups: records.backups.iter().collect(),
                pod_volume_backups: records.pod_volume_backups.iter().collect(),
                data_uploads: records.data_uploads.iter().collect(),
            },
            NOW.parse().unwrap(),
        )
    };
    (judge(&from_cluster), judge(&from_export))
}

/// Every gap code of every object's evidence, as `namespace/name: code`.
fn finding_codes(evidence: &Evidence) -> Vec<String> {
    evidence
        .objects
        .iter()
        .flat_map(|object| {
            object.findings.iter().map(move |gap| {
                format!(
                    "{}/{}: {}",
                    object.namespace,
                    object.name,
                    gap.code.as_str()
                )
            })
        })
        .collect()
}

#[tokio::test]
async fn every_case_reads_from_a_cluster_exactly_as_from_its_export() {
    for (scenario, _) in SCENARIOS {
        let (cluster, export) = judged_from_cluster_and_export(scenario).await;
        assert_eq!(cluster, export, "{scenario}");
        assert!(!cluster.objects.is_empty(), "{scenario}");
    }
}

#[tokio::test]
async fn a_completed_backup_with_every_volume_read_from_a_cluster_has_no_finding() {
    let (cluster, _) = judged_from_cluster_and_export("completed-backup-with-every-volume").await;
    assert_eq!(finding_codes(&cluster), Vec::<String>::new());
}

#[tokio::test]
async fn a_completed_backup_that_skipped_a_hostpath_claim_read_from_a_cluster_missed_it() {
    let (cluster, _) =
        judged_from_cluster_and_export("completed-backup-skipped-hostpath-volume").await;
    assert_eq!(
        finding_codes(&cluster),
        ["shop/cache: last-backup-missed-volume"]
    );
}

#[tokio::test]
async fn a_partially_failed_newest_backup_read_from_a_cluster_fails_and_the_older_restores() {
    let (cluster, _) =
        judged_from_cluster_and_export("partially-failed-newest-after-completed").await;
    assert_eq!(
        finding_codes(&cluster),
        [
            "shop/shop: last-backup-failed",
            "shop/orders: last-backup-failed"
        ]
    );
    let orders = cluster.objects.iter().find(|o| o.name == "orders").unwrap();
    assert_eq!(
        orders.restorable_from.as_deref(),
        Some("daily-20261202020004")
    );
}

#[tokio::test]
async fn an_overdue_schedule_read_from_a_cluster_is_overdue() {
    let (cluster, _) = judged_from_cluster_and_export("overdue-schedule").await;
    assert!(cluster.schedules[0].overdue);
    assert_eq!(
        finding_codes(&cluster),
        ["shop/shop: backup-overdue", "shop/orders: backup-overdue"]
    );
}

#[tokio::test]
async fn a_backup_in_progress_read_from_a_cluster_is_not_judged_yet() {
    let (cluster, _) = judged_from_cluster_and_export("in-progress-newest-not-judged").await;
    assert_eq!(finding_codes(&cluster), Vec::<String>::new());
    let orders = cluster.objects.iter().find(|o| o.name == "orders").unwrap();
    assert!(
        orders.notes.iter().any(|note| note.contains("InProgress")),
        "{:?}",
        orders.notes
    );
}

#[tokio::test]
async fn data_uploads_read_from_a_cluster_that_serves_the_data_mover_api_hold_the_claim() {
    let (cluster, _) = judged_from_cluster_and_export("data-mover-upload-completed").await;
    assert_eq!(finding_codes(&cluster), Vec::<String>::new());
    let (cluster, _) =
        judged_from_cluster_and_export("data-mover-upload-failed-after-completed").await;
    assert_eq!(
        finding_codes(&cluster),
        [
            "shop/shop: last-backup-failed",
            "shop/orders: last-backup-failed"
        ]
    );
}

#[tokio::test]
async fn verify_backups_without_the_pod_volume_backup_crd_names_it() {
    let server = MockApiServer::start().await;
    serve_records(&server, "completed-backup-with-every-volume");
    // Capture 01, exchange 5: an unserved resource of a served group (text/plain 404); capture
    // 04's discovery (the real velero.io/v1 list) with podvolumebackups removed.
    server.get(
        POD_VOLUME_BACKUPS,
        Captured::response("01-unserved-group-404-text-plain.json", 5),
    );
    let mut discovery = Captured::response("04-discovery-velero-v1.json", 0).json();
    discovery["resources"]
        .as_array_mut()
        .unwrap()
        .retain(|resource| resource["name"] != "podvolumebackups");
    server.get(
        VELERO_V1_DISCOVERY,
        Captured::response("04-discovery-velero-v1.json", 0).with_json(&discovery),
    );
    let error = load_cluster_records(server.client(), "velero")
        .await
        .unwrap_err();
    assert!(matches!(error, WebhookError::CrdMissing { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        "the CustomResourceDefinition podvolumebackups.velero.io is not installed in this cluster (is Velero installed?)"
    );
}

#[tokio::test]
async fn an_empty_data_upload_list_is_no_evidence_against_a_backup_without_the_data_mover() {
    // A cluster that serves velero.io/v2alpha1 with no DataUploads: file-system backups are
    // judged as before.
    let server = MockApiServer::start().await;
    serve_records(&server, "completed-backup-with-every-volume");
    server.get(
        support::evidence::DATA_UPLOADS,
        list_answer("velero.io/v2alpha1", "DataUpload", &[]),
    );
    server.get(
        support::evidence::VELERO_V2ALPHA1_DISCOVERY,
        support::evidence::v2alpha1_discovery(),
    );
    let records = load_cluster_records(server.client(), "velero")
        .await
        .unwrap();
    assert_eq!(
        (
            records.backups.len(),
            records.pod_volume_backups.len(),
            records.data_uploads.len()
        ),
        (1, 1, 0)
    );
}
