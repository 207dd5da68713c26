//! The run's Velero Schedule: its manifest validates strictly against the Velero CRD schema
//! (`ci/schemas/velero.io/schedule_v1.json`), and it is created with strict field validation
//! against a mocked API server answering as a real one (`fixtures/apiserver-captures/`).

#![allow(clippy::unwrap_used)] // test helpers, outside #[test] functions, may unwrap

#[path = "support/apiserver.rs"]
mod apiserver;
#[path = "support/schema.rs"]
mod schema;

use std::path::Path;

use apiserver::{Answer, MockApiServer, captured};
use backstop_chaos::kube::namespace::RUN_LABEL;
use backstop_chaos::plan::manifests;
use backstop_chaos::scenario;
use backstop_chaos::velero::schedule;
use serde_json::{Value, json};

const SCHEDULES: &str = "/apis/velero.io/v1/namespaces/velero/schedules";

fn shipped(name: &str) -> scenario::Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/scenarios")
        .join(format!("{name}.yaml"));
    scenario::load(&path).unwrap()
}

fn as_json(manifest: &str) -> Value {
    serde_saphyr::from_str(manifest).unwrap()
}

#[test]
fn every_shipped_scenarios_schedule_validates_strictly_against_the_velero_crd() {
    for name in [
        "namespace-loss",
        "pvc-corruption",
        "node-loss",
        "cluster-loss",
        "storage-loss",
    ] {
        let s = shipped(name);
        let manifest = manifests::schedule("backstop-x", "backstop-chaos", &s, "run-1");
        let violations = schema::velero_violations(&as_json(&manifest));
        assert!(violations.is_empty(), "{name}: {violations:?}\n{manifest}");
    }
}

#[test]
fn the_schema_check_rejects_an_unknown_field_and_a_wrong_type() {
    // The check must be able to fail: a misspelt field and a string where a bool belongs.
    let s = shipped("namespace-loss");
    let manifest = manifests::schedule("backstop-x", "backstop-chaos", &s, "run-1")
        .replace("snapshotVolumes: false", "snapshotVolume: false")
        .replace(
            "defaultVolumesToFsBackup: true",
            "defaultVolumesToFsBackup: \"yes\"",
        );
    let violations = schema::velero_violations(&as_json(&manifest));
    assert!(
        violations
            .iter()
            .any(|v| v == ".spec.template.snapshotVolume: unknown field"),
        "{violations:?}"
    );
    assert!(
        violations
            .iter()
            .any(|v| v.starts_with(".spec.template.defaultVolumesToFsBackup:")),
        "{violations:?}"
    );
}

#[test]
fn an_existing_clusters_location_is_the_schedules_storage_location() {
    let mut s = shipped("namespace-loss");
    s.cluster.provider = scenario::Provider::Existing;
    s.velero.install = false;
    s.velero.backup_storage_location = Some("primary".into());
    let object = as_json(&manifests::schedule(
        "backstop-x",
        "backstop-chaos",
        &s,
        "run-1",
    ));
    assert_eq!(object["spec"]["template"]["storageLocation"], "primary");
    assert!(schema::velero_violations(&object).is_empty());
}

/// Capture 21, exchange 0: the API server's answer creating a Schedule (201, the stored
/// object with managedFields, uid, resourceVersion, generation 1, and no status added).
fn created_schedule() -> Answer {
    captured("21-server-side-apply-schedule-conflict", 0)
}

#[tokio::test]
async fn the_schedule_is_created_strictly_and_labelled_for_the_run() {
    let server = MockApiServer::new().on("POST", SCHEDULES, created_schedule());
    let (client, _) = server.start().await;
    let s = shipped("namespace-loss");
    let manifest = manifests::schedule("backstop-critical", "backstop-chaos", &s, "run-1");
    let stored = schedule::create(&client, &manifest, "run-1").await.unwrap();
    assert!(
        stored.metadata.uid.is_some(),
        "the answer is the server's object"
    );
    assert_eq!(
        server.requests(),
        vec![format!("POST {SCHEDULES}?fieldValidation=Strict")],
        "strict field validation, or the server drops unknown fields with a warning (capture 08)"
    );
    let sent = server.bodies();
    let body: Value = serde_json::from_str(&sent[0].1).unwrap();
    assert_eq!(body["metadata"]["labels"][RUN_LABEL], "run-1");
    assert_eq!(
        body["spec"]["template"]["includedNamespaces"],
        json!(["backstop-chaos"])
    );
    assert!(schema::velero_violations(&body).is_empty(), "{body}");
}

#[tokio::test]
async fn a_schedule_the_server_refuses_as_unknown_fields_is_an_api_error() {
    // Capture 07, exchange 0: fieldValidation=Strict and unknown fields is a 400 BadRequest.
    let server = MockApiServer::new().on(
        "POST",
        SCHEDULES,
        captured("07-restore-create-unknown-field-strict-400", 0),
    );
    let (client, _) = server.start().await;
    let manifest = manifests::schedule(
        "backstop-x",
        "backstop-chaos",
        &shipped("namespace-loss"),
        "run-1",
    );
    let err = schedule::create(&client, &manifest, "run-1")
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), backstop_chaos::error::EXIT_INFRASTRUCTURE);
    assert!(err.to_string().contains("strict decoding error"), "{err}");
    assert!(
        err.to_string()
            .contains("create Schedule velero/backstop-x"),
        "{err}"
    );
}

#[tokio::test]
async fn deleting_a_schedule_that_is_gone_is_not_an_error() {
    // Capture 03, exchange 0: the JSON 404 NotFound of a missing Velero object (a DELETE of
    // one answers the same Status), with the resource and name this request asks for.
    let mut gone = captured("03-get-missing-object-and-missing-namespace", 0);
    gone.body = gone
        .body
        .replace("restores", "schedules")
        .replace("does-not-exist", "backstop-x");
    let server = MockApiServer::new().on("DELETE", &format!("{SCHEDULES}/backstop-x"), gone);
    let (client, _) = server.start().await;
    schedule::delete(&client, "backstop-x").await.unwrap();
    assert_eq!(server.requests().len(), 1);
}
