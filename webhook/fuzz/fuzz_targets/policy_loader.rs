//! Any text as a policy file: loaded (YAML, schema, tiers, patterns, durations), and when it
//! loads, a coverage index built from it over the platform's manifests and every object
//! evaluated. A bad policy is an error value, never a panic.

#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use policy::{CoverageIndex, Detail, Policy};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(policy) = Policy::from_yaml(text, "fuzz.yaml") {
        let inventory = backstop_webhook_fuzz::platform_inventory().clone();
        let index = CoverageIndex::build(Arc::new(policy), inventory);
        let _ = index.evaluate_all_with(Detail::CodesOnly);
    }
});
