//! A resource-policy ConfigMap read as Velero reads it: exactly one data key
//! (`getResourcePoliciesFromConfig`), decoded strictly, unknown keys refused
//! (`unmarshalResourcePolicies`, `decodeStruct` with `KnownFields`), the conditions rebuilt
//! (`BuildPolicy`, `unmarshalVolConditions`, `parseCapacity`) and validated (`Policies.Validate`).
//! Keys and actions a release does not know fail the backup in that release.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::objects::ConfigMapFacts;
use crate::versions::{VeleroVersion, VersionedRule};

use super::conditions::{Capacity, Conditions, CsiCondition, NfsCondition};
use super::{IncludeExcludePolicy, VolumeAction, VolumePolicies, VolumePolicy};

/// The only `version` Velero accepts (`currentSupportDataVersion`).
const SUPPORTED_VERSION: &str = "v1";

pub(super) fn read(
    config_map: &ConfigMapFacts,
    version: VeleroVersion,
) -> Result<VolumePolicies, String> {
    let origin = format!(
        "{}/{}",
        config_map.metadata.namespace_or_default(),
        config_map.metadata.name
    );
    let [(_, text)] = config_map.data.iter().collect::<Vec<_>>()[..] else {
        return Err(format!(
            "illegal resource policies {origin} configmap: it must hold exactly one data key, it holds {}",
            config_map.data.len()
        ));
    };
    let document = decode(text)?;
    let root = mapping(&document, "the document")?;
    let mut known = vec!["version", "volumePolicies"];
    if version.has(VersionedRule::IncludeExcludePolicy) {
        known.push("includeExcludePolicy");
    }
    if version.has(VersionedRule::FineGrainedFilterPolicies) {
        known.extend(["clusterScopedFilterPolicy", "namespacedFilterPolicies"]);
    }
    only_known(root, &known, "the document", version)?;
    let mut policies = Vec::new();
    if let Some(list) = root.get("volumePolicies").filter(|value| !value.is_null()) {
        let Value::Array(items) = list else {
            return Err("volumePolicies must be a list".to_string());
        };
        for (index, item) in items.iter().enumerate() {
            policies.push(volume_policy(item, index, version)?);
        }
    }
    let data_version = match root.get("version") {
        None | Some(Value::Null) => String::new(),
        Some(value) => scalar(value, "version")?,
    };
    // Validate: the version first, then each policy's action and conditions.
    if data_version != SUPPORTED_VERSION {
        return Err(format!(
            "incompatible version number {data_version} with supported version {SUPPORTED_VERSION}"
        ));
    }
    let include_exclude = match root.get("includeExcludePolicy").filter(|v| !v.is_null()) {
        Some(policy) => Some(include_exclude_policy(policy, version)?),
        None => None,
    };
    let fine_grained_filters = ["clusterScopedFilterPolicy", "namespacedFilterPolicies"]
        .iter()
        .any(|key| root.get(*key).is_some_and(|value| !value.is_null()));
    Ok(VolumePolicies {
        origin,
        volume_policies: policies,
        include_exclude,
        fine_grained_filters,
    })
}

fn decode(text: &str) -> Result<Value, String> {
    let documents: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|error| {
        format!(
            "failed to decode yaml data into resource policies: {}",
            error.without_snippet()
        )
    })?;
    match documents.into_iter().find(|document| !document.is_null()) {
        Some(document) => Ok(document),
        // yaml.v3's Decode on an empty stream: io.EOF.
        None => Err("failed to decode yaml data into resource policies: EOF".to_string()),
    }
}

fn volume_policy(
    item: &Value,
    index: usize,
    version: VeleroVersion,
) -> Result<VolumePolicy, String> {
    let at = format!("volumePolicies[{index}]");
    let policy = mapping(item, &at)?;
    only_known(policy, &["conditions", "action"], &at, version)?;
    let conditions = match policy.get("conditions") {
        None | Some(Value::Null) => Map::new(),
        Some(value) => mapping(value, &format!("{at}.conditions"))?.clone(),
    };
    let action = match policy.get("action") {
        None | Some(Value::Null) => Map::new(),
        Some(value) => mapping(value, &format!("{at}.action"))?.clone(),
    };
    only_known(
        &action,
        &["type", "parameters"],
        &format!("{at}.action"),
        version,
    )?;
    let conditions = self::conditions(&conditions, &format!("{at}.conditions"), version)?;
    let action = self::action(&action, &format!("{at}.action"), version)?;
    Ok(VolumePolicy { conditions, action })
}

