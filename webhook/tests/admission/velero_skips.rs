//! Velero's silent file-system backup skips at admission: a new claim that Velero's file-system
//! backup will skip once a pod mounts it (`pkg/podvolume/backupper.go`, `BackupPodVolumes`) is
//! not counted as covered. The review is `pvc-create-in-protected-namespace` with its storage
//! class, volume mode or annotations changed; the platform's only StorageClass is kind's
//! local-path class.

use serde_json::{Value, json};

use crate::support::*;

/// The PVC-create review of the `data-platform` claim `clickhouse-data` (critical tier), with
/// `storageClassName` set to `class` and `annotations` added to the claim.
fn pvc_create(class: &str, annotations: &[(&str, &str)]) -> Value {
    let mut body = fixture("pvc-create-in-protected-namespace");
    let object = &mut body["request"]["object"];
    object["spec"]["storageClassName"] = json!(class);
    for (key, value) in annotations {
        object["metadata"]["annotations"][*key] = json!(value);
    }
    body
}

#[tokio::test]
async fn denies_a_new_local_path_claim_whose_host_path_volume_velero_will_skip() {
    let (_, _, validated) = admit(&platform(), &pvc_create("local-path", &[])).await;
    assert!(!validated.allowed);
    assert!(
        validated.message.contains("[volume-not-backed-up]")
            && validated
                .message
                .contains("storage class local-path (Rancher local-path) provisions hostPath")
            && validated.message.contains("volumeType: local"),
        "{}",
        validated.message
    );
}

#[tokio::test]
async fn a_new_local_path_claim_asking_for_a_local_volume_is_not_a_host_path_gap() {
    let body = pvc_create("local-path", &[("volumeType", "local")]);
    let (_, _, validated) = admit(&platform(), &body).await;
    // Still denied: the platform's hourly schedule misses the critical tier's 15 minutes.
    assert!(!validated.allowed);
    assert!(
        validated.message.contains("[rpo-exceeds-target]"),
        "{}",
        validated.message
    );
    assert!(!validated.message.contains("[volume-not-backed-up]"));
}

#[tokio::test]
async fn denies_a_new_block_mode_claim_that_only_file_system_backup_could_take() {
    let mut body = pvc_create("standard", &[]);
    body["request"]["object"]["spec"]["volumeMode"] = json!("Block");
    let (_, _, validated) = admit(&platform(), &body).await;
    assert!(!validated.allowed);
    assert!(
        validated.message.contains("[volume-not-backed-up]")
            && validated.message.contains("raw block device"),
        "{}",
        validated.message
    );
}
