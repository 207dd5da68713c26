//! Strict validation of a custom resource against the vendored CRD schemas
//! (`ci/schemas/<group>/<kind>_<version>.json`), as the API server does with
//! `fieldValidation=Strict`: an unknown field is an error unless the schema says
//! `x-kubernetes-preserve-unknown-fields`, and types, enums, `required` and `minItems` hold.
//! The keywords handled are exactly those the vendored Velero schemas use.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;

use serde_json::Value;

/// The vendored schema of `kind` (`Schedule`) in `group` (`velero.io`), version v1.
pub fn crd_schema(group: &str, kind: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../ci/schemas")
        .join(group)
        .join(format!("{}_v1.json", kind.to_lowercase()));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file: Value = serde_json::from_str(&text).unwrap();
    file["schema"].clone()
}

/// Every violation of `object` against the schema of its own `apiVersion`/`kind` (a Velero
/// resource), as `path: problem`; empty when it validates.
pub fn velero_violations(object: &Value) -> Vec<String> {
    let kind = object["kind"].as_str().unwrap_or_default();
    let mut errors = Vec::new();
    check(object, &crd_schema("velero.io", kind), "", &mut errors);
    if let Some(metadata) = object["metadata"].as_object() {
        for key in metadata.keys() {
            if !OBJECT_META.contains(&key.as_str()) {
                errors.push(format!(".metadata.{key}: unknown field"));
            }
        }
    }
    errors
}

/// The fields of a Kubernetes ObjectMeta (the vendored schemas leave `metadata` open: the
/// API server checks it against ObjectMeta, strictly).
const OBJECT_META: &[&str] = &[
    "annotations",
    "creationTimestamp",
    "deletionGracePeriodSeconds",
    "deletionTimestamp",
    "finalizers",
    "generateName",
    "generation",
    "labels",
    "managedFields",
    "name",
    "namespace",
    "ownerReferences",
    "resourceVersion",
    "selfLink",
    "uid",
];

fn type_matches(value: &Value, name: &str) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    }
}

fn check(value: &Value, schema: &Value, path: &str, errors: &mut Vec<String>) {
    let at = if path.is_empty() { "<root>" } else { path };
    if let Some(types) = schema.get("type") {
        let allowed: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !allowed.iter().any(|t| type_matches(value, t)) {
            errors.push(format!("{at}: {value} is not of type {allowed:?}"));
            return;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {options:?}"));
    }
    if let Some(object) = value.as_object() {
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(required) {
                errors.push(format!("{at}: required field {required:?} is missing"));
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        let preserve = schema
            .get("x-kubernetes-preserve-unknown-fields")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        for (key, child) in object {
            let child_path = format!("{path}.{key}");
            match (
                properties.and_then(|p| p.get(key)),
                schema.get("additionalProperties"),
            ) {
                (Some(child_schema), _) => check(child, child_schema, &child_path, errors),
                (None, Some(Value::Bool(false))) if !preserve => {
                    errors.push(format!("{child_path}: unknown field"));
                }
                (None, Some(extra @ Value::Object(_))) => check(child, extra, &child_path, errors),
                (None, _) => {}
            }
        }
    }
    if let Some(items) = value.as_array() {
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
            && (items.len() as u64) < min
        {
            errors.push(format!("{at}: fewer than {min} items"));
        }
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                check(item, item_schema, &format!("{path}[{i}]"), errors);
            }
        }
    }
}
