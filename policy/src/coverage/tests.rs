//! Named tests for every Velero coverage rule (`docs/architecture.md`, "The coverage rules").

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::verdict::{GapCode, Severity};

const POLICY: &str = include_str!("../../../fixtures/policy/rules-daily-meets-standard.yaml");

const H: u64 = 3600;

fn index(manifests: &str) -> CoverageIndex {
    let policy = Arc::new(Policy::from_yaml(POLICY, "policy.yaml").unwrap());
    let mut inventory = Inventory::default();
    inventory.add_yaml(manifests, "test.yaml").unwrap();
    CoverageIndex::build(policy, inventory)
}

fn schedule(name: &str, cron: &str, template: &str) -> String {
    format!(
        "---\napiVersion: velero.io/v1\nkind: Schedule\nmetadata: {{name: {name}, namespace: velero}}\nspec:\n  schedule: '{cron}'\n  template: {template}\n"
    )
}

fn namespace(name: &str, labels: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {{{labels}}}}}\n"
    )
}

fn pvc(namespace: &str, name: &str, extra_metadata: &str, storage_class: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: {name}, namespace: {namespace}{extra_metadata}}}\nspec: {{storageClassName: {storage_class}}}\n"
    )
}

fn pod(
    namespace: &str,
    name: &str,
    volume: &str,
    claim: &str,
    extra_metadata: &str,
    phase: &str,
) -> String {
    format!(
        "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {namespace}{extra_metadata}}}\nspec:\n  volumes: [{{name: {volume}, persistentVolumeClaim: {{claimName: {claim}}}}}]\nstatus: {{phase: {phase}}}\n"
    )
}

const CSI_STORAGE: &str = "
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast}
provisioner: ebs.csi.aws.com
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local}
provisioner: rancher.io/local-path
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata: {name: ebs, labels: {velero.io/csi-volumesnapshot-class: 'true'}}
driver: ebs.csi.aws.com
deletionPolicy: Retain
";

fn namespace_verdict(index: &CoverageIndex, name: &str) -> Verdict {
    index.evaluate_namespace(index.namespace(name).unwrap())
}

fn pvc_verdict(index: &CoverageIndex, namespace: &str, name: &str) -> Verdict {
    index
        .evaluate_all()
        .into_iter()
        .find(|verdict| {
            verdict.kind == ObjectKind::PersistentVolumeClaim
                && verdict.namespace == namespace
                && verdict.name == name
        })
        .unwrap()
}

fn codes(verdict: &Verdict) -> Vec<GapCode> {
    verdict.gaps.iter().map(|gap| gap.code).collect()
}

fn error_codes(verdict: &Verdict) -> Vec<GapCode> {
    verdict.errors().map(|gap| gap.code).collect()
}

// --- Namespace filter -------------------------------------------------------------------------

#[test]
fn covers_namespace_named_in_included_namespaces() {
    let index = index(
        &(namespace("registry", "")
            + &schedule("daily", "0 2 * * *", "{includedNamespaces: [registry]}")),
    );
    let verdict = namespace_verdict(&index, "registry");
    assert_eq!(verdict.covered_by, ["daily"]);
    assert_eq!(verdict.rpo, Some(Duration::from_secs(24 * H + 60)));
    assert!(verdict.gaps.is_empty(), "{:?}", verdict.gaps);
}

#[test]
fn empty_included_namespaces_means_every_namespace() {
    let index = index(&(namespace("registry", "") + &schedule("all", "0 2 * * *", "{}")));
    assert_eq!(namespace_verdict(&index, "registry").covered_by, ["all"]);
}

#[test]
fn star_in_included_namespaces_means_every_namespace() {
    let index = index(
        &(namespace("registry", "") + &schedule("all", "0 2 * * *", "{includedNamespaces: ['*']}")),
    );
    assert_eq!(namespace_verdict(&index, "registry").covered_by, ["all"]);
}

#[test]
fn glob_include_selects_matching_namespaces_only() {
    let index = index(
        &(namespace("team-a", "")
            + &namespace("registry", "")
            + &schedule("teams", "0 2 * * *", "{includedNamespaces: ['team-?']}")),
    );
    assert_eq!(namespace_verdict(&index, "team-a").covered_by, ["teams"]);
    assert_eq!(
        codes(&namespace_verdict(&index, "registry")),
        [GapCode::NoSchedule]
    );
}

