//! A new PVC at admission: no pod can mount it yet.

use super::*;

#[test]
fn new_pvc_counts_as_covered_by_default_fs_backup_with_a_warning_at_admission() {
    let index = index(&(namespace("registry", "") + &schedule("s", "0 2 * * *", &fs_default(""))));
    let new_pvc = PvcFacts {
        metadata: Meta::namespaced("registry", "data"),
        spec: Default::default(),
        status: Default::default(),
    };
    let admitted = index.evaluate_pvc_at_admission(&new_pvc);
    assert_eq!(admitted.covered_by, ["s"]);
    assert!(admitted.met);
    assert!(!admitted.has_errors(), "{:?}", admitted.gaps);
    assert_eq!(
        admitted.warnings().map(|gap| gap.code).collect::<Vec<_>>(),
        [GapCode::UnmountedFsBackupOnly]
    );
    let observed = index.evaluate_pvc(&new_pvc);
    assert_eq!(error_codes(&observed), [GapCode::UnmountedFsBackupOnly]);
}

#[test]
fn new_pvc_in_a_namespace_whose_schedule_misses_the_tier_is_denied_at_admission() {
    let index = index(
        &(namespace("data-platform", "")
            + &schedule("hourly", "0 * * * *", &fs_default(", ttl: 168h"))),
    );
    let new_pvc = PvcFacts {
        metadata: Meta::namespaced("data-platform", "pg"),
        spec: Default::default(),
        status: Default::default(),
    };
    let admitted = index.evaluate_pvc_at_admission(&new_pvc);
    assert_eq!(error_codes(&admitted), [GapCode::RpoExceedsTarget]);
}
