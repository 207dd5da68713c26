//! The Velero side of cluster-loss and storage-loss against the mocked API server
//! (`support/apiserver.rs`), and the strict schema check of the Restore they create
//! (`support/schema.rs`). Restore answers come from the captures (named in each test); no
//! capture holds a Backup, so a Backup is the store's `velero-backup.json` fixture as the API
//! server serves a custom resource (apiVersion/kind kept in list items: capture 03, exchange 3).
#![allow(clippy::unwrap_used)]

#[path = "support/apiserver.rs"]
mod apiserver;
#[path = "support/schema.rs"]
mod schema;

use std::path::PathBuf;
use std::time::Duration;

use apiserver::{Answer, MockApiServer, captured};
use backstop_chaos::error::Error;
use backstop_chaos::fault::fallback::Unrestorable;
use backstop_chaos::fault::{lost_backup, new_cluster};
use backstop_chaos::outcome::RestorePhase;
use backstop_chaos::plan::manifests;
use serde_json::{Value, json};

const BACKUPS: &str = "/apis/velero.io/v1/namespaces/velero/backups";
const RESTORES: &str = "/apis/velero.io/v1/namespaces/velero/restores";
const BACKUP: &str = "backstop-storage-loss-20261203121500";
const LIFECYCLE: &str = "10-restore-watch-lifecycle-status-patch-bookmark";
/// Capture 10's Restore: the wait follows it by name.
const RESTORE: &str = "restore-watch";

fn backup_object() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/chaos/faults/velero-backup-completed.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn ok(object: &Value) -> Answer {
    Answer {
        status: 200,
        content_type: Some("application/json".into()),
        body: format!("{object}\n"),
        events: None,
    }
}

/// A custom-resource list as capture 03, exchange 3 shows it (`"continue": ""`, items keep
/// apiVersion/kind).
fn backup_list(items: &[Value]) -> Answer {
    ok(&json!({"apiVersion": "velero.io/v1", "kind": "BackupList",
        "metadata": {"continue": "", "resourceVersion": "5400"}, "items": items}))
}

fn events(events: Vec<Value>) -> Answer {
    Answer {
        status: 200,
        content_type: Some("application/json".into()),
        body: String::new(),
        events: Some(events),
    }
}

#[test]
fn the_restore_of_every_namespace_validates_strictly_and_names_no_namespace() {
    let manifest = manifests::restore_everything(
        "backstop-cluster-loss-2a",
        BACKUP,
        "backstop-cluster-loss-2a",
    );
    let object: Value = serde_saphyr::from_str(&manifest).unwrap();
    let violations = schema::velero_violations(&object);
    assert!(violations.is_empty(), "{violations:?}\n{manifest}");
    assert_eq!(object["spec"]["backupName"], BACKUP);
    assert!(
        object["spec"].get("includedNamespaces").is_none(),
        "{manifest}"
    );
    assert_eq!(object["spec"]["restorePVs"], true);
}

#[tokio::test]
async fn the_new_cluster_waits_until_velero_s_sync_brings_the_backup_in() {
    let server = MockApiServer::new()
        .on("GET", BACKUPS, backup_list(&[]))
        .on_watch(
            BACKUPS,
            events(vec![json!({"type": "ADDED", "object": backup_object()})]),
        );
    let (client, _) = server.start().await;
    let synced = new_cluster::wait_synced(&client, BACKUP, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(synced.name, BACKUP);
    assert_eq!(synced.phase, "Completed");
}

#[tokio::test]
async fn a_backup_that_never_syncs_times_out_saying_it_never_appeared() {
    let server = MockApiServer::new().on("GET", BACKUPS, backup_list(&[]));
    let (client, _) = server.start().await;
    let err = new_cluster::wait_synced(&client, BACKUP, Duration::from_millis(600))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Timeout { .. }), "{text}");
    assert!(
        text.contains("synced from the store into the new cluster"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "last seen: no Backup {BACKUP} in the new cluster yet"
        )),
        "{text}"
    );
}