#[test]
fn excluded_namespace_wins_over_star_include() {
    let index = index(
        &(namespace("registry", "")
            + &schedule(
                "all",
                "0 2 * * *",
                "{includedNamespaces: ['*'], excludedNamespaces: [registry]}",
            )),
    );
    assert_eq!(
        codes(&namespace_verdict(&index, "registry")),
        [GapCode::NoSchedule]
    );
}

#[test]
fn excluded_glob_wins_over_exact_include() {
    let index = index(
        &(namespace("team-a", "")
            + &schedule(
                "s",
                "0 2 * * *",
                "{includedNamespaces: [team-a], excludedNamespaces: ['team-*']}",
            )),
    );
    assert!(namespace_verdict(&index, "team-a").covered_by.is_empty());
}

#[test]
fn uncovered_namespace_message_names_the_fix() {
    let index = index(&namespace("data-platform", ""));
    let verdict = namespace_verdict(&index, "data-platform");
    assert_eq!(error_codes(&verdict), [GapCode::NoSchedule]);
    let message = &verdict.gaps[0].message;
    assert!(
        message.contains("add data-platform to a schedule's includedNamespaces"),
        "{message}"
    );
    assert!(message.contains("\"*/12 * * * *\""), "{message}");
}

// --- Schedule state ---------------------------------------------------------------------------

#[test]
fn paused_schedule_covers_nothing_and_says_so() {
    let index = index(
        &(namespace("registry", "")
            + &schedule("daily", "0 2 * * *", "{includedNamespaces: [registry]}")
                .replace("  schedule:", "  paused: true\n  schedule:")),
    );
    let verdict = namespace_verdict(&index, "registry");
    assert!(verdict.covered_by.is_empty());
    assert_eq!(error_codes(&verdict), [GapCode::SchedulePaused]);
    assert!(verdict.gaps[0].message.contains("unpause"));
}

#[test]
fn paused_extra_schedule_is_only_a_warning_when_another_covers() {
    let index = index(
        &(namespace("registry", "")
            + &schedule("daily", "0 2 * * *", "{includedNamespaces: [registry]}")
            + &schedule("old", "0 3 * * *", "{includedNamespaces: [registry]}")
                .replace("  schedule:", "  paused: true\n  schedule:")),
    );
    let verdict = namespace_verdict(&index, "registry");
    assert_eq!(verdict.covered_by, ["daily"]);
    assert!(!verdict.has_errors());
    assert_eq!(
        verdict.warnings().map(|gap| gap.code).collect::<Vec<_>>(),
        [GapCode::SchedulePaused]
    );
}

#[test]
fn failed_validation_status_covers_nothing() {
    let index = index(
        &(namespace("registry", "")
            + &schedule("daily", "0 2 * * *", "{includedNamespaces: [registry]}")
            + "status: {phase: FailedValidation, validationErrors: ['invalid storage location']}\n"),
    );
    let verdict = namespace_verdict(&index, "registry");
    assert_eq!(error_codes(&verdict), [GapCode::ScheduleInvalid]);
    assert!(verdict.gaps[0].message.contains("invalid storage location"));
}

#[test]
fn label_selector_and_or_label_selectors_together_are_invalid() {
    let index = index(
        &(namespace("registry", "a: b")
            + &schedule(
                "both",
                "0 2 * * *",
                "{labelSelector: {matchLabels: {a: b}}, orLabelSelectors: [{matchLabels: {a: b}}]}",
            )),
    );
    let verdict = namespace_verdict(&index, "registry");
    assert_eq!(error_codes(&verdict), [GapCode::ScheduleInvalid]);
    assert!(verdict.gaps[0].message.contains("only one"));
}

