//! The template's `resourcePolicy`: the ConfigMap of volume policies Velero reads before it
//! starts a backup (`pkg/controller/backup_controller.go`, `prepareBackupRequest`;
//! `internal/resourcepolicies`, `GetResourcePoliciesFromBackup`). A ConfigMap that is missing or
//! that Velero cannot read fails the backup's validation, as does an `includeExcludePolicy`
//! beside the old-style resource filters.

use std::sync::Arc;

use crate::velero::BackupSpec;
use crate::verdict::GapCode;
use crate::volume_policy::VolumePolicies;

use super::ServerView;

pub(super) fn read(
    template: &BackupSpec,
    view: &ServerView,
    problems: &mut Vec<String>,
    warnings: &mut Vec<(GapCode, String)>,
) -> Option<Arc<VolumePolicies>> {
    let reference = template.resource_policy.as_ref()?;
    // Velero reads the reference only when it names a ConfigMap.
    if !reference.kind.eq_ignore_ascii_case("configmap") {
        return None;
    }
    let name = format!("{}/{}", view.velero_namespace, reference.name);
    let Some(config_map) = view.config_maps.get(&reference.name) else {
        if view.config_maps_listed {
            problems.push(format!(
                "spec.template.resourcePolicy names ConfigMap {name}, which does not exist (Velero: fail to get ResourcePolicies {name} ConfigMap); create it or remove the reference"
            ));
        } else {
            warnings.push((
                GapCode::VolumePoliciesUnknown,
                format!(
                    "its spec.template.resourcePolicy names ConfigMap {name}, which the manifests do not hold, so its volume policies (skip, snapshot, fs-backup) are not judged; add the ConfigMap to the manifests"
                ),
            ));
        }
        return None;
    };
    let policies = match VolumePolicies::from_config_map(config_map, view.version()) {
        Ok(policies) => policies,
        Err(reason) => {
            problems.push(format!(
                "the volume policies in ConfigMap {name} (spec.template.resourcePolicy) fail Velero {}'s checks: {reason}",
                view.version()
            ));
            return None;
        }
    };
    let old_style = template.include_cluster_resources.is_some()
        || template
            .included_resources
            .as_ref()
            .is_some_and(|list| !list.is_empty())
        || template
            .excluded_resources
            .as_ref()
            .is_some_and(|list| !list.is_empty());
    if old_style && policies.include_exclude.is_some() {
        problems.push(format!(
            "includedResources, excludedResources and includeClusterResources are old filter parameters; they cannot be used with the includeExcludePolicy of ConfigMap {name}: use the scoped resource filters"
        ));
    }
    if old_style && policies.fine_grained_filters {
        problems.push(format!(
            "includedResources, excludedResources and includeClusterResources are old filter parameters; they cannot be used with the namespace-scoped or cluster-scoped filter policies of ConfigMap {name}"
        ));
    }
    Some(Arc::new(policies))
}