#[tokio::test]
async fn a_backup_velero_s_sync_removed_is_unrestorable_without_trying_a_restore() {
    // Capture 03, exchange 0: a GET of a missing velero.io object is a 404 Status.
    let server = MockApiServer::new().on(
        "GET",
        &format!("{BACKUPS}/{BACKUP}"),
        captured("03-get-missing-object-and-missing-namespace", 0),
    );
    let (client, _) = server.start().await;
    let manifest = manifests::restore(RESTORE, "backstop-chaos", BACKUP, "run-1");
    let how =
        lost_backup::how_unrestorable(&client, BACKUP, RESTORE, &manifest, Duration::from_secs(5))
            .await
            .unwrap();
    assert_eq!(how, Unrestorable::RemovedBySync);
    assert!(
        server.requests().iter().all(|r| !r.starts_with("POST")),
        "no Restore was created: {:?}",
        server.requests()
    );
}

/// Capture 10's watch, its Completed event turned into what Velero writes when the backup's
/// contents cannot be downloaded (`runValidatedRestore`: phase Failed, failureReason).
fn restore_failing(reason: &str) -> (Answer, Value) {
    let mut watch = captured(LIFECYCLE, 1);
    let mut failed = Value::Null;
    for event in watch.events.iter_mut().flatten() {
        if event["object"]["status"]["phase"] == "Completed" {
            event["object"]["status"] = json!({"phase": "Failed", "failureReason": reason,
                "startTimestamp": "2026-12-03T12:18:01Z", "completionTimestamp": "2026-12-03T12:18:02Z"});
            failed = event["object"].clone();
        }
    }
    (watch, failed)
}

#[tokio::test]
async fn a_backup_still_listed_is_tried_and_velero_s_reason_for_the_failed_restore_is_kept() {
    let reason = "error downloading backup: error copying Backup to temp file: rpc error: code = Unknown desc = operation error S3: GetObject, https response error StatusCode: 404, api error NoSuchKey: The specified key does not exist.";
    let (watch, failed) = restore_failing(reason);
    // Capture 05: the POST answers 201; capture 10: LIST then the watch.
    let server = MockApiServer::new()
        .on("GET", &format!("{BACKUPS}/{BACKUP}"), ok(&backup_object()))
        .on("POST", RESTORES, captured("05-restore-create-201", 0))
        .on("GET", RESTORES, captured(LIFECYCLE, 0))
        .on_watch(RESTORES, watch)
        .on("GET", &format!("{RESTORES}/{RESTORE}"), ok(&failed));
    let (client, _) = server.start().await;
    let manifest = manifests::restore(RESTORE, "backstop-chaos", BACKUP, "run-1");
    let how =
        lost_backup::how_unrestorable(&client, BACKUP, RESTORE, &manifest, Duration::from_secs(10))
            .await
            .unwrap();
    assert_eq!(
        how,
        Unrestorable::RestoreFailed {
            restore: RESTORE.into(),
            phase: RestorePhase::Failed,
            reason: reason.into(),
        }
    );
    let (request, body) = server
        .bodies()
        .into_iter()
        .find(|(r, _)| r.starts_with("POST"))
        .unwrap();
    assert!(request.contains("fieldValidation=Strict"), "{request}");
    let sent: Value = serde_json::from_str(&body).unwrap();
    assert!(schema::velero_violations(&sent).is_empty(), "{body}");
    assert_eq!(sent["spec"]["backupName"], BACKUP);
}

#[tokio::test]
async fn a_restore_of_the_deleted_backup_that_completes_means_the_fault_did_not_take() {
    // Capture 10 as captured: the Restore reaches Completed.
    let server = MockApiServer::new()
        .on("GET", &format!("{BACKUPS}/{BACKUP}"), ok(&backup_object()))
        .on("POST", RESTORES, captured("05-restore-create-201", 0))
        .on("GET", RESTORES, captured(LIFECYCLE, 0))
        .on_watch(RESTORES, captured(LIFECYCLE, 1));
    let (client, _) = server.start().await;
    let manifest = manifests::restore(RESTORE, "backstop-chaos", BACKUP, "run-1");
    let err =
        lost_backup::how_unrestorable(&client, BACKUP, RESTORE, &manifest, Duration::from_secs(10))
            .await
            .unwrap_err();
    assert!(matches!(err, Error::FaultDidNotTake(_)), "{err}");
}