#[test]
fn malformed_cron_is_invalid_and_does_not_stop_the_evaluation() {
    let index = index(
        &(namespace("registry", "")
            + &namespace("data-platform", "")
            + &schedule("six-fields", "0 0 2 * * *", "{}")
            + &schedule(
                "hourly",
                "0 * * * *",
                "{includedNamespaces: [data-platform]}",
            )),
    );
    let verdicts = index.evaluate_all();
    assert_eq!(verdicts.len(), 2);
    let registry = namespace_verdict(&index, "registry");
    assert_eq!(error_codes(&registry), [GapCode::ScheduleInvalid]);
    assert_eq!(
        namespace_verdict(&index, "data-platform").covered_by,
        ["hourly"]
    );
}

#[test]
fn empty_cron_is_invalid() {
    let index = index(&(namespace("registry", "") + &schedule("empty", "", "{}")));
    assert_eq!(
        error_codes(&namespace_verdict(&index, "registry")),
        [GapCode::ScheduleInvalid]
    );
}

#[test]
fn cron_that_never_fires_covers_nothing() {
    let index = index(&(namespace("registry", "") + &schedule("feb30", "0 0 30 2 *", "{}")));
    assert_eq!(
        error_codes(&namespace_verdict(&index, "registry")),
        [GapCode::ScheduleNeverFires]
    );
}

#[test]
fn schedule_outside_the_velero_namespace_is_ignored() {
    let index = index(
        &(namespace("registry", "")
            + &schedule("elsewhere", "0 2 * * *", "{}")
                .replace("namespace: velero", "namespace: default")),
    );
    assert_eq!(index.schedules().count(), 0);
    assert_eq!(
        codes(&namespace_verdict(&index, "registry")),
        [GapCode::NoSchedule]
    );
}

// --- Label filter -----------------------------------------------------------------------------

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

// --- PVCs: resource filter --------------------------------------------------------------------

fn fs_default(extra: &str) -> String {
    format!("{{defaultVolumesToFsBackup: true{extra}}}")
}

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

#[test]
fn pvc_snapshot_needs_persistentvolumes_included() {
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "fast")
            + CSI_STORAGE
            + &schedule(
                "s",
                "0 2 * * *",
                "{includedResources: [persistentvolumeclaims]}",
            )),
    );
    let verdict = pvc_verdict(&index, "registry", "data");
    assert_eq!(error_codes(&verdict), [GapCode::VolumeNotBackedUp]);
    assert!(
        verdict.gaps[0]
            .message
            .contains("does not include persistentvolumes")
    );
}

// --- PVCs: volume data ------------------------------------------------------------------------

#[test]
fn snapshot_class_for_another_driver_gives_no_snapshot_path() {
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "local")
            + CSI_STORAGE
            + &schedule("s", "0 2 * * *", "{}")),
    );
    assert_eq!(
        error_codes(&pvc_verdict(&index, "registry", "data")),
        [GapCode::VolumeNotBackedUp]
    );
}

#[test]
fn snapshot_class_without_the_velero_label_gives_no_snapshot_path() {
    let unlabelled = CSI_STORAGE.replace(
        "labels: {velero.io/csi-volumesnapshot-class: 'true'}",
        "labels: {}",
    );
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "fast")
            + &unlabelled
            + &schedule("s", "0 2 * * *", "{}")),
    );
    assert_eq!(
        error_codes(&pvc_verdict(&index, "registry", "data")),
        [GapCode::VolumeNotBackedUp]
    );
}

#[test]
fn volume_snapshot_location_in_velero_namespace_gives_a_snapshot_path() {
    let vsl = "---\napiVersion: velero.io/v1\nkind: VolumeSnapshotLocation\nmetadata: {name: default, namespace: velero}\nspec: {provider: aws}\n";
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "local")
            + vsl
            + &schedule("s", "0 2 * * *", "{}")),
    );
    assert_eq!(pvc_verdict(&index, "registry", "data").covered_by, ["s"]);
}

#[test]
fn snapshot_volumes_false_leaves_data_uncovered() {
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "fast")
            + CSI_STORAGE
            + &schedule("s", "0 2 * * *", "{snapshotVolumes: false}")),
    );
    let verdict = pvc_verdict(&index, "registry", "data");
    assert_eq!(error_codes(&verdict), [GapCode::VolumeNotBackedUp]);
    assert!(verdict.gaps[0].message.contains("snapshotVolumes: false"));
}

