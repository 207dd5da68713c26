//! Velero's resource filters: the old `includedResources`/`excludedResources`/
//! `includeClusterResources` trio and the newer scoped `included/excluded{Cluster,Namespace}
//! ScopedResources`, with resource names resolved through their aliases.
//!
//! Velero resolves names with API discovery; Backstop has no discovery on its pure path, so it
//! resolves the aliases of the resources coverage depends on (short name, singular, kind, and the
//! `resource.group` form). Other names are compared lower-cased as written.

use std::collections::BTreeSet;

use crate::velero::BackupSpec;
use crate::volume_policy::IncludeExcludePolicy;

pub const PVCS: &str = "persistentvolumeclaims";
pub const PVS: &str = "persistentvolumes";
pub const PODS: &str = "pods";
pub const NAMESPACES: &str = "namespaces";

const ALIASES: &[(&str, &[&str])] = &[
    (
        PVCS,
        &["pvc", "persistentvolumeclaim", "persistentvolumeclaims."],
    ),
    (PVS, &["pv", "persistentvolume", "persistentvolumes."]),
    (PODS, &["po", "pod", "pods."]),
    (NAMESPACES, &["ns", "namespace", "namespaces."]),
    ("events", &["ev", "event", "events."]),
    ("events.events.k8s.io", &["event.events.k8s.io"]),
];

/// The canonical name of a resource as Velero would resolve it (`pvc` → `persistentvolumeclaims`).
pub fn canonical(resource: &str) -> String {
    let lowered = resource.trim().to_ascii_lowercase();
    ALIASES
        .iter()
        .find(|(canonical, aliases)| *canonical == lowered || aliases.contains(&lowered.as_str()))
        .map(|(canonical, _)| (*canonical).to_string())
        .unwrap_or(lowered)
}

/// One include/exclude pair, Velero's `collections.IncludesExcludes`: excludes win; an empty
/// include list or `*` includes everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncludesExcludes {
    includes: BTreeSet<String>,
    excludes: BTreeSet<String>,
}

/// Which of Velero's two validations a pair of lists gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Validation {
    /// `collections.ValidateIncludesExcludes`: `*` is never an exclude.
    Legacy,
    /// `collections.ValidateScopedIncludesExcludes`: `*` alone may be the excludes (nothing of
    /// that scope), with no includes beside it.
    Scoped,
}

impl IncludesExcludes {
    fn new(
        includes: &Option<Vec<String>>,
        excludes: &Option<Vec<String>>,
        validation: Validation,
    ) -> Result<Self, String> {
        let resolve = |list: &Option<Vec<String>>| -> BTreeSet<String> {
            list.iter().flatten().map(|name| canonical(name)).collect()
        };
        let filter = Self {
            includes: resolve(includes),
            excludes: resolve(excludes),
        };
        let star_excluded = filter.excludes.contains("*");
        match validation {
            Validation::Legacy if star_excluded => {
                return Err("excludes list must not contain '*'".to_string());
            }
            Validation::Scoped if star_excluded && filter.excludes.len() > 1 => {
                return Err(
                    "excludes list must either contain '*' only, or a list of resources"
                        .to_string(),
                );
            }
            Validation::Scoped if star_excluded && !filter.includes.is_empty() => {
                return Err(
                    "when the excludes list is '*', the includes list must be empty".to_string(),
                );
            }
            Validation::Legacy | Validation::Scoped => {}
        }
        if filter.includes.contains("*") && filter.includes.len() > 1 {
            return Err(
                "includes list must either contain '*' only, or a list of resources".to_string(),
            );
        }
        if let Some(both) = filter.includes.intersection(&filter.excludes).next() {
            return Err(format!("{both:?} is both included and excluded"));
        }
        Ok(filter)
    }

    fn includes_all(&self) -> bool {
        self.includes.is_empty() || self.includes.contains("*")
    }

    fn should_include(&self, resource: &str) -> bool {
        !self.excludes.contains(resource)
            && (self.includes_all() || self.includes.contains(resource))
    }

