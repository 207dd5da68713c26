//! The evidence fixtures (`fixtures/evidence/`: one folder of exported Velero records per
//! behaviour, judged against `cluster/` or `cluster-data-mover/`) and how the mock API server of
//! `apiserver.rs` serves them as a real API server would.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::apiserver::{Captured, MockApiServer, custom_list};

/// The moment every fixture is judged at.
pub const NOW: &str = "2026-12-03T02:30:00Z";

pub const BACKUPS: &str = "/apis/velero.io/v1/namespaces/velero/backups";
pub const POD_VOLUME_BACKUPS: &str = "/apis/velero.io/v1/namespaces/velero/podvolumebackups";
pub const DATA_UPLOADS: &str = "/apis/velero.io/v2alpha1/namespaces/velero/datauploads";
pub const VELERO_V1_DISCOVERY: &str = "/apis/velero.io/v1";
pub const VELERO_V2ALPHA1_DISCOVERY: &str = "/apis/velero.io/v2alpha1";

const UNSERVED: &str = "01-unserved-group-404-text-plain.json";
const LISTS: &str = "03-get-missing-object-and-missing-namespace.json";
const VELERO_DISCOVERED: &str = "04-discovery-velero-v1.json";

/// Every behaviour folder and the cluster folder it is judged against.
pub const SCENARIOS: [(&str, &str); 7] = [
    ("completed-backup-with-every-volume", "cluster"),
    ("completed-backup-skipped-hostpath-volume", "cluster"),
    ("partially-failed-newest-after-completed", "cluster"),
    ("overdue-schedule", "cluster"),
    ("in-progress-newest-not-judged", "cluster"),
    ("data-mover-upload-completed", "cluster-data-mover"),
    (
        "data-mover-upload-failed-after-completed",
        "cluster-data-mover",
    ),
];

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The cluster folder `scenario` is judged against.
pub fn cluster_of(scenario: &str) -> &'static str {
    SCENARIOS
        .iter()
        .find(|(name, _)| *name == scenario)
        .map(|(_, cluster)| *cluster)
        .unwrap_or_else(|| panic!("no scenario {scenario}"))
}

/// The cluster's manifests, and the scenario's own (a claim it adds, its exported records).
pub fn manifest_paths(scenario: &str) -> Vec<PathBuf> {
    vec![
        repo().join("fixtures/evidence").join(cluster_of(scenario)),
        repo().join("fixtures/evidence").join(scenario),
    ]
}

/// The items of kind `kind` in the scenario's exported `kind: List`, as a custom-resource list
/// answer keeps them (with apiVersion and kind).
pub fn fixture_items(scenario: &str, kind: &str) -> Vec<Value> {
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

/// A 200 custom-resource list: capture 03, exchange 3 (a RestoreList's status and headers),
/// with these items.
pub fn list_answer(api_version: &str, kind: &str, items: &[Value]) -> Captured {
    Captured::response(LISTS, 3).with_json(&custom_list(api_version, kind, "4417", items))
}

/// Discovery of `velero.io/v2alpha1` as a Velero with the data mover's CRDs serves it: capture
/// 04, exchange 0 (the APIResourceList of velero.io/v1) for the v2alpha1 group-version, with
/// its two resources.
pub fn v2alpha1_discovery() -> Captured {
    let captured = Captured::response(VELERO_DISCOVERED, 0);
    let mut list = captured.json();
    let template = list["resources"][0].clone();
    list["groupVersion"] = json!("velero.io/v2alpha1");
    list["resources"] = json!(
        [
            ("datauploads", "dataupload", "DataUpload"),
            ("datadownloads", "datadownload", "DataDownload")
        ]
        .iter()
        .map(|(name, singular, kind)| {
            let mut resource = template.clone();
            resource["name"] = json!(name);
            resource["singularName"] = json!(singular);
            resource["kind"] = json!(kind);
            resource["storageVersionHash"] = json!("b1Ez7mYqv2s=");
            resource
        })
        .collect::<Vec<_>>()
    );
    captured.with_json(&list)
}

/// Serves the scenario's Backups, PodVolumeBackups and (where it has any) DataUploads. A
/// scenario without DataUploads is a cluster that does not serve velero.io/v2alpha1, as the
/// captured one: capture 01, exchange 6 (an unknown version of a served group: text/plain
/// 404) for the list, exchange 3 for its discovery.
pub fn serve_records(server: &MockApiServer, scenario: &str) {
    server.get(
        VELERO_V1_DISCOVERY,
        Captured::response(VELERO_DISCOVERED, 0),
    );
    server.get(
        BACKUPS,
        list_answer("velero.io/v1", "Backup", &fixture_items(scenario, "Backup")),
    );
    server.get(
        POD_VOLUME_BACKUPS,
        list_answer(
            "velero.io/v1",
            "PodVolumeBackup",
            &fixture_items(scenario, "PodVolumeBackup"),
        ),
    );
    let uploads = fixture_items(scenario, "DataUpload");
    if uploads.is_empty() {
        server.get(DATA_UPLOADS, Captured::response(UNSERVED, 6));
        server.get(VELERO_V2ALPHA1_DISCOVERY, Captured::response(UNSERVED, 3));
    } else {
        server.get(
            DATA_UPLOADS,
            list_answer("velero.io/v2alpha1", "DataUpload", &uploads),
        );
        server.get(VELERO_V2ALPHA1_DISCOVERY, v2alpha1_discovery());
    }
}
