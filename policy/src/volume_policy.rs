//! Velero's volume policies: the `resourcePolicy` ConfigMap a Backup (a Schedule's template)
//! names, whose `volumePolicies` choose per volume between `skip`, `snapshot` and `fs-backup`
//! (`internal/resourcepolicies`). The first policy whose conditions all match a volume decides;
//! a volume no policy matches is handled the legacy way (annotations, `snapshotVolumes`).
//!
//! - `document`: the ConfigMap read as Velero reads it (`getResourcePoliciesFromConfig`,
//!   `unmarshalResourcePolicies`, `BuildPolicy`, `Validate`), strictly and per release.
//! - `conditions`: the conditions and what they match (`volume_resources.go`).

mod conditions;
mod document;
#[cfg(test)]
mod tests;

use crate::objects::ConfigMapFacts;
use crate::versions::VeleroVersion;

pub use self::conditions::{
    Capacity, ClaimSide, Conditions, CsiCondition, NfsCondition, VolumeFacts, VolumeSide,
};

/// What a matching volume policy does with the volume (`VolumeActionType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeAction {
    /// Neither snapshot nor file-system backup.
    Skip,
    /// A snapshot (CSI or VolumeSnapshotLocation), even with `snapshotVolumes: false`; from the
    /// release after 1.18 it may name the VolumeSnapshotClass (`parameters.snapshotClass`).
    Snapshot { snapshot_class: Option<String> },
    /// File-system backup through a running pod that mounts it.
    FsBackup,
    /// Left to an external plugin (Velero's main, after 1.18): Velero takes neither copy.
    Custom,
}

impl VolumeAction {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Skip => "skip",
            Self::Snapshot { .. } => "snapshot",
            Self::FsBackup => "fs-backup",
            Self::Custom => "custom",
        }
    }
}

/// One entry of `volumePolicies`.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumePolicy {
    pub conditions: Conditions,
    pub action: VolumeAction,
}

/// The policies of one ConfigMap, as Velero builds them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VolumePolicies {
    /// Where they come from, for messages: `velero/volume-policy`.
    pub origin: String,
    pub volume_policies: Vec<VolumePolicy>,
    /// `includeExcludePolicy` (from 1.17): resource filters merged into the backup's scoped ones.
    pub include_exclude: Option<IncludeExcludePolicy>,
    /// `clusterScopedFilterPolicy` or `namespacedFilterPolicies` is set (after 1.18; read, not
    /// modelled beyond refusing them beside the old-style filters).
    pub fine_grained_filters: bool,
}

/// `includeExcludePolicy`: resources the backup includes or excludes on top of its own scoped
/// filters, which win (`ScopeIncludesExcludes.CombineWithPolicy`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IncludeExcludePolicy {
    pub included_cluster_scoped: Vec<String>,
    pub excluded_cluster_scoped: Vec<String>,
    pub included_namespace_scoped: Vec<String>,
    pub excluded_namespace_scoped: Vec<String>,
}

/// A matched policy: its action and its position in `volumePolicies`, for messages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Matched<'a> {
    pub index: usize,
    pub action: &'a VolumeAction,
}

impl VolumePolicies {
    /// The policies of `config_map` as Velero `version` reads and validates them; the error is
    /// the reason Velero gives when it refuses the backup (`FailedValidation`).
    pub fn from_config_map(
        config_map: &ConfigMapFacts,
        version: VeleroVersion,
    ) -> Result<Self, String> {
        document::read(config_map, version)
    }

    /// The first policy whose every condition matches (`Policies.match`); `None` when no policy
    /// matches and the legacy rules decide.
    pub fn matching(&self, volume: &VolumeFacts<'_>) -> Option<Matched<'_>> {
        self.volume_policies
            .iter()
            .enumerate()
            .find(|(_, policy)| policy.conditions.matches(volume))
            .map(|(index, policy)| Matched {
                index,
                action: &policy.action,
            })
    }
}
