//! The webhook's view of the cluster: Schedules, storage locations, Namespaces, PVCs, Pods,
//! PersistentVolumes, storage classes, the Velero Deployment (the server's release and flags) and
//! the Velero namespace's ConfigMaps (resource policies),
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
pub const RESOURCES: [&str; 11] = [
    "schedules",
    "namespaces",
    "persistentvolumeclaims",
    "pods",
    "storageclasses",
    "volumesnapshotclasses",
    "volumesnapshotlocations",
    "backupstoragelocations",
    "persistentvolumes",
    "deployments",
    "configmaps",
];

/// Turns inventories into coverage indexes and publishes them (cron analyses are memoised by
/// `policy::cron::parse_schedule`, so a rebuild re-analyses only new expressions).
pub struct IndexBuilder {
    policy: Arc<Policy>,
    state: AppState,
    /// What the last index said it could not read about the Velero server (logged on change).
    server_notes: Vec<String>,
}

impl std::fmt::Debug for IndexBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexBuilder").finish_non_exhaustive()
    }
}

impl IndexBuilder {
    pub fn new(policy: Arc<Policy>, state: AppState) -> Self {
        Self {
            policy,
            state,
            server_notes: Vec::new(),
        }
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
        let view = index.server_view();
        if view.notes != self.server_notes {
            for note in &view.notes {
                tracing::warn!(note = %note, "velero server");
            }
            self.server_notes.clone_from(&view.notes);
        }
        tracing::debug!(
            version = %view.version(),
            csi = view.server.csi_enabled(),
            default_volumes_to_fs_backup = view.server.default_volumes_to_fs_backup,
            from = %view.server.origin,
            "velero server judged against"
        );
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
        ("persistentvolumes", inventory.persistent_volumes.len()),
        (
            "deployments",
            usize::from(inventory.velero_deployment.is_some()),
        ),
        ("configmaps", inventory.config_maps.len()),
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