#[test]
fn default_fs_backup_covers_a_volume_mounted_by_a_running_pod() {
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "local")
            + &pod("registry", "registry-0", "storage", "data", "", "Running")
            + &schedule("s", "0 2 * * *", &fs_default(""))),
    );
    let verdict = pvc_verdict(&index, "registry", "data");
    assert_eq!(verdict.covered_by, ["s"]);
    assert!(verdict.gaps.is_empty(), "{:?}", verdict.gaps);
}

#[test]
fn fs_backup_only_for_an_unmounted_pvc_is_its_own_gap() {
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "local")
            + &schedule("s", "0 2 * * *", &fs_default(""))),
    );
    assert_eq!(
        error_codes(&pvc_verdict(&index, "registry", "data")),
        [GapCode::UnmountedFsBackupOnly]
    );
}

#[test]
fn fs_backup_through_a_pod_that_is_not_running_is_unmounted() {
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "local")
            + &pod("registry", "registry-0", "storage", "data", "", "Pending")
            + &schedule("s", "0 2 * * *", &fs_default(""))),
    );
    assert_eq!(
        error_codes(&pvc_verdict(&index, "registry", "data")),
        [GapCode::UnmountedFsBackupOnly]
    );
}

#[test]
fn backup_volumes_annotation_must_name_the_volume_not_the_claim() {
    let naming_claim = ", annotations: {backup.velero.io/backup-volumes: data}";
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "local")
            + &pod(
                "registry",
                "registry-0",
                "storage",
                "data",
                naming_claim,
                "Running",
            )
            + &schedule("s", "0 2 * * *", "{}")),
    );
    let verdict = pvc_verdict(&index, "registry", "data");
    assert_eq!(error_codes(&verdict), [GapCode::VolumeNotBackedUp]);
    assert!(
        verdict.gaps[0].message.contains("write \"storage\""),
        "{}",
        verdict.gaps[0].message
    );
}

#[test]
fn backup_volumes_annotation_naming_the_volume_opts_it_in() {
    let naming_volume = ", annotations: {backup.velero.io/backup-volumes: 'cache,storage'}";
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "local")
            + &pod(
                "registry",
                "registry-0",
                "storage",
                "data",
                naming_volume,
                "Running",
            )
            + &schedule("s", "0 2 * * *", "{}")),
    );
    assert_eq!(pvc_verdict(&index, "registry", "data").covered_by, ["s"]);
}

#[test]
fn backup_volumes_excludes_opts_a_volume_out_of_default_fs_backup() {
    let opt_out = ", annotations: {backup.velero.io/backup-volumes-excludes: storage}";
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "local")
            + &pod(
                "registry",
                "registry-0",
                "storage",
                "data",
                opt_out,
                "Running",
            )
            + &schedule("s", "0 2 * * *", &fs_default(""))),
    );
    assert_eq!(
        error_codes(&pvc_verdict(&index, "registry", "data")),
        [GapCode::UnmountedFsBackupOnly]
    );
}