    /// The excludes name `resource`, or are `*` (a scoped filter's "nothing of this scope").
    fn explicitly_excludes(&self, resource: &str) -> bool {
        self.excludes.contains(resource) || self.excludes.contains("*")
    }

    fn is_empty(&self) -> bool {
        self.includes.is_empty() && self.excludes.is_empty()
    }

    /// `ScopeIncludesExcludes.CombineWithPolicy` for one scope: a policy's item is added only
    /// where the backup's own lists say nothing about it (they win).
    fn combine(&mut self, includes: &[String], excludes: &[String]) {
        let says = |set: &BTreeSet<String>, item: &str| set.contains("*") || set.contains(item);
        for item in excludes.iter().map(|item| canonical(item)) {
            if !says(&self.includes, &item) && !says(&self.excludes, &item) {
                self.excludes.insert(item);
            }
        }
        for item in includes.iter().map(|item| canonical(item)) {
            if !says(&self.includes, &item) && !says(&self.excludes, &item) {
                self.includes.insert(item);
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceFilter {
    /// `includedResources`, `excludedResources`, `includeClusterResources`.
    Legacy {
        resources: IncludesExcludes,
        include_cluster_resources: Option<bool>,
    },
    /// `included/excludedClusterScopedResources`, `included/excludedNamespaceScopedResources`.
    Scoped {
        cluster: IncludesExcludes,
        namespaced: IncludesExcludes,
    },
}

impl ResourceFilter {
    /// Velero refuses (FailedValidation) a backup that mixes the two filter styles.
    pub fn from_spec(spec: &BackupSpec) -> Result<Self, String> {
        let legacy = spec.included_resources.is_some()
            || spec.excluded_resources.is_some()
            || spec.include_cluster_resources.is_some();
        let scoped = spec.included_cluster_scoped_resources.is_some()
            || spec.excluded_cluster_scoped_resources.is_some()
            || spec.included_namespace_scoped_resources.is_some()
            || spec.excluded_namespace_scoped_resources.is_some();
        if legacy && scoped {
            return Err("includedResources/excludedResources/includeClusterResources cannot be combined with the scoped resource filters".to_string());
        }
        if scoped {
            return Ok(Self::Scoped {
                cluster: IncludesExcludes::new(
                    &spec.included_cluster_scoped_resources,
                    &spec.excluded_cluster_scoped_resources,
                    Validation::Scoped,
                )?,
                namespaced: IncludesExcludes::new(
                    &spec.included_namespace_scoped_resources,
                    &spec.excluded_namespace_scoped_resources,
                    Validation::Scoped,
                )?,
            });
        }
        Ok(Self::Legacy {
            resources: IncludesExcludes::new(
                &spec.included_resources,
                &spec.excluded_resources,
                Validation::Legacy,
            )?,
            include_cluster_resources: spec.include_cluster_resources,
        })
    }

    /// Merges a resource policy's `includeExcludePolicy` into the scoped filters (`pkg/backup/
    /// backup.go`, `BackupWithResolvers`; `ScopeIncludesExcludes.CombineWithPolicy`). Velero uses
    /// the scoped filters whenever the old-style fields are unset or empty, so a backup without
    /// any filter takes the policy's lists as its own; beside the old-style fields the policy is
    /// refused by validation (`crate::schedule`), and nothing is merged here.
    pub fn combine_with_policy(&mut self, policy: &IncludeExcludePolicy) {
        if let Self::Legacy {
            resources,
            include_cluster_resources: None,
        } = self
            && resources.is_empty()
        {
            *self = Self::Scoped {
                cluster: IncludesExcludes::default(),
                namespaced: IncludesExcludes::default(),
            };
        }
        if let Self::Scoped {
            cluster,
            namespaced,
        } = self
        {
            namespaced.combine(
                &policy.included_namespace_scoped,
                &policy.excluded_namespace_scoped,
            );
            cluster.combine(
                &policy.included_cluster_scoped,
                &policy.excluded_cluster_scoped,
            );
        }
    }

    /// No filter at all: every resource.
    pub fn everything() -> Self {
        Self::Legacy {
            resources: IncludesExcludes::default(),
            include_cluster_resources: None,
        }
    }

    /// Is a namespaced resource (`persistentvolumeclaims`, `pods`) backed up?
    pub fn includes_namespaced(&self, resource: &str) -> bool {
        match self {
            Self::Legacy { resources, .. } => resources.should_include(resource),
            Self::Scoped { namespaced, .. } => namespaced.should_include(resource),
        }
    }

    /// Is the PersistentVolume bound to an included claim backed up (what a native
    /// VolumeSnapshotLocation snapshot needs)? The PVC's action brings it in as an additional
    /// item, which `itemInclusionChecks` (`pkg/backup/item_backupper.go`) drops only when the
    /// filter excludes it (`GlobalIncludesExcludes.ShouldExclude`,
    /// `ScopeIncludesExcludes.ShouldExclude` in `pkg/util/collections`): with
    /// `includeClusterResources: false`, when named in the excludes, or, with
    /// `includeClusterResources` unset, when an include list leaves it out;
    /// `includeClusterResources: true` keeps it whatever the include list says.
    pub fn includes_bound_volumes(&self) -> bool {
        match self {
            Self::Legacy {
                resources,
                include_cluster_resources,
            } => match include_cluster_resources {
                Some(false) => false,
                Some(true) => !resources.explicitly_excludes(PVS),
                None => resources.should_include(PVS),
            },
            Self::Scoped { cluster, .. } => !cluster.explicitly_excludes(PVS),
        }
    }

    /// Are Namespace objects backed up? The old filter treats `namespaces` as any cluster-scoped
    /// resource (`GlobalIncludesExcludes.ShouldInclude`): an include list without it, or
    /// `includeClusterResources: false`, drops the Namespace objects; the scoped filter keeps
    /// them unless its cluster excludes name them or are `*` (`ScopeIncludesExcludes.ShouldInclude`).
    pub fn includes_namespace_objects(&self) -> bool {
        match self {
            Self::Legacy {
                resources,
                include_cluster_resources,
            } => *include_cluster_resources != Some(false) && resources.should_include(NAMESPACES),
            Self::Scoped { cluster, .. } => !cluster.explicitly_excludes(NAMESPACES),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Option<Vec<String>> {
        Some(items.iter().map(|item| item.to_string()).collect())
    }

    #[test]
    fn resolves_pvc_aliases() {
        for alias in [
            "pvc",
            "PVC",
            "persistentvolumeclaim",
            "persistentvolumeclaims",
        ] {
            assert_eq!(canonical(alias), PVCS, "{alias}");
        }
        assert_eq!(canonical("pv"), PVS);
        assert_eq!(canonical("configmaps"), "configmaps");
    }

    #[test]
    fn empty_filter_includes_everything() {
        let filter = ResourceFilter::from_spec(&BackupSpec::default()).unwrap();
        assert_eq!(filter, ResourceFilter::everything());
        assert!(filter.includes_namespaced(PVCS));
        assert!(filter.includes_bound_volumes());
        assert!(filter.includes_namespace_objects());
    }

    #[test]
    fn include_list_by_alias_includes_the_canonical_resource() {
        let spec = BackupSpec {
            included_resources: list(&["pvc", "pv"]),
            ..BackupSpec::default()
        };
        let filter = ResourceFilter::from_spec(&spec).unwrap();
        assert!(filter.includes_namespaced(PVCS));
        assert!(filter.includes_bound_volumes());
        assert!(!filter.includes_namespaced(PODS));
    }

    #[test]
    fn excluded_pvc_alias_wins_over_star() {
        let spec = BackupSpec {
            included_resources: list(&["*"]),
            excluded_resources: list(&["persistentvolumeclaim"]),
            ..BackupSpec::default()
        };
        assert!(
            !ResourceFilter::from_spec(&spec)
                .unwrap()
                .includes_namespaced(PVCS)
        );
    }

    #[test]
    fn pvcs_without_pvs_have_no_snapshot_path() {
        let spec = BackupSpec {
            included_resources: list(&["persistentvolumeclaims", "pods"]),
            ..BackupSpec::default()
        };
        assert!(
            !ResourceFilter::from_spec(&spec)
                .unwrap()
                .includes_bound_volumes()
        );
    }

    #[test]
    fn include_cluster_resources_false_drops_pvs() {
        let spec = BackupSpec {
            include_cluster_resources: Some(false),
            ..BackupSpec::default()
        };
        assert!(
            !ResourceFilter::from_spec(&spec)
                .unwrap()
                .includes_bound_volumes()
        );
    }

    /// `pkg/util/collections/includes_excludes.go`, `GlobalIncludesExcludes.ShouldExclude` (as
    /// `pkg/backup/item_backupper.go`, `itemInclusionChecks`, asks it of the PV a claim brings):
    /// with `includeClusterResources: true` a cluster-scoped resource is dropped only when the
    /// excludes name it, whatever the include list leaves out.
    #[test]
    fn include_cluster_resources_true_keeps_the_bound_pv_whatever_the_include_list() {
        let spec = BackupSpec {
            included_resources: list(&["persistentvolumeclaims", "pods"]),
            include_cluster_resources: Some(true),
            ..BackupSpec::default()
        };
        assert!(
            ResourceFilter::from_spec(&spec)
                .unwrap()
                .includes_bound_volumes()
        );
        let excluded = BackupSpec {
            excluded_resources: list(&["pv"]),
            include_cluster_resources: Some(true),
            ..BackupSpec::default()
        };
        assert!(
            !ResourceFilter::from_spec(&excluded)
                .unwrap()
                .includes_bound_volumes()
        );
    }

    /// `pkg/util/collections/includes_excludes.go`, `ValidateScopedIncludesExcludes`: `*` alone
    /// is a valid cluster-scoped exclude list (nothing cluster-scoped, PVs included), unlike the
    /// old-style `excludedResources` (`ValidateIncludesExcludes`); beside other names, or with
    /// includes, it is refused.
    #[test]
    fn star_alone_is_a_valid_scoped_exclude_list() {
        let spec = BackupSpec {
            excluded_cluster_scoped_resources: list(&["*"]),
            ..BackupSpec::default()
        };
        let filter = ResourceFilter::from_spec(&spec).unwrap();
        assert!(!filter.includes_bound_volumes());
        assert!(filter.includes_namespaced(PVCS));
        for invalid in [
            BackupSpec {
                excluded_cluster_scoped_resources: list(&["*", "storageclasses"]),
                ..BackupSpec::default()
            },
            BackupSpec {
                included_cluster_scoped_resources: list(&["storageclasses"]),
                excluded_cluster_scoped_resources: list(&["*"]),
                ..BackupSpec::default()
            },
        ] {
            assert!(ResourceFilter::from_spec(&invalid).is_err(), "{invalid:?}");
        }
    }

    #[test]
    fn scoped_namespaced_filter_governs_pvcs() {
        let spec = BackupSpec {
            excluded_namespace_scoped_resources: list(&["pvc"]),
            ..BackupSpec::default()
        };
        assert!(
            !ResourceFilter::from_spec(&spec)
                .unwrap()
                .includes_namespaced(PVCS)
        );
        let spec = BackupSpec {
            excluded_cluster_scoped_resources: list(&["persistentvolumes"]),
            ..BackupSpec::default()
        };
        assert!(
            !ResourceFilter::from_spec(&spec)
                .unwrap()
                .includes_bound_volumes()
        );
    }

    #[test]
    fn mixing_old_and_scoped_filters_is_invalid() {
        let spec = BackupSpec {
            included_resources: list(&["pvc"]),
            included_namespace_scoped_resources: list(&["pods"]),
            ..BackupSpec::default()
        };
        assert!(ResourceFilter::from_spec(&spec).is_err());
    }

    #[test]
    fn star_in_excludes_is_invalid() {
        let spec = BackupSpec {
            excluded_resources: list(&["*"]),
            ..BackupSpec::default()
        };
        assert!(ResourceFilter::from_spec(&spec).is_err());
    }
}
