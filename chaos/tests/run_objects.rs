//! Every object the live run creates, kept as data in `fixtures/chaos/run/objects/` (the
//! pvc-corruption scenario on kind, seed 42, which creates them all; the existing-cluster
//! DeleteBackupRequest; and cluster-loss's Restore of every namespace): built here by the functions the run sends them with, and equal to
//! the files. `ci/validate-manifests.py` validates those files strictly against the
//! Kubernetes OpenAPI schemas and the CRD schemas (unknown fields are errors, as with the
//! API server's `fieldValidation=Strict`); the Velero ones are also checked here against
//! `ci/schemas/velero.io/`.
//!
//! `BACKSTOP_UPDATE_FIXTURES=1 cargo nextest run -p backstop-chaos -E 'binary(run_objects)'`
//! rewrites the files after a deliberate change.
#![allow(clippy::unwrap_used)]

#[path = "support/schema.rs"]
mod schema;

use std::path::PathBuf;

use backstop_chaos::fault::corruption;
use backstop_chaos::kube::namespace;
use backstop_chaos::plan::{self, NAMESPACE, Workload, manifests};
use backstop_chaos::velero::{backup, download, restore, schedule};
use backstop_chaos::workload;
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every object, in the order the run creates them, as `(file name, object)`.
fn objects() -> Vec<(String, Value)> {
    let file = repo().join("fixtures/scenarios/pvc-corruption.yaml");
    let scenario = backstop_chaos::scenario::load(&file).unwrap();
    let run_id = plan::run_id(&scenario, 42);
    let mut out: Vec<(String, Value)> = Vec::new();
    let mut push = |kind: &str, value: Value| {
        let name = value["metadata"]["name"].as_str().unwrap().to_owned();
        out.push((
            format!("{:02}-{}-{name}.yaml", out.len() + 1, kind.to_lowercase()),
            value,
        ));
    };
    push(
        "Namespace",
        serde_json::to_value(namespace::manifest(NAMESPACE, &run_id)).unwrap(),
    );
    let path = repo().join("fixtures/workloads/ledger.yaml");
    let workloads = [Workload {
        name: "ledger".into(),
        manifest: std::fs::read_to_string(&path).unwrap(),
        path,
    }];
    for o in workload::prepare(&workloads, NAMESPACE, workload::LEDGER_IMAGE, &run_id).unwrap() {
        push(&o.resource.kind, serde_json::to_value(&o.object).unwrap());
    }
    let name = plan::schedule_name(&scenario, 42);
    let sent = schedule::object(
        &manifests::schedule(&name, NAMESPACE, &scenario, &run_id),
        &run_id,
    );
    push("Schedule", serde_json::to_value(sent.unwrap()).unwrap());
    let job = corruption::job_object(3_528, 4096, workload::LEDGER_IMAGE, &run_id).unwrap();
    push("Job", serde_json::to_value(job).unwrap());
    let backup_name = format!("{name}-20261203121600");
    let restore_name = plan::restore_name(&scenario, 42);
    let manifest = manifests::restore(&restore_name, NAMESPACE, &backup_name, &run_id);
    push(
        "Restore",
        serde_json::to_value(restore::labelled(&manifest, &run_id).unwrap()).unwrap(),
    );
    push(
        "DownloadRequest",
        download::request(
            &format!("{restore_name}-results"),
            "RestoreResults",
            &restore_name,
            &run_id,
        ),
    );
    push(
        "DeleteBackupRequest",
        backup::delete_request(&backup_name, &run_id),
    );
    // After cluster loss: the Restore of every namespace the backup holds (the shape a
    // cluster-loss run sends, built for the same run so the files stay one run's objects).
    let everything =
        manifests::restore_everything(&format!("{restore_name}-everything"), &backup_name, &run_id);
    push(
        "Restore",
        serde_json::to_value(restore::labelled(&everything, &run_id).unwrap()).unwrap(),
    );
    out
}

#[test]
fn every_object_the_run_creates_is_kept_as_a_fixture_equal_to_what_the_code_builds() {
    let dir = repo().join("fixtures/chaos/run/objects");
    let built = objects();
    if std::env::var_os("BACKSTOP_UPDATE_FIXTURES").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (file, object) in &built {
            std::fs::write(dir.join(file), serde_saphyr::to_string(object).unwrap()).unwrap();
        }
    }
    let mut kept: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    kept.sort();
    let names: Vec<String> = built.iter().map(|(f, _)| f.clone()).collect();
    assert_eq!(
        kept, names,
        "fixtures/chaos/run/objects/ holds exactly the run's objects"
    );
    for (file, object) in &built {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let stored: Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(&stored, object, "{file} differs from what the run sends");
    }
}

#[test]
fn the_run_s_velero_objects_validate_strictly_against_their_crds() {
    let velero: Vec<(String, Value)> = objects()
        .into_iter()
        .filter(|(_, o)| o["apiVersion"] == "velero.io/v1")
        .collect();
    let kinds: Vec<&str> = velero
        .iter()
        .map(|(_, o)| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "Schedule",
            "Restore",
            "DownloadRequest",
            "DeleteBackupRequest",
            "Restore"
        ]
    );
    for (file, object) in &velero {
        let violations = schema::velero_violations(object);
        assert!(violations.is_empty(), "{file}: {violations:?}");
    }
}

#[test]
fn every_object_carries_the_run_s_label() {
    for (file, object) in objects() {
        assert_eq!(
            object["metadata"]["labels"]["backstop.io/chaos-run"],
            "backstop-pvc-corruption-0000002a",
            "{file}"
        );
    }
}