#[test]
fn fs_backup_needs_the_mounting_pod_in_the_backup() {
    let index = index(
        &(namespace("registry", "")
            + &pvc("registry", "data", "", "local")
            + &pod("registry", "registry-0", "storage", "data", "", "Running")
            + &schedule("s", "0 2 * * *", &fs_default(", excludedResources: [pods]"))),
    );
    assert_eq!(
        error_codes(&pvc_verdict(&index, "registry", "data")),
        [GapCode::UnmountedFsBackupOnly]
    );
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

// --- Retention --------------------------------------------------------------------------------

#[test]
fn zero_ttl_means_the_720h_server_default() {
    let index = index(&(namespace("registry", "") + &schedule("s", "0 2 * * *", "{ttl: 0s}")));
    let verdict = namespace_verdict(&index, "registry");
    assert_eq!(verdict.retention, Some(Duration::from_secs(720 * H)));
    assert!(verdict.gaps.is_empty(), "{:?}", verdict.gaps);
}

#[test]
fn ttl_below_the_tier_minimum_is_a_retention_gap() {
    let index =
        index(&(namespace("registry", "") + &schedule("s", "0 2 * * *", "{ttl: 168h0m0s}")));
    let verdict = namespace_verdict(&index, "registry");
    assert_eq!(error_codes(&verdict), [GapCode::RetentionBelowMinimum]);
    assert!(
        verdict.gaps[0].message.contains("\"720h0m0s\""),
        "{}",
        verdict.gaps[0].message
    );
}

#[test]
fn ttl_not_longer_than_the_interval_is_a_retention_gap() {
    let policy_tier_is_short = "
veleroNamespace: velero
tiers: {archive: {rpo: 800h, rto: 24h, minRetention: 1h}}
protected: [{namespace: registry, tier: archive}]
";
    let policy = Arc::new(Policy::from_yaml(policy_tier_is_short, "p.yaml").unwrap());
    let mut inventory = Inventory::default();
    inventory
        .add_yaml(
            &(namespace("registry", "") + &schedule("weekly", "0 3 * * 0", "{ttl: 24h}")),
            "t.yaml",
        )
        .unwrap();
    let index = CoverageIndex::build(policy, inventory);
    let verdict = namespace_verdict(&index, "registry");
    assert_eq!(error_codes(&verdict), [GapCode::RetentionBelowMinimum]);
    assert!(
        verdict.gaps[0]
            .message
            .contains("expire before the next one lands")
    );
}

// --- RPO ---------------------------------------------------------------------------------------

#[test]
fn hourly_schedule_cannot_meet_a_fifteen_minute_target() {
    let index = index(
        &(namespace("data-platform", "")
            + &schedule("critical-backup", "0 * * * *", "{ttl: 168h}")),
    );
    let verdict = namespace_verdict(&index, "data-platform");
    assert_eq!(verdict.rpo, Some(Duration::from_secs(H + 60)));
    assert!(!verdict.met);
    assert_eq!(error_codes(&verdict), [GapCode::RpoExceedsTarget]);
    assert!(
        verdict.gaps[0].message.contains("1h1m"),
        "{}",
        verdict.gaps[0].message
    );
}

#[test]
fn rpo_is_the_best_over_covering_schedules_plus_the_tick() {
    let index = index(
        &(namespace("data-platform", "")
            + &schedule("hourly", "0 * * * *", "{ttl: 168h}")
            + &schedule("frequent", "*/10 * * * *", "{ttl: 168h}")),
    );
    let verdict = namespace_verdict(&index, "data-platform");
    assert_eq!(verdict.covered_by, ["frequent", "hourly"]);
    assert_eq!(verdict.rpo, Some(Duration::from_secs(11 * 60)));
    assert!(verdict.met);
    assert!(verdict.gaps.is_empty(), "{:?}", verdict.gaps);
}

// --- Tiers, exemptions -------------------------------------------------------------------------

#[test]
fn unprotected_and_exempt_namespaces_get_no_verdict() {
    let index = index(
        &(namespace("scratch", "")
            + &namespace("kube-system", "")
            + &schedule("s", "0 2 * * *", "{}")),
    );
    assert!(index.evaluate_all().is_empty());
    assert!(namespace_verdict(&index, "scratch").tier.is_none());
}

#[test]
fn pvc_takes_its_namespace_tier() {
    let index = index(&(namespace("data-platform", "") + &pvc("data-platform", "pg", "", "fast")));
    let verdict = pvc_verdict(&index, "data-platform", "pg");
    assert_eq!(verdict.tier.as_deref(), Some("critical"));
}

#[test]
fn pvc_exempt_with_a_reason_is_exempt() {
    let exempt = ", annotations: {backstop.io/exempt: 'scratch data, rebuilt nightly'}";
    let index = index(&(namespace("registry", "") + &pvc("registry", "tmp", exempt, "fast")));
    let verdict = pvc_verdict(&index, "registry", "tmp");
    assert_eq!(
        verdict.exempt.as_deref(),
        Some("scratch data, rebuilt nightly")
    );
    assert!(verdict.gaps.is_empty());
    assert!(!verdict.is_protected());
}

#[test]
fn pvc_exempt_without_a_reason_is_a_gap() {
    let exempt = ", annotations: {backstop.io/exempt: ' '}";
    let index = index(&(namespace("registry", "") + &pvc("registry", "tmp", exempt, "fast")));
    let verdict = pvc_verdict(&index, "registry", "tmp");
    assert!(verdict.has_gap(GapCode::ExemptionWithoutReason));
}

#[test]
fn declared_tier_that_disagrees_with_the_policy_is_a_warning() {
    let index = index(
        &(namespace("registry", "backstop.io/tier: critical") + &schedule("s", "0 2 * * *", "{}")),
    );
    let verdict = namespace_verdict(&index, "registry");
    assert_eq!(verdict.tier.as_deref(), Some("standard"));
    assert_eq!(verdict.gaps.len(), 1);
    assert_eq!(verdict.gaps[0].severity, Severity::Warning);
    assert_eq!(verdict.gaps[0].code, GapCode::TierAnnotationMismatch);
}

// --- Schedule changes ---------------------------------------------------------------------------

fn platform_index() -> CoverageIndex {
    index(
        &(namespace("data-platform", "")
            + &namespace("registry", "")
            + &schedule(
                "frequent",
                "*/10 * * * *",
                "{includedNamespaces: [data-platform], ttl: 168h}",
            )
            + &schedule(
                "daily",
                "0 2 * * *",
                "{includedNamespaces: [registry, data-platform], ttl: 720h}",
            )),
    )
}

fn edited(name: &str, cron: &str, template: &str) -> Schedule {
    let mut inventory = Inventory::default();
    inventory
        .add_yaml(&schedule(name, cron, template), "edit.yaml")
        .unwrap();
    inventory.schedules.remove(0)
}

fn regressed(regressions: &[Regression]) -> Vec<String> {
    regressions
        .iter()
        .map(|regression| regression.after.subject())
        .collect()
}

#[test]
fn pausing_the_only_frequent_schedule_is_a_regression() {
    let mut paused = edited(
        "frequent",
        "*/10 * * * *",
        "{includedNamespaces: [data-platform], ttl: 168h}",
    );
    paused.spec.paused = Some(true);
    let found = platform_index().schedule_change_regressions("velero", "frequent", Some(&paused));
    assert_eq!(regressed(&found), ["Namespace data-platform"]);
    assert!(
        found[0].reason.contains("above its 15m target"),
        "{}",
        found[0].reason
    );
}

#[test]
fn deleting_the_only_schedule_of_a_namespace_is_a_regression() {
    let found = platform_index().schedule_change_regressions("velero", "daily", None);
    assert_eq!(regressed(&found), ["Namespace registry"]);
    assert!(found[0].reason.contains("lose all backup coverage"));
}

#[test]
fn narrowing_includes_is_a_regression_for_the_dropped_namespace() {
    let narrowed = edited(
        "daily",
        "0 2 * * *",
        "{includedNamespaces: [data-platform], ttl: 720h}",
    );
    let found = platform_index().schedule_change_regressions("velero", "daily", Some(&narrowed));
    assert_eq!(regressed(&found), ["Namespace registry"]);
}

#[test]
fn new_exclude_is_a_regression() {
    let excluding = edited(
        "daily",
        "0 2 * * *",
        "{excludedNamespaces: [registry], ttl: 720h}",
    );
    let found = platform_index().schedule_change_regressions("velero", "daily", Some(&excluding));
    assert_eq!(regressed(&found), ["Namespace registry"]);
}

#[test]
fn longer_interval_past_the_target_is_a_regression() {
    let slower = edited(
        "frequent",
        "*/30 * * * *",
        "{includedNamespaces: [data-platform], ttl: 168h}",
    );
    let found = platform_index().schedule_change_regressions("velero", "frequent", Some(&slower));
    assert_eq!(regressed(&found), ["Namespace data-platform"]);
}

#[test]
fn longer_interval_still_within_the_target_is_allowed() {
    let slower = edited(
        "frequent",
        "*/12 * * * *",
        "{includedNamespaces: [data-platform], ttl: 168h}",
    );
    assert!(
        platform_index()
            .schedule_change_regressions("velero", "frequent", Some(&slower))
            .is_empty()
    );
}

#[test]
fn shorter_ttl_below_the_minimum_is_a_regression() {
    let shorter = edited(
        "daily",
        "0 2 * * *",
        "{includedNamespaces: [registry, data-platform], ttl: 24h}",
    );
    let found = platform_index().schedule_change_regressions("velero", "daily", Some(&shorter));
    assert_eq!(regressed(&found), ["Namespace registry"]);
    assert!(found[0].reason.contains("retention"));
}

#[test]
fn edit_that_makes_nothing_worse_is_allowed() {
    let wider = edited("daily", "0 2 * * *", "{ttl: 720h}");
    assert!(
        platform_index()
            .schedule_change_regressions("velero", "daily", Some(&wider))
            .is_empty()
    );
}

#[test]
fn deleting_a_schedule_of_an_already_uncovered_namespace_is_allowed() {
    let index = index(
        &(namespace("registry", "")
            + &schedule("paused", "0 2 * * *", "{includedNamespaces: [registry]}")
                .replace("  schedule:", "  paused: true\n  schedule:")),
    );
    assert!(
        index
            .schedule_change_regressions("velero", "paused", None)
            .is_empty()
    );
}

#[test]
fn schedule_outside_the_velero_namespace_changes_nothing() {
    let index = platform_index();
    assert!(
        index
            .schedule_change_regressions("default", "daily", None)
            .is_empty()
    );
}

// --- Admission of a new PVC ---------------------------------------------------------------------

#[test]
fn new_pvc_counts_as_covered_by_default_fs_backup_with_a_warning_at_admission() {
    let index = index(&(namespace("registry", "") + &schedule("s", "0 2 * * *", &fs_default(""))));
    let new_pvc = PvcFacts {
        metadata: Meta::namespaced("registry", "data"),
        spec: Default::default(),
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
    };
    let admitted = index.evaluate_pvc_at_admission(&new_pvc);
    assert_eq!(error_codes(&admitted), [GapCode::RpoExceedsTarget]);
}

#[test]
fn edit_judged_from_the_apiserver_copy_when_the_index_has_not_seen_the_schedule() {
    let index = index(&namespace("data-platform", ""));
    let stored = edited(
        "frequent",
        "*/10 * * * *",
        "{includedNamespaces: [data-platform], ttl: 168h}",
    );
    let mut paused = stored.clone();
    paused.spec.paused = Some(true);
    let found = index.schedule_edit_regressions("velero", "frequent", Some(&stored), Some(&paused));
    assert_eq!(regressed(&found), ["Namespace data-platform"]);
    assert!(
        index
            .schedule_change_regressions("velero", "frequent", Some(&paused))
            .is_empty()
    );
}

#[test]
fn deleting_a_schedule_whose_labels_never_matched_is_allowed() {
    // No other schedule covers registry: were the selector ignored, `labelled` would be its only
    // coverage and deleting it a regression.
    let index = index(
        &(namespace("registry", "")
            + &schedule(
                "labelled",
                "*/5 * * * *",
                "{labelSelector: {matchLabels: {app: other}}, ttl: 720h}",
            )),
    );
    assert!(
        index
            .schedule_change_regressions("velero", "labelled", None)
            .is_empty()
    );
}

#[test]
fn pausing_a_star_schedule_names_every_namespace_it_leaves_uncovered() {
    let index = index(
        &(namespace("registry", "")
            + &namespace("team-a", "")
            + &namespace("scratch", "")
            + &schedule(
                "everything",
                "0 2 * * *",
                "{includedNamespaces: ['*'], ttl: 720h}",
            )),
    );
    let mut paused = edited(
        "everything",
        "0 2 * * *",
        "{includedNamespaces: ['*'], ttl: 720h}",
    );
    paused.spec.paused = Some(true);
    let found = index.schedule_change_regressions("velero", "everything", Some(&paused));
    assert_eq!(
        regressed(&found),
        ["Namespace registry", "Namespace team-a"]
    );
}

#[test]
fn edit_reach_counts_the_objects_of_the_namespaces_a_schedule_names() {
    let index = index(
        &(namespace("registry", "")
            + &namespace("team-a", "")
            + &pvc("team-a", "data", "", "fast")
            + &pvc("team-a", "logs", "", "fast")
            + &pvc("orphaned", "cache", "", "fast")
            + &schedule(
                "named",
                "0 2 * * *",
                "{includedNamespaces: [team-a, orphaned, gone], ttl: 720h}",
            )
            + &schedule("everything", "0 2 * * *", "{ttl: 720h}")),
    );
    // team-a: the Namespace and two PVCs; orphaned: one PVC; gone: nothing.
    assert_eq!(index.schedule_edit_reach("velero", "named", None), 4);
    assert_eq!(index.schedule_edit_reach("velero", "everything", None), 5);
    assert_eq!(index.schedule_edit_reach("velero", "unknown", None), 0);
    assert_eq!(index.schedule_edit_reach("elsewhere", "named", None), 0);
}

#[test]
fn edit_reach_follows_the_apiserver_copy_and_counts_every_object_for_a_glob() {
    let index = index(
        &(namespace("registry", "")
            + &namespace("team-a", "")
            + &pvc("team-a", "data", "", "fast")),
    );
    let named = edited(
        "stored",
        "0 2 * * *",
        "{includedNamespaces: [registry], ttl: 720h}",
    );
    let glob = edited(
        "stored",
        "0 2 * * *",
        "{includedNamespaces: ['team-*'], ttl: 720h}",
    );
    assert_eq!(
        index.schedule_edit_reach("velero", "stored", Some(&named)),
        1
    );
    assert_eq!(
        index.schedule_edit_reach("velero", "stored", Some(&glob)),
        3
    );
}

#[test]
fn edit_reach_is_zero_where_no_edit_is_judged_a_paused_or_invalid_stored_schedule() {
    let index = index(&(namespace("team-a", "") + &pvc("team-a", "data", "", "fast")));
    let everything = edited("stored", "0 2 * * *", "{ttl: 720h}");
    let mut paused = edited("stored", "0 2 * * *", "{ttl: 720h}");
    paused.spec.paused = Some(true);
    let invalid = edited(
        "stored",
        "0 2 * * *",
        "{includedNamespaces: ['[team'], ttl: 720h}",
    );
    assert_eq!(
        index.schedule_edit_reach("velero", "stored", Some(&everything)),
        2
    );
    for stored in [&paused, &invalid] {
        assert_eq!(
            index.schedule_edit_reach("velero", "stored", Some(stored)),
            0
        );
        assert!(
            index
                .schedule_edit_regressions("velero", "stored", Some(stored), None)
                .is_empty()
        );
    }
}

#[test]
fn codes_only_verdicts_differ_from_full_ones_only_by_their_blank_messages() {
    // An RPO miss and a retention gap (registry), a paused schedule and a data gap (team-shop).
    let index = index(
        &(namespace("registry", "")
            + &namespace("team-shop", "")
            + &pvc("team-shop", "data", "", "fast")
            + CSI_STORAGE
            + &schedule(
                "weekly",
                "0 3 * * 0",
                "{includedNamespaces: [registry], ttl: 24h}",
            )
            + &schedule(
                "paused",
                "0 2 * * *",
                "{includedNamespaces: [team-shop], ttl: 720h}",
            )
            .replace("spec:", "spec:\n  paused: true")
            + &schedule(
                "no-snapshots",
                "0 2 * * *",
                "{includedNamespaces: [team-shop], ttl: 720h, snapshotVolumes: false}",
            )),
    );
    let full = index.evaluate_all();
    let codes_only = index.evaluate_all_with(Detail::CodesOnly);
    let codes: Vec<GapCode> = full
        .iter()
        .flat_map(|verdict| verdict.gaps.iter().map(|gap| gap.code))
        .collect();
    for expected in [
        GapCode::RpoExceedsTarget,
        GapCode::SchedulePaused,
        GapCode::VolumeNotBackedUp,
    ] {
        assert!(codes.contains(&expected), "{expected:?} not in {codes:?}");
    }
    let blanked: Vec<Verdict> = full
        .into_iter()
        .map(|mut verdict| {
            for gap in &mut verdict.gaps {
                gap.message.clear();
            }
            verdict
        })
        .collect();
    assert_eq!(codes_only, blanked);
}
