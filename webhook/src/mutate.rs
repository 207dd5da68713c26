//! Mutation: protected Namespaces and PVCs get the annotations (and, for a Namespace, the label)
//! that say which tier they are in, what RPO it promises and which schedules cover them.
//!
//! Rules:
//! - only `CREATE`/`UPDATE` of a Namespace or PVC itself (no sub-resource), not being deleted,
//!   and in the protected set (an exempt namespace, or a PVC exempt with a reason, is not);
//! - `<prefix>/tier` and `<prefix>/rpo-target` annotations, and `<prefix>/covered-by` (schedule
//!   names, comma-separated) when covered; for a Namespace also the `<prefix>/tier` label, so
//!   Schedules can select by it;
//! - a key the object already has is never touched, whatever its value: a user's value stays;
//! - a missing `metadata.annotations`/`metadata.labels` map is created whole in one `add`;
//!   keys are JSON-pointer escaped (`~` → `~0`, `/` → `~1`);
//! - under `enforcement: dry-run` nothing is patched: the patch that would be applied is logged.

use policy::duration::format_go_duration_short;
use std::collections::BTreeMap;

use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, Patch, PatchOperation};
use policy::{CoverageIndex, Detail, Enforcement, ObjectKind};
use serde_json::{Map, Value};

use crate::review::{AdmissionRequest, Decision, ObjectHead, Operation};

/// The answer of `/mutate`: allowed, with a patch when something was missing.
pub fn decide(index: &CoverageIndex, request: &AdmissionRequest<'_>) -> Decision {
    let patch = patch_for(index, request);
    match patch {
        Some(patch) if index.policy().enforcement == Enforcement::DryRun => Decision {
            overridden: Some(format!("dry-run: would apply {}", describe(&patch))),
            ..Decision::allow()
        },
        patch => Decision {
            patch,
            ..Decision::allow()
        },
    }
}

/// The JSON patch that adds what a protected object is missing; `None` when nothing is.
pub fn patch_for(index: &CoverageIndex, request: &AdmissionRequest<'_>) -> Option<Patch> {
    if !matches!(request.operation, Operation::Create | Operation::Update)
        || request.is_subresource()
    {
        return None;
    }
    let kind = request.subject().object_kind()?;
    let object = ObjectHead::decode(request.object?).ok()?;
    if object.is_terminating() {
        return None;
    }
    let has_metadata = object.metadata.is_some();
    let facts = object.into_facts(kind, request);
    // Mutation reads the tier and coverage, never a gap's message.
    let verdict = facts.evaluate_at_admission(index, Detail::CodesOnly);
    if !verdict.is_protected() {
        return None;
    }
    let tier = verdict.tier.as_deref()?;
    let keys = &index.policy().keys;

    let mut annotations = vec![(keys.tier.as_str(), tier.to_string())];
    if let Some(target) = verdict.rpo_target {
        annotations.push((keys.rpo_target.as_str(), format_go_duration_short(target)));
    }
    if !verdict.covered_by.is_empty() {
        annotations.push((keys.covered_by.as_str(), verdict.covered_by.join(",")));
    }
    let mut labels = Vec::new();
    if kind == ObjectKind::Namespace && is_label_value(tier) {
        labels.push((keys.tier.as_str(), tier.to_string()));
    }

    let mut operations = Vec::new();
    if !has_metadata {
        operations.push(add(
            PointerBuf::from_tokens(["metadata"]),
            Value::Object(Map::new()),
        ));
    }
    let meta = facts.meta();
    add_missing(
        &mut operations,
        "annotations",
        &meta.annotations,
        annotations,
    );
    add_missing(&mut operations, "labels", &meta.labels, labels);
    (!operations.is_empty()).then_some(Patch(operations))
}

/// Adds the `wanted` entries the map lacks: one `add` of the whole map when it is empty (absent
/// or null in the object), else one `add` per missing key.
fn add_missing(
    operations: &mut Vec<PatchOperation>,
    field: &str,
    existing: &BTreeMap<String, String>,
    wanted: Vec<(&str, String)>,
) {
    let missing: Vec<(&str, String)> = wanted
        .into_iter()
        .filter(|(key, _)| !existing.contains_key(*key))
        .collect();
    if missing.is_empty() {
        return;
    }
    if existing.is_empty() {
        let map = missing
            .into_iter()
            .map(|(key, value)| (key.to_string(), Value::String(value)))
            .collect();
        operations.push(add(
            PointerBuf::from_tokens(["metadata", field]),
            Value::Object(map),
        ));
        return;
    }
    for (key, value) in missing {
        // `from_tokens` escapes each token: `~` → `~0`, then `/` → `~1`.
        operations.push(add(
            PointerBuf::from_tokens(["metadata", field, key]),
            Value::String(value),
        ));
    }
}

fn add(path: PointerBuf, value: Value) -> PatchOperation {
    PatchOperation::Add(AddOperation { path, value })
}

