//! Bodies derived from the captures: lists and watch lines with other items, in the shape the
//! server writes them. Which keys exist, what items carry and what a last page says follow the
//! captures named below; key order is serde_json's (alphabetical), which is the server's order
//! for custom resources and which no client depends on for built-in ones.

use serde_json::{Value, json};

/// The body of a list of a built-in resource, as capture 13 shows them: `kind`, `apiVersion`,
/// `metadata.resourceVersion` (no `continue` key on the last page) and `items`; items carry no
/// apiVersion or kind.
pub fn builtin_list(
    api_version: &str,
    kind: &str,
    resource_version: &str,
    items: &[Value],
) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|item| {
            let mut item = item.clone();
            if let Some(object) = item.as_object_mut() {
                object.remove("apiVersion");
                object.remove("kind");
            }
            item
        })
        .collect();
    json!({
        "kind": format!("{kind}List"),
        "apiVersion": api_version,
        "metadata": {"resourceVersion": resource_version},
        "items": items,
    })
}

/// The body of a list of a custom resource, as captures 03 (exchange 3) and 10 (exchange 0)
/// show them: `metadata.continue` `""` on the last page, items with apiVersion and kind.
pub fn custom_list(
    api_version: &str,
    kind: &str,
    resource_version: &str,
    items: &[Value],
) -> Value {
    json!({
        "apiVersion": api_version,
        "items": items,
        "kind": format!("{kind}List"),
        "metadata": {"continue": "", "resourceVersion": resource_version},
    })
}

/// One line of a watch stream: `{"type":TYPE,"object":OBJECT}` and a newline (capture 10).
pub fn watch_event(kind: &str, object: &Value) -> String {
    format!("{}\n", json!({"type": kind, "object": object}))
}

/// A BOOKMARK line: only apiVersion, kind and metadata.resourceVersion (capture 10, event 4).
pub fn bookmark(api_version: &str, kind: &str, resource_version: &str) -> String {
    watch_event(
        "BOOKMARK",
        &json!({"apiVersion": api_version, "kind": kind,
                "metadata": {"resourceVersion": resource_version}}),
    )
}

/// The BackupStorageLocation `velero install` creates (`default`, marked `spec.default`), as the
/// API server stores it once Velero has validated it: a custom resource keeps apiVersion and kind
/// in a list (capture 03, exchange 3), and Velero writes `status` with the object (its CRDs have
/// no status subresource, capture 04).
pub fn available_storage_location() -> Value {
    json!({
        "apiVersion": "velero.io/v1",
        "kind": "BackupStorageLocation",
        "metadata": {
            "creationTimestamp": "2026-11-30T09:12:44Z",
            "generation": 1,
            "labels": {"component": "velero"},
            "name": "default",
            "namespace": "velero",
            "resourceVersion": "398",
            "uid": "6f1f8c9e-3b7a-4c1e-9a55-0d2a7e4b8c21"
        },
        "spec": {
            "default": true,
            "objectStorage": {"bucket": "velero-backups"},
            "provider": "aws"
        },
        "status": {
            "lastValidationTime": "2026-11-30T09:13:02Z",
            "phase": "Available"
        }
    })
}
