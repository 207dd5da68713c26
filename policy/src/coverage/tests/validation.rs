//! Backups Velero refuses before they start, or narrows: the namespace lists and the storage
//! locations, as `prepareBackupRequest` (`pkg/controller/backup_controller.go`) validates them.
//! Fixtures in `fixtures/velero-validation/`.

use super::*;

const LABELLED_IN_INCLUDES: &str = include_str!(
    "../../../../fixtures/velero-validation/labelled-namespace-named-in-includes.yaml"
);
const LABELLED_UNDER_STAR: &str =
    include_str!("../../../../fixtures/velero-validation/labelled-namespace-under-star.yaml");
const READ_ONLY_LOCATION: &str =
    include_str!("../../../../fixtures/velero-validation/read-only-storage-location.yaml");
const UNAVAILABLE_LOCATION: &str =
    include_str!("../../../../fixtures/velero-validation/unavailable-storage-location.yaml");
const MISSING_LOCATION: &str =
    include_str!("../../../../fixtures/velero-validation/missing-storage-location.yaml");
const TWO_SNAPSHOT_LOCATIONS: &str =
    include_str!("../../../../fixtures/velero-validation/two-snapshot-locations-one-provider.yaml");

/// The one error of a namespace no valid schedule covers: `schedule-invalid`, and its message.
fn invalid_because(verdict: &Verdict) -> String {
    assert!(verdict.covered_by.is_empty(), "{verdict:?}");
    assert_eq!(error_codes(verdict), [GapCode::ScheduleInvalid]);
    verdict.gaps[0].message.clone()
}

/// `prepareBackupRequest` adds the labelled namespaces to `ExcludedNamespaces` before
/// `ValidateNamespaceIncludesExcludes` runs, which refuses an item in both lists: the whole
/// backup fails, and `registry`, which did nothing wrong, is not backed up either.
#[test]
fn labelled_namespace_named_in_included_namespaces_fails_the_whole_backup() {
    let index = index(LABELLED_IN_INCLUDES);
    let message = invalid_because(&namespace_verdict(&index, "registry"));
    assert!(
        message.contains("namespace shop is labelled velero.io/exclude-from-backup=true")
            && message.contains("remove shop from includedNamespaces or remove the label"),
        "{message}"
    );
}

/// The same label under `includedNamespaces: ['*']` only leaves the namespace out, with all it
/// holds: its PVC says why, in the namespace's terms.
#[test]
fn labelled_namespace_under_star_is_left_out_with_its_claims() {
    let index = index(&(LABELLED_UNDER_STAR.to_string() + CSI_STORAGE));
    assert_eq!(namespace_verdict(&index, "registry").covered_by, ["daily"]);
    let shop = namespace_verdict(&index, "shop");
    assert_eq!(error_codes(&shop), [GapCode::ExcludedFromBackup]);
    let orders = pvc_verdict(&index, "shop", "orders");
    assert!(orders.covered_by.is_empty());
    assert_eq!(error_codes(&orders), [GapCode::ExcludedFromBackup]);
    assert!(
        orders.gaps[0]
            .message
            .contains("in namespace shop, labelled velero.io/exclude-from-backup=true"),
        "{}",
        orders.gaps[0].message
    );
}

/// `collections.ValidateIncludesExcludes`: "includes list must either contain '*' only".
#[test]
fn star_beside_other_namespaces_is_invalid() {
    let index = index(
        &(namespace("registry", "")
            + &schedule("s", "0 2 * * *", "{includedNamespaces: ['*', registry]}")),
    );
    let message = invalid_because(&namespace_verdict(&index, "registry"));
    assert!(message.contains("'*' alone"), "{message}");
}

/// `collections.ValidateIncludesExcludes`: "excludes list cannot contain an item in the
/// includes list".
#[test]
fn namespace_both_included_and_excluded_is_invalid_for_every_namespace() {
    let index = index(
        &(namespace("registry", "")
            + &namespace("team-a", "")
            + &schedule(
                "s",
                "0 2 * * *",
                "{includedNamespaces: [registry, team-a], excludedNamespaces: [team-a]}",
            )),
    );
    let message = invalid_because(&namespace_verdict(&index, "registry"));
    assert!(
        message.contains("team-a is both in includedNamespaces and in excludedNamespaces"),
        "{message}"
    );
}

