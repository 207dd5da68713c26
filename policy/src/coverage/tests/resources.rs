//! The resource filter: a PVC (and its PV, for a snapshot) must be included
//! (`pkg/util/collections/includes_excludes.go`, `GetResourceIncludesExcludes` and
//! `GlobalIncludesExcludes.ShouldInclude`/`ShouldExclude`, names resolved through discovery's
//! `ResourceFor`; the filter itself is unit-tested in `policy/src/resources.rs`).

use super::*;

#[test]
fn pvc_excluded_by_resource_alias_is_not_covered() {
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "fast")
            + CSI_STORAGE
            + &schedule("s", "0 2 * * *", "{excludedResources: [pvc]}")),
    );
    assert_eq!(
        codes(&pvc_verdict(&index, "registry", "data")),
        [GapCode::NoSchedule]
    );
}

#[test]
fn pvc_included_by_alias_with_pvs_is_covered_by_csi_snapshot() {
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "fast")
            + CSI_STORAGE
            + &schedule("s", "0 2 * * *", "{includedResources: [pvc, pv]}")),
    );
    let verdict = pvc_verdict(&index, "registry", "data");
    assert_eq!(verdict.covered_by, ["s"]);
    assert!(verdict.gaps.is_empty(), "{:?}", verdict.gaps);
}
