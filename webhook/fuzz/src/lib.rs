//! What the fuzz targets share: the bundled platform's coverage index, built once per process
//! (`fixtures/policy/platform.yaml` over `fixtures/platform/`), so every input meets the
//! decisions with real Schedules, Namespaces and PVCs behind them.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use policy::{CoverageIndex, Inventory, Policy};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// The platform policy.
pub fn platform_policy() -> Arc<Policy> {
    static POLICY: OnceLock<Arc<Policy>> = OnceLock::new();
    Arc::clone(POLICY.get_or_init(|| {
        let path = fixtures().join("policy/platform.yaml");
        Arc::new(
            backstop_webhook::manifests::load_policy(&path).expect("the platform policy loads"),
        )
    }))
}

/// The platform's manifests: Namespaces, PVCs, Pods, Schedules, storage classes.
pub fn platform_inventory() -> &'static Inventory {
    static INVENTORY: OnceLock<Inventory> = OnceLock::new();
    INVENTORY.get_or_init(|| {
        backstop_webhook::manifests::load_inventory(&[fixtures().join("platform")])
            .expect("the platform manifests load")
    })
}

/// The platform policy over the platform's manifests.
pub fn platform_index() -> &'static CoverageIndex {
    static INDEX: OnceLock<CoverageIndex> = OnceLock::new();
    INDEX.get_or_init(|| CoverageIndex::build(platform_policy(), platform_inventory().clone()))
}
