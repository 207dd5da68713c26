//! `labelSelector`, `orLabelSelectors` and `velero.io/exclude-from-backup`, on Namespaces and PVCs:
//! items are listed by selector (`pkg/backup/item_collector.go`,
//! `listResourceByLabelsPerNamespace`; namespaces by `nsTracker.init` and `collectNamespaces`),
//! and an item labelled `velero.io/exclude-from-backup=true` is dropped
//! (`pkg/backup/item_backupper.go`, `itemInclusionChecks`).

use super::*;

#[test]
fn label_selector_is_matched_against_the_namespace_own_labels() {
    let index = index(
        &(namespace("registry", "backstop.io/tier: standard")
            + &namespace("team-a", "")
            + &schedule(
                "by-tier",
                "0 2 * * *",
                "{labelSelector: {matchLabels: {backstop.io/tier: standard}}}",
            )),
    );
    assert_eq!(
        namespace_verdict(&index, "registry").covered_by,
        ["by-tier"]
    );
    assert!(namespace_verdict(&index, "team-a").covered_by.is_empty());
}

#[test]
fn or_label_selectors_match_any_of_them() {
    let index = index(
        &(namespace("registry", "app: b")
            + &schedule(
                "any",
                "0 2 * * *",
                "{orLabelSelectors: [{matchLabels: {app: a}}, {matchLabels: {app: b}}]}",
            )),
    );
    assert_eq!(namespace_verdict(&index, "registry").covered_by, ["any"]);
}

#[test]
fn exclude_from_backup_label_on_the_object_excludes_it() {
    let index = index(
        &(namespace("registry", "velero.io/exclude-from-backup: 'true'")
            + &schedule("all", "0 2 * * *", "{}")),
    );
    let verdict = namespace_verdict(&index, "registry");
    assert!(verdict.covered_by.is_empty());
    assert_eq!(error_codes(&verdict), [GapCode::ExcludedFromBackup]);
}

#[test]
fn label_selector_applies_to_the_pvc_own_labels() {
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", ", labels: {app: registry}", "fast")
            + &pvc("registry", "other", "", "fast")
            + CSI_STORAGE
            + &schedule(
                "s",
                "0 2 * * *",
                "{labelSelector: {matchLabels: {app: registry}}}",
            )),
    );
    assert_eq!(pvc_verdict(&index, "registry", "data").covered_by, ["s"]);
    assert_eq!(
        codes(&pvc_verdict(&index, "registry", "other")),
        [GapCode::NoSchedule]
    );
}

#[test]
fn pvc_with_exclude_label_is_not_covered() {
    let index = index(
        &(namespace("registry", "")
            + &pvc(
                "registry",
                "data",
                ", labels: {velero.io/exclude-from-backup: 'true'}",
                "fast",
            )
            + CSI_STORAGE
            + &schedule("s", "0 2 * * *", "{}")),
    );
    assert_eq!(
        error_codes(&pvc_verdict(&index, "registry", "data")),
        [GapCode::ExcludedFromBackup]
    );
}
