//! The webhook's view of the cluster: Schedules, storage locations, Namespaces, PVCs, Pods and
//! storage classes,
//! from manifests (`--schedules-from DIR`, [`offline`]) or from list/watch caches
//! ([`cluster`], [`reflector`]). Both end in [`IndexBuilder::rebuild`]: the [`CoverageIndex`] is rebuilt off
//! the request path and swapped whole into [`AppState`]; requests never wait for it.
//! [`evidence`] keeps Velero's records of real backups beside them, for metrics only.

pub mod cluster;
pub(crate) mod convert;
pub mod discovery;
pub mod evidence;
pub mod offline;
pub mod reflector;

use std::sync::Arc;

use policy::{CoverageIndex, Inventory, Policy};

use crate::state::AppState;

/// The resources the caches hold, as named in `backstop_cache_*{resource=…}`.
pub const RESOURCES: [&str; 8] = [
    "schedules",
    "namespaces",
    "persistentvolumeclaims",
    "pods",
    "storageclasses",
    "volumesnapshotclasses",
    "volumesnapshotlocations",
    "backupstoragelocations",
];

/// Turns inventories into coverage indexes and publishes them (cron analyses are memoised by
/// `policy::cron::parse_schedule`, so a rebuild re-analyses only new expressions).
pub struct IndexBuilder {
    policy: Arc<Policy>,
    state: AppState,
}

impl std::fmt::Debug for IndexBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexBuilder").finish_non_exhaustive()
    }
}

impl IndexBuilder {
    pub fn new(policy: Arc<Policy>, state: AppState) -> Self {
        Self { policy, state }
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Builds the index of `inventory`, publishes it, and refreshes the cache and coverage
    /// gauges. CPU-bound: call it from a blocking context when the inventory is large.
    pub fn rebuild(&mut self, inventory: Inventory) {
        let started = std::time::Instant::now();
        let metrics = &self.state.metrics;
        for (resource, count) in counts(&inventory) {
            metrics.set_cache_objects(resource, count);
        }
        let index = CoverageIndex::build(Arc::clone(&self.policy), inventory);
        metrics.record_coverage(&index);
        tracing::debug!(
            namespaces = index.namespace_count(),
            pvcs = index.pvc_count(),
            pods = index.pod_count(),
            schedules = index.schedules().count(),
            elapsed = ?started.elapsed(),
            "coverage index rebuilt"
        );
        self.state.replace_index(index);
    }
}

fn counts(inventory: &Inventory) -> [(&'static str, usize); RESOURCES.len()] {
    [
        ("schedules", inventory.schedules.len()),
        ("namespaces", inventory.namespaces.len()),
        ("persistentvolumeclaims", inventory.pvcs.len()),
        ("pods", inventory.pods.len()),
        ("storageclasses", inventory.storage_classes.len()),
        ("volumesnapshotclasses", inventory.snapshot_classes.len()),
        (
            "volumesnapshotlocations",
            inventory.snapshot_locations.len(),
        ),
        (
            "backupstoragelocations",
            inventory.storage_locations.as_ref().map_or(0, Vec::len),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_cached_resource_under_its_own_name() {
        let names: Vec<&str> = counts(&Inventory::default())
            .iter()
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(names, RESOURCES);
    }
}
