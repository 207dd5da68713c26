//! Offline mode (`--schedules-from DIR`): the inventory is read once from manifests, and the
//! webhook is ready as soon as it is indexed.

use std::path::Path;

use super::{IndexBuilder, RESOURCES};
use crate::WebhookError;
use crate::manifests::load_inventory;

/// Reads every manifest under `dir`, publishes the index and marks the caches synced and the
/// webhook ready.
pub fn load(dir: &Path, builder: &mut IndexBuilder) -> Result<(), WebhookError> {
    let inventory = load_inventory(&[dir.to_path_buf()])?;
    tracing::info!(
        dir = %dir.display(),
        schedules = inventory.schedules.len(),
        namespaces = inventory.namespaces.len(),
        pvcs = inventory.pvcs.len(),
        pods = inventory.pods.len(),
        "offline mode: manifests loaded"
    );
    builder.rebuild(inventory);
    let state = builder.state();
    for resource in RESOURCES {
        state.metrics.set_cache_synced(resource, true);
    }
    state.set_ready(true);
    Ok(())
}