/// `unmarshalVolConditions` and the checks of `BuildPolicy` and `Validate`.
fn conditions(
    map: &Map<String, Value>,
    at: &str,
    version: VeleroVersion,
) -> Result<Conditions, String> {
    let mut known = vec!["capacity", "storageClass", "nfs", "csi", "volumeTypes"];
    if version.has(VersionedRule::VolumePolicyPvcLabels) {
        known.push("pvcLabels");
    }
    if version.has(VersionedRule::VolumePolicyPvcPhase) {
        known.push("pvcPhase");
    }
    if version.has(VersionedRule::VolumePolicyPvcModes) {
        known.extend(["pvcVolumeMode", "pvcAccessModes"]);
    }
    only_known(map, &known, at, version)?;
    let field = |key: &str| map.get(key).filter(|value| !value.is_null());
    let text = |key: &str| {
        field(key)
            .map(|value| scalar(value, &format!("{at}.{key}")))
            .transpose()
    };
    let list = |key: &str| {
        field(key)
            .map(|value| string_list(value, &format!("{at}.{key}")))
            .transpose()
            .map(Option::unwrap_or_default)
    };
    let capacity = Capacity::parse(&text("capacity")?.unwrap_or_default())?;
    capacity.validate()?;
    let nfs = match field("nfs") {
        None => None,
        Some(value) => {
            let nfs = mapping(value, &format!("{at}.nfs"))?;
            only_known(nfs, &["server", "path"], &format!("{at}.nfs"), version)?;
            Some(NfsCondition {
                server: optional_scalar(nfs.get("server"), &format!("{at}.nfs.server"))?,
                path: optional_scalar(nfs.get("path"), &format!("{at}.nfs.path"))?,
            })
        }
    };
    let csi = match field("csi") {
        None => None,
        Some(value) => {
            let csi = mapping(value, &format!("{at}.csi"))?;
            let mut keys = vec!["driver"];
            if version.has(VersionedRule::VolumePolicyPvcLabels) {
                keys.push("volumeAttributes");
            }
            only_known(csi, &keys, &format!("{at}.csi"), version)?;
            let attributes = csi.get("volumeAttributes").filter(|value| !value.is_null());
            let condition = CsiCondition {
                driver: optional_scalar(csi.get("driver"), &format!("{at}.csi.driver"))?,
                volume_attributes: attributes
                    .map(|value| string_map(value, &format!("{at}.csi.volumeAttributes")))
                    .transpose()?
                    .unwrap_or_default(),
            };
            // csiCondition.validate (the key exists from 1.16 on).
            if condition.driver.is_empty() && attributes.is_some() {
                return Err(
                    "csi driver should not be empty when filtering by volume attributes"
                        .to_string(),
                );
            }
            Some(condition)
        }
    };
    let pvc_labels = match field("pvcLabels") {
        None => BTreeMap::new(),
        Some(value @ Value::Object(_)) => string_map(value, &format!("{at}.pvcLabels"))?,
        Some(other) => {
            return Err(format!(
                "pvcLabels must be a map of string to string, got {}",
                kind(other)
            ));
        }
    };
    if let Some(mode) = field("pvcVolumeMode")
        && !mode.is_string()
    {
        return Err(format!(
            "pvcVolumeMode must be a string, got {}",
            kind(mode)
        ));
    }
    Ok(Conditions {
        capacity,
        storage_classes: list("storageClass")?,
        nfs,
        csi,
        volume_types: list("volumeTypes")?,
        pvc_labels,
        pvc_phases: list("pvcPhase")?,
        pvc_volume_mode: text("pvcVolumeMode")?.unwrap_or_default(),
        pvc_access_modes: list("pvcAccessModes")?,
    })
}