/// `add /metadata/annotations/backstop.io~1tier, ...` for logs.
fn describe(patch: &Patch) -> String {
    patch
        .0
        .iter()
        .map(|operation| match operation {
            PatchOperation::Add(add) => format!("add {}", add.path),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A valid Kubernetes label value: at most 63 characters, alphanumerics with `-`, `_`, `.`
/// inside. A tier name that is not one is written as an annotation only, never as a label the
/// apiserver would reject.
pub fn is_label_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    if bytes.is_empty() {
        return true;
    }
    bytes.len() <= 63
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && bytes
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review;
    use crate::validate::tests::{body, index, namespace_object, pvc_object};

    fn patched(body: &str) -> Option<Value> {
        let review = review::decode(body.as_bytes()).unwrap();
        let patch = patch_for(&index(), &review.request)?;
        let mut object = serde_json::to_value(review.request.object.unwrap()).unwrap();
        json_patch::patch(&mut object, &patch.0).unwrap();
        Some(object)
    }

    #[test]
    fn adds_covered_by_for_a_pvc_whose_data_a_snapshot_takes() {
        let object = pvc_object("registry", "blobs", "fast");
        let body = body(
            ("", "PersistentVolumeClaim"),
            "CREATE",
            "registry",
            "blobs",
            object,
            Value::Null,
        );
        let object = patched(&body).unwrap();
        assert_eq!(
            object["metadata"]["annotations"],
            serde_json::json!({
                "backstop.io/tier": "standard",
                "backstop.io/rpo-target": "25h",
                "backstop.io/covered-by": "daily",
            })
        );
        assert!(
            object["metadata"].get("labels").is_none(),
            "PVCs get no label"
        );
    }

    #[test]
    fn leaves_a_namespace_with_everything_in_place_alone() {
        let annotations = serde_json::json!({
            "backstop.io/tier": "critical",
            "backstop.io/rpo-target": "15m",
            "backstop.io/covered-by": "ten-minutes",
        });
        let object = namespace_object(
            "data-platform",
            serde_json::json!({"backstop.io/tier": "critical"}),
            annotations,
        );
        let body = body(
            ("", "Namespace"),
            "UPDATE",
            "data-platform",
            "data-platform",
            object.clone(),
            object,
        );
        assert_eq!(patched(&body), None);
    }

    #[test]
    fn adds_the_metadata_itself_when_an_object_has_none() {
        let body = body(
            ("", "Namespace"),
            "CREATE",
            "data-platform",
            "data-platform",
            serde_json::json!({"apiVersion": "v1", "kind": "Namespace"}),
            Value::Null,
        );
        let object = patched(&body).unwrap();
        assert_eq!(object["metadata"]["labels"]["backstop.io/tier"], "critical");
        assert_eq!(
            object["metadata"]["annotations"]["backstop.io/covered-by"],
            "ten-minutes"
        );
    }

    fn apply(object: Value, operations: Vec<PatchOperation>) -> Value {
        let mut object = object;
        json_patch::patch(&mut object, &operations).unwrap();
        object
    }

    fn wanted() -> Vec<(&'static str, String)> {
        vec![
            ("backstop.io/tier", "critical".to_string()),
            ("a~b/c", "x".to_string()),
        ]
    }

    #[test]
    fn creates_a_missing_map_in_one_operation() {
        let mut operations = Vec::new();
        add_missing(&mut operations, "annotations", &BTreeMap::new(), wanted());
        assert_eq!(operations.len(), 1);
        let object = apply(serde_json::json!({"metadata": {"name": "n"}}), operations);
        assert_eq!(
            object["metadata"]["annotations"],
            serde_json::json!({"backstop.io/tier": "critical", "a~b/c": "x"})
        );
    }

    #[test]
    fn replaces_a_null_or_empty_map_whole() {
        for existing in [serde_json::json!(null), serde_json::json!({})] {
            // A null map reaches the decision as an empty one.
            let mut operations = Vec::new();
            add_missing(&mut operations, "labels", &BTreeMap::new(), wanted());
            let object = apply(
                serde_json::json!({"metadata": {"name": "n", "labels": existing}}),
                operations,
            );
            assert_eq!(object["metadata"]["labels"]["a~b/c"], "x");
        }
    }

    #[test]
    fn escapes_tilde_before_slash_in_keys_added_one_by_one() {
        let existing: BTreeMap<String, String> = [("team".to_string(), "data".to_string())].into();
        let mut operations = Vec::new();
        add_missing(&mut operations, "annotations", &existing, wanted());
        let paths: Vec<String> = operations
            .iter()
            .map(|operation| match operation {
                PatchOperation::Add(add) => add.path.to_string(),
                other => panic!("unexpected {other}"),
            })
            .collect();
        assert_eq!(
            paths,
            [
                "/metadata/annotations/backstop.io~1tier",
                "/metadata/annotations/a~0b~1c"
            ]
        );
        let object = apply(
            serde_json::json!({"metadata": {"annotations": {"team": "data"}}}),
            operations,
        );
        assert_eq!(
            object["metadata"]["annotations"],
            serde_json::json!({"team": "data", "backstop.io/tier": "critical", "a~b/c": "x"})
        );
    }

    #[test]
    fn never_overwrites_a_key_the_object_has() {
        let existing: BTreeMap<String, String> =
            [("backstop.io/tier".to_string(), "archive".to_string())].into();
        let mut operations = Vec::new();
        add_missing(&mut operations, "annotations", &existing, wanted());
        assert_eq!(operations.len(), 1);
        assert_eq!(
            describe(&Patch(operations)),
            "add /metadata/annotations/a~0b~1c"
        );
    }

    #[test]
    fn accepts_only_valid_label_values() {
        assert!(is_label_value("critical"));
        assert!(is_label_value("tier-1.a_b"));
        assert!(!is_label_value("-critical"));
        assert!(!is_label_value("two words"));
        assert!(!is_label_value(&"a".repeat(64)));
    }
}
