//! Judging a Schedule edit (`coverage/edits.rs`): regressions and edit reach.

use super::*;
use crate::velero::Schedule;
use crate::verdict::Regression;

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
