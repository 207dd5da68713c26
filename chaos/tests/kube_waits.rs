//! The live run's Kubernetes calls against a mocked API server that answers with real
//! captured answers (`fixtures/apiserver-captures/`, named in each test).

#[path = "support/apiserver.rs"]
mod apiserver;

use std::time::Duration;

use apiserver::{Answer, MockApiServer, captured, captured_object};
use backstop_chaos::Error;
use backstop_chaos::error::EXIT_INFRASTRUCTURE;
use backstop_chaos::kube::namespace;
use backstop_chaos::outcome::RestorePhase;
use backstop_chaos::plan::manifests;
use backstop_chaos::velero::restore;
use serde_json::{Value, json};

const RESTORES: &str = "/apis/velero.io/v1/namespaces/velero/restores";
const LIFECYCLE: &str = "10-restore-watch-lifecycle-status-patch-bookmark";
const NAMESPACE_DELETE: &str = "15-namespace-delete-terminating-finalize";

/// Capture 10, exchange 1 (the watch), with only its first `n` events: a stream that a real
/// server sends when the Restore has not moved on yet.
fn lifecycle_watch_until(n: usize) -> Answer {
    let mut watch = captured(LIFECYCLE, 1);
    watch.events = watch
        .events
        .map(|events| events.into_iter().take(n).collect());
    watch
}

#[tokio::test]
async fn a_restore_is_watched_to_completed_and_keeps_its_warning_count() {
    // Capture 10: exchange 0 is the LIST, exchange 1 the WATCH (ADDED, InProgress, Completed
    // with 3 warnings, DELETED, BOOKMARK): no status subresource, status on the main object.
    let server = MockApiServer::new()
        .on("GET", RESTORES, captured(LIFECYCLE, 0))
        .on_watch(RESTORES, captured(LIFECYCLE, 1));
    let (client, _) = server.start().await;
    let finished = restore::wait_finished(&client, "restore-watch", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(finished.phase, RestorePhase::Completed);
    assert_eq!(finished.warnings, 3);
    assert_eq!(finished.errors, 0);
    let outcome = restore::outcome("restore-watch", "b1", &finished, &[], &[]);
    assert_eq!(outcome.warnings.len(), 3);
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.contains("fieldSelector=metadata.name%3Drestore-watch")),
        "the wait follows the one Restore: {:?}",
        server.requests()
    );
}

#[tokio::test]
async fn a_restore_that_stays_in_progress_times_out_naming_what_it_saw() {
    // Capture 10, exchange 1 cut after the InProgress event; then the watch stays silent.
    let server = MockApiServer::new()
        .on("GET", RESTORES, captured(LIFECYCLE, 0))
        .on_watch(RESTORES, lifecycle_watch_until(2));
    let (client, _) = server.start().await;
    let err = restore::wait_finished(&client, "restore-watch", Duration::from_millis(800))
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), EXIT_INFRASTRUCTURE);
    let text = err.to_string();
    assert!(
        text.contains("waiting for Restore velero/restore-watch to reach Completed"),
        "{text}"
    );
    assert!(
        text.contains("last seen: Restore restore-watch in phase InProgress"),
        "{text}"
    );
}

#[tokio::test]
async fn a_restore_is_created_strictly_from_the_plans_own_manifest() {
    // Capture 05, exchange 0: POST of a valid Restore answers 201 with the stored object.
    let server = MockApiServer::new().on("POST", RESTORES, captured("05-restore-create-201", 0));
    let (client, _) = server.start().await;
    let manifest = manifests::restore(
        "restore-1",
        "data-platform",
        "daily-20261203020000",
        "run-1",
    );
    let created = restore::create_labelled(&client, &manifest, "run-1")
        .await
        .unwrap();
    assert_eq!(created.metadata.name.as_deref(), Some("restore-1"));
    assert!(
        created.metadata.uid.is_some(),
        "the answer is the server's object"
    );
    assert_eq!(
        server.requests(),
        vec![format!("POST {RESTORES}?fieldValidation=Strict")]
    );
    let sent: Value = serde_json::from_str(&server.bodies()[0].1).unwrap();
    assert_eq!(sent["metadata"]["labels"]["backstop.io/chaos-run"], "run-1");
}

#[tokio::test]
async fn a_second_restore_of_the_same_name_is_an_api_error() {
    // Capture 06: the same POST again is 409 AlreadyExists.
    let server = MockApiServer::new().on(
        "POST",
        RESTORES,
        captured("06-restore-create-409-already-exists", 0),
    );
    let (client, _) = server.start().await;
    let manifest = manifests::restore(
        "restore-1",
        "data-platform",
        "daily-20261203020000",
        "run-1",
    );
    let err = restore::create_labelled(&client, &manifest, "run-1")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Kube { .. }), "{err}");
    assert!(err.to_string().contains("already exists"), "{err}");
}

/// The namespace of capture 15 as an item of a core list: no apiVersion/kind (capture 13).
fn namespace_list(object: Value) -> Answer {
    let mut item = object;
    let rv = item["metadata"]["resourceVersion"].clone();
    if let Some(map) = item.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
    }
    let list = json!({"kind": "NamespaceList", "apiVersion": "v1",
        "metadata": {"resourceVersion": rv}, "items": [item]});
    Answer {
        status: 200,
        content_type: Some("application/json".into()),
        body: format!("{list}\n"),
        events: None,
    }
}

#[tokio::test]
async fn deleting_the_namespace_waits_until_it_is_gone() {
    // Capture 15: exchange 1 is DELETE answering the Namespace in phase Terminating; exchange 2
    // the GET of it still Terminating (listed here as a core list item), exchange 5 the
    // finalized object that a watch then reports DELETED.
    let name = "capture-doomed";
    let path = format!("/api/v1/namespaces/{name}");
    let deleted = json!({"type": "DELETED", "object": captured_object(NAMESPACE_DELETE, 5)});
    let watch = Answer {
        status: 200,
        content_type: Some("application/json".into()),
        body: String::new(),
        events: Some(vec![deleted]),
    };
    let server = MockApiServer::new()
        .on("DELETE", &path, captured(NAMESPACE_DELETE, 1))
        .on(
            "GET",
            "/api/v1/namespaces",
            namespace_list(captured_object(NAMESPACE_DELETE, 2)),
        )
        .on_watch("/api/v1/namespaces", watch);
    let (client, _) = server.start().await;
    namespace::delete(&client, name).await.unwrap();
    namespace::wait_gone(&client, name, Duration::from_secs(10))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_namespace_stuck_terminating_times_out_naming_its_phase() {
    // Capture 15, exchange 2: the namespace stays Terminating (no namespace controller).
    let name = "capture-doomed";
    let server = MockApiServer::new().on(
        "GET",
        "/api/v1/namespaces",
        namespace_list(captured_object(NAMESPACE_DELETE, 2)),
    );
    let (client, _) = server.start().await;
    let err = namespace::wait_gone(&client, name, Duration::from_millis(800))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("waiting for namespace capture-doomed to be gone"),
        "{text}"
    );
    assert!(
        text.contains("namespace capture-doomed in phase Terminating, deletion requested"),
        "{text}"
    );
}