/// `Action.validate`: the types a release knows, and (after 1.18) the parameters it checks.
fn action(
    map: &Map<String, Value>,
    at: &str,
    version: VeleroVersion,
) -> Result<VolumeAction, String> {
    let action_type = optional_scalar(map.get("type"), &format!("{at}.type"))?;
    let parameters = match map.get("parameters").filter(|value| !value.is_null()) {
        None => Map::new(),
        Some(value) => mapping(value, &format!("{at}.parameters"))?.clone(),
    };
    let action = match action_type.as_str() {
        "skip" => VolumeAction::Skip,
        "fs-backup" => VolumeAction::FsBackup,
        "snapshot" => VolumeAction::Snapshot {
            snapshot_class: None,
        },
        "custom" if version.has(VersionedRule::VolumePolicyActionParameters) => {
            VolumeAction::Custom
        }
        other => return Err(format!("invalid action type {other}")),
    };
    if !version.has(VersionedRule::VolumePolicyActionParameters) {
        return Ok(action);
    }
    let action_name = action.as_str();
    let snapshot_only = |name: &str| {
        format!(
            "parameter {name:?} is only supported for the \"snapshot\" action, but the action type is {action_name:?}"
        )
    };
    if let Some(mover) = parameters.get("dataMover") {
        if !matches!(action, VolumeAction::Snapshot { .. }) {
            return Err(snapshot_only("dataMover"));
        }
        let Value::String(mover) = mover else {
            return Err(format!(
                "parameter \"dataMover\" must be a string, got {}",
                kind(mover)
            ));
        };
        if !["", "velero", "velero-fs", "velero-block"].contains(&mover.as_str()) {
            return Err(format!(
                "invalid \"dataMover\" value {mover:?}, valid values are \"velero\", \"velero-fs\", \"velero-block\""
            ));
        }
    }
    match (parameters.get("snapshotClass"), action) {
        (None, action) => Ok(action),
        (Some(_), action) if !matches!(action, VolumeAction::Snapshot { .. }) => {
            Err(snapshot_only("snapshotClass"))
        }
        (Some(Value::String(class)), _) if class.is_empty() => {
            Err("parameter \"snapshotClass\" must not be empty".to_string())
        }
        (Some(Value::String(class)), _) => Ok(VolumeAction::Snapshot {
            snapshot_class: Some(class.clone()),
        }),
        (Some(other), _) => Err(format!(
            "parameter \"snapshotClass\" must be a string, got {}",
            kind(other)
        )),
    }
}

/// `IncludeExcludePolicy.Validate` (from 1.17): no `*`, no resource both included and excluded.
fn include_exclude_policy(
    value: &Value,
    version: VeleroVersion,
) -> Result<IncludeExcludePolicy, String> {
    let at = "includeExcludePolicy";
    let policy = mapping(value, at)?;
    let known = [
        "includedClusterScopedResources",
        "excludedClusterScopedResources",
        "includedNamespaceScopedResources",
        "excludedNamespaceScopedResources",
    ];
    only_known(policy, &known, at, version)?;
    let list = |key: &str| match policy.get(key).filter(|value| !value.is_null()) {
        None => Ok(Vec::new()),
        Some(value) => string_list(value, &format!("{at}.{key}")),
    };
    let read = IncludeExcludePolicy {
        included_cluster_scoped: list("includedClusterScopedResources")?,
        excluded_cluster_scoped: list("excludedClusterScopedResources")?,
        included_namespace_scoped: list("includedNamespaceScopedResources")?,
        excluded_namespace_scoped: list("excludedNamespaceScopedResources")?,
    };
    for (includes, excludes) in [
        (&read.included_cluster_scoped, &read.excluded_cluster_scoped),
        (
            &read.included_namespace_scoped,
            &read.excluded_namespace_scoped,
        ),
    ] {
        if includes
            .iter()
            .chain(excludes.iter())
            .any(|item| item == "*")
        {
            return Err("cannot use '*' in includes or excludes filters in the policy".to_string());
        }
        if let Some(both) = excludes.iter().find(|item| includes.contains(item)) {
            return Err(format!(
                "excludes list cannot contain an item in the includes list: {both}"
            ));
        }
    }
    Ok(read)
}

fn mapping<'v>(value: &'v Value, at: &str) -> Result<&'v Map<String, Value>, String> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(format!("{at} must be a mapping, got {}", kind(other))),
    }
}

/// `KnownFields(true)`: a key the release's struct does not have fails the decoding.
fn only_known(
    map: &Map<String, Value>,
    known: &[&str],
    at: &str,
    version: VeleroVersion,
) -> Result<(), String> {
    match map.keys().find(|key| !known.contains(&key.as_str())) {
        None => Ok(()),
        Some(key) => Err(format!(
            "field {key} not found in {at} (Velero {version} knows {})",
            known.join(", ")
        )),
    }
}

/// A YAML scalar decoded into a Go `string`: strings, numbers and booleans as written; null as
/// the empty string.
fn scalar(value: &Value, at: &str) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(flag) => Ok(flag.to_string()),
        Value::Null => Ok(String::new()),
        other => Err(format!("{at} must be a string, got {}", kind(other))),
    }
}

fn optional_scalar(value: Option<&Value>, at: &str) -> Result<String, String> {
    value.map_or(Ok(String::new()), |value| scalar(value, at))
}

fn string_list(value: &Value, at: &str) -> Result<Vec<String>, String> {
    match value {
        Value::Array(items) => items.iter().map(|item| scalar(item, at)).collect(),
        other => Err(format!(
            "{at} must be a list of strings, got {}",
            kind(other)
        )),
    }
}

fn string_map(value: &Value, at: &str) -> Result<BTreeMap<String, String>, String> {
    mapping(value, at)?
        .iter()
        .map(|(key, value)| Ok((key.clone(), scalar(value, &format!("{at}.{key}"))?)))
        .collect()
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}