/// `validateNamespaceName`: a name Kubernetes would refuse (Velero's own cases "-123foo",
/// "foo.bar", "bar_321") fails the backup.
#[test]
fn invalid_namespace_names_are_invalid() {
    for name in ["-123foo", "foo.bar", "bar_321", "Shop"] {
        let index = index(
            &(namespace("registry", "")
                + &schedule(
                    "s",
                    "0 2 * * *",
                    &format!("{{includedNamespaces: [registry, '{name}']}}"),
                )),
        );
        let message = invalid_because(&namespace_verdict(&index, "registry"));
        assert!(
            message.contains(&format!("invalid namespace {name:?}")),
            "{message}"
        );
    }
}

/// `pkg/util/wildcard`, `ValidateNamespaceName` (v1.18) refuses brace globs, and before v1.18
/// `{` is simply not a namespace character: invalid in every version.
#[test]
fn brace_glob_is_invalid_in_every_version() {
    for version in ["1.14", "1.17", "1.18"] {
        let index = index_for_version(
            version,
            &(namespace("team-a", "")
                + &schedule("s", "0 2 * * *", "{includedNamespaces: ['team-{a,b}']}")),
        );
        let message = invalid_because(&namespace_verdict(&index, "team-a"));
        assert!(message.contains("brace globs"), "{version}: {message}");
    }
}

/// Before v1.18 `validateNamespaceName` stands in only for `*`; `?` and `[...]` (Velero's test
/// "glob characters in includes should not error": `test-?`, `ns-[0-9]`) are accepted from v1.18.
#[test]
fn question_mark_and_class_globs_are_accepted_from_v1_18_only() {
    let manifests = namespace("team-a", "")
        + &namespace("team-1", "")
        + &schedule(
            "s",
            "0 2 * * *",
            "{includedNamespaces: ['team-?', 'team-[0-9]']}",
        );
    let old = index_for_version("1.17", &manifests);
    let message = invalid_because(&namespace_verdict(&old, "team-a"));
    assert!(
        message.contains("wildcards only from Velero v1.18"),
        "{message}"
    );
    let new = index_for_version("1.18", &manifests);
    assert_eq!(namespace_verdict(&new, "team-a").covered_by, ["s"]);
    assert_eq!(namespace_verdict(&new, "team-1").covered_by, ["s"]);
}

/// `wildcard.ValidateNamespaceName`: `**` and an unclosed bracket.
#[test]
fn double_star_and_unclosed_bracket_are_invalid_in_v1_18() {
    for pattern in ["team-**", "team-[ab"] {
        let index = index(
            &(namespace("team-a", "")
                + &schedule(
                    "s",
                    "0 2 * * *",
                    &format!("{{includedNamespaces: ['{pattern}']}}"),
                )),
        );
        invalid_because(&namespace_verdict(&index, "team-a"));
    }
}

/// `item_collector.go`, `nsTracker.init`: a namespace the namespace filter names keeps its
/// Namespace object even when the label selector does not match its labels.
#[test]
fn namespace_named_in_includes_keeps_its_object_whatever_the_label_selector() {
    let index = index(
        &(namespace("registry", "")
            + &schedule(
                "s",
                "0 2 * * *",
                "{includedNamespaces: [registry], labelSelector: {matchLabels: {app: web}}}",
            )),
    );
    assert_eq!(namespace_verdict(&index, "registry").covered_by, ["s"]);
}

/// `nsTracker.init`: with every namespace included and a label selector, a namespace whose labels
/// do not match is collected only when a selected item lives in it.
#[test]
fn label_selector_over_every_namespace_takes_only_namespaces_with_a_selected_item() {
    let index = index(
        &(namespace("registry", "")
            + &namespace("team-a", "")
            + &pvc("team-a", "data", ", labels: {app: web}", "fast")
            + CSI_STORAGE
            + &schedule(
                "s",
                "0 2 * * *",
                "{labelSelector: {matchLabels: {app: web}}}",
            )),
    );
    assert_eq!(
        codes(&namespace_verdict(&index, "registry")),
        [GapCode::NoSchedule]
    );
    assert_eq!(namespace_verdict(&index, "team-a").covered_by, ["s"]);
}

/// `GlobalIncludesExcludes.ShouldInclude`: the old filter treats `namespaces` as any resource,
/// so an include list without it drops the Namespace objects (and `includeClusterResources:
/// false` drops them as cluster-scoped).
#[test]
fn old_style_included_resources_can_drop_the_namespace_object() {
    for template in [
        "{includedNamespaces: [registry], includedResources: [pvc, pods]}",
        "{includedNamespaces: [registry], includeClusterResources: false}",
    ] {
        let index = index(&(namespace("registry", "") + &schedule("s", "0 2 * * *", template)));
        assert_eq!(
            codes(&namespace_verdict(&index, "registry")),
            [GapCode::NoSchedule],
            "{template}"
        );
    }
    let index = index(
        &(namespace("registry", "")
            + &schedule(
                "s",
                "0 2 * * *",
                "{includedNamespaces: [registry], includedResources: [namespaces, pvc]}",
            )),
    );
    assert_eq!(namespace_verdict(&index, "registry").covered_by, ["s"]);
}

/// `prepareBackupRequest`: "backup can't be created because backup storage location default is
/// currently in read-only mode".
#[test]
fn read_only_storage_location_covers_nothing() {
    let message = invalid_because(&namespace_verdict(&index(READ_ONLY_LOCATION), "registry"));
    assert!(message.contains("read-only mode"), "{message}");
}

/// `prepareBackupRequest`, `BSLIsAvailable`: from v1.17 an unavailable location fails the
/// backup; before, the backup starts and fails on upload, so it is a warning.
#[test]
fn unavailable_storage_location_fails_from_v1_17_and_warns_before() {
    let new = namespace_verdict(&index(UNAVAILABLE_LOCATION), "registry");
    let message = invalid_because(&new);
    assert!(
        message.contains("BackupStorageLocation primary is not Available (phase: Unavailable)"),
        "{message}"
    );
    let old = namespace_verdict(&index_for_version("1.16", UNAVAILABLE_LOCATION), "registry");
    assert_eq!(old.covered_by, ["daily"]);
    assert!(!old.has_errors(), "{:?}", old.gaps);
    assert_eq!(
        old.warnings().map(|gap| gap.code).collect::<Vec<_>>(),
        [GapCode::StorageLocationUnavailable]
    );
}

/// "an existing backup storage location was not specified at backup creation time and the
/// default offsite was not found".
#[test]
fn missing_storage_location_covers_nothing() {
    let message = invalid_because(&namespace_verdict(&index(MISSING_LOCATION), "registry"));
    assert!(
        message.contains(
            "BackupStorageLocation offsite (spec.template.storageLocation) does not exist"
        ),
        "{message}"
    );
}

/// With no location marked `spec.default`, the server's `--default-backup-storage-location`
/// ("default" unless the policy's `velero:` section says otherwise) must exist.
#[test]
fn server_default_storage_location_must_exist() {
    let renamed = READ_ONLY_LOCATION
        .replace(
            "name: default, namespace: velero",
            "name: primary, namespace: velero",
        )
        .replace("  accessMode: ReadOnly\n", "");
    let message = invalid_because(&namespace_verdict(&index(&renamed), "registry"));
    assert!(
        message.contains(
            "BackupStorageLocation default (the server's --default-backup-storage-location"
        ),
        "{message}"
    );
    let configured = index_with_velero("defaultBackupStorageLocation: primary", &renamed);
    assert_eq!(
        namespace_verdict(&configured, "registry").covered_by,
        ["daily"]
    );
}

/// Manifests without any BackupStorageLocation say nothing about the cluster's: not judged.
#[test]
fn manifests_without_storage_locations_are_not_judged_on_them() {
    let index = index(&(namespace("registry", "") + &schedule("s", "0 2 * * *", "{}")));
    assert_eq!(namespace_verdict(&index, "registry").covered_by, ["s"]);
}

/// `validateAndGetSnapshotLocations`: a named location must exist, and a provider with several
/// locations needs one named, or a server default (`--default-volume-snapshot-locations`).
#[test]
fn snapshot_locations_must_exist_and_be_one_per_provider() {
    let ambiguous = invalid_because(&namespace_verdict(
        &index(TWO_SNAPSHOT_LOCATIONS),
        "registry",
    ));
    assert!(
        ambiguous.contains("provider aws has more than one VolumeSnapshotLocation"),
        "{ambiguous}"
    );
    let named = TWO_SNAPSHOT_LOCATIONS.replace(
        "includedNamespaces: [registry]",
        "includedNamespaces: [registry]\n    volumeSnapshotLocations: [us-west-2]",
    );
    assert_eq!(
        namespace_verdict(&index(&named), "registry").covered_by,
        ["daily"]
    );
    let defaulted = index_with_velero(
        "defaultVolumeSnapshotLocations: {aws: us-east-1}",
        TWO_SNAPSHOT_LOCATIONS,
    );
    assert_eq!(
        namespace_verdict(&defaulted, "registry").covered_by,
        ["daily"]
    );
    let missing = named.replace("[us-west-2]", "[eu-central-1]");
    let message = invalid_because(&namespace_verdict(&index(&missing), "registry"));
    assert!(
        message.contains("VolumeSnapshotLocation eu-central-1 named in spec.template.volumeSnapshotLocations does not exist"),
        "{message}"
    );
}
