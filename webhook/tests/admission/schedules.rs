//! Velero Schedules: creation, pauses, deletions and edits judged by the coverage they take away.

use std::sync::Arc;

use axum::Router;
use backstop_webhook::admission;
use backstop_webhook::args::TimeoutDecision;
use backstop_webhook::manifests::{load_inventory, load_policy};
use backstop_webhook::metrics::Metrics;
use backstop_webhook::state::AppState;
use policy::CoverageIndex;
use serde_json::json;

use crate::support::*;

async fn validate_schedule(router: &Router, name: &str) -> Answer {
    let body = fixture(name);
    let mutated = review(router, "mutate", &body).await;
    assert!(
        mutated.allowed && mutated.patch.is_none(),
        "Schedules are never mutated"
    );
    review(router, "validate", &body).await
}

#[tokio::test]
async fn allows_creating_a_schedule() {
    let answer = validate_schedule(&platform(), "schedule-create").await;
    assert!(
        answer.allowed && answer.warnings.is_empty(),
        "{:?}",
        answer.raw
    );
}

#[tokio::test]
async fn warns_about_a_new_schedule_velero_would_refuse() {
    let answer = validate_schedule(&platform(), "schedule-create-with-both-label-selectors").await;
    assert!(answer.allowed);
    assert!(answer.warned("[schedule-invalid]"), "{:?}", answer.warnings);
    assert!(
        answer.warned("labelSelector and orLabelSelectors"),
        "{:?}",
        answer.warnings
    );
}

#[tokio::test]
async fn denies_pausing_the_only_hourly_schedule_naming_every_critical_namespace() {
    let answer = validate_schedule(&platform(), "schedule-update-pauses-critical-backup").await;
    assert!(!answer.allowed);
    assert_eq!(answer.code, Some(403));
    assert!(
        answer
            .message
            .starts_with("backstop denied pausing Schedule velero/critical-backup: it would leave"),
        "{}",
        answer.message
    );
    answer.assert_names_every_critical_namespace();
    assert!(
        answer
            .message
            .contains("worst-case RPO would grow from 1h1m to 1d1m"),
        "{}",
        answer.message
    );
    // The claim's data was never copied (a local-path hostPath volume, which Velero's
    // file-system backup skips), so pausing leaves it no worse off.
    assert!(
        !answer
            .message
            .contains("PersistentVolumeClaim data-platform/data-postgres-0"),
        "{}",
        answer.message
    );
    for unaffected in ["registry", "kubeflow", "cert-manager"] {
        assert!(
            !answer.message.contains(&format!("Namespace {unaffected}")),
            "{}",
            answer.message
        );
    }
}

#[tokio::test]
async fn admits_that_pause_with_warnings_under_warn_enforcement() {
    let router = router_with("warn", TimeoutDecision::Deny);
    let answer = validate_schedule(&router, "schedule-update-pauses-critical-backup").await;
    assert!(answer.allowed);
    assert!(
        answer.warned("Namespace data-platform (critical)"),
        "{:?}",
        answer.warnings
    );
}

#[tokio::test]
async fn denies_deleting_the_hourly_schedule() {
    let answer = validate_schedule(&platform(), "schedule-delete-critical-backup").await;
    assert!(!answer.allowed);
    assert!(
        answer
            .message
            .starts_with("backstop denied deleting Schedule velero/critical-backup"),
        "{}",
        answer.message
    );
    answer.assert_names_every_critical_namespace();
}

#[tokio::test]
async fn allows_deleting_a_schedule_that_was_already_paused() {
    // The stored schedule (oldObject) is paused: deleting it takes away no coverage.
    let answer = validate_schedule(&platform(), "schedule-delete-paused-critical-backup").await;
    assert!(answer.allowed, "{:?}", answer.raw);
}

#[tokio::test]
async fn lets_the_namespace_controller_delete_schedules_with_their_namespace() {
    let answer = validate_schedule(&platform(), "schedule-delete-by-namespace-controller").await;
    assert!(answer.allowed, "{:?}", answer.raw);
}

#[tokio::test]
async fn allows_making_the_hourly_schedule_fire_every_ten_minutes() {
    let answer = validate_schedule(
        &platform(),
        "schedule-update-critical-backup-every-ten-minutes",
    )
    .await;
    assert!(
        answer.allowed && answer.warnings.is_empty(),
        "{:?}",
        answer.raw
    );
}

#[tokio::test]
async fn denies_stretching_the_hourly_schedule_to_every_two_hours() {
    let answer = validate_schedule(
        &platform(),
        "schedule-update-critical-backup-every-two-hours",
    )
    .await;
    assert!(!answer.allowed);
    assert!(
        answer
            .message
            .starts_with("backstop denied changing Schedule velero/critical-backup"),
        "{}",
        answer.message
    );
    assert!(
        answer
            .message
            .contains("worst-case RPO would grow from 1h1m to 2h1m"),
        "{}",
        answer.message
    );
}

#[tokio::test]
async fn denies_dropping_vault_prod_from_the_hourly_schedule_naming_only_vault_prod() {
    let answer = validate_schedule(
        &platform(),
        "schedule-update-drops-vault-prod-from-critical-backup",
    )
    .await;
    assert!(!answer.allowed);
    assert!(
        answer.message.contains("Namespace vault-prod (critical)"),
        "{}",
        answer.message
    );
    for kept in ["data-platform", "monitoring", "ml-platform"] {
        assert!(
            !answer.message.contains(&format!("Namespace {kept}")),
            "{}",
            answer.message
        );
    }
}

#[tokio::test]
async fn allows_velero_to_write_a_schedules_status() {
    let answer = validate_schedule(&platform(), "schedule-update-status-only").await;
    assert!(
        answer.allowed && answer.warnings.is_empty(),
        "{:?}",
        answer.raw
    );
}

#[tokio::test]
async fn allows_pausing_a_schedule_outside_the_velero_namespace() {
    let answer = validate_schedule(
        &platform(),
        "schedule-update-pauses-schedule-in-another-namespace",
    )
    .await;
    assert!(
        answer.allowed && answer.warnings.is_empty(),
        "{:?}",
        answer.raw
    );
}

#[tokio::test]
async fn judges_a_schedule_change_against_its_old_object_when_the_cache_has_not_seen_it() {
    // `ten-minute-backup` is not in the index (created a moment ago): pausing it still loses
    // data-platform its 11m RPO, which the request's oldObject shows.
    let answer = validate_schedule(
        &platform(),
        "schedule-update-pauses-schedule-not-yet-cached",
    )
    .await;
    assert!(!answer.allowed, "{:?}", answer.raw);
    assert!(
        answer
            .message
            .contains("Namespace data-platform (critical)"),
        "{}",
        answer.message
    );
    assert!(
        answer.message.contains("from 11m to 1h1m"),
        "{}",
        answer.message
    );
}

#[tokio::test]
async fn judges_a_schedule_edit_that_reaches_many_objects_on_the_blocking_pool_alike() {
    // The platform plus 80 more namespaces, and critical-backup's old object including them all:
    // too many objects to judge on the request's thread.
    let policy = load_policy(&repo().join("fixtures/policy/platform.yaml")).unwrap();
    let mut inventory = load_inventory(&[repo().join("fixtures/platform")]).unwrap();
    let extra: String = (0..80)
        .map(|n| format!("---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: team-{n:02}}}\n"))
        .collect();
    inventory.add_yaml(&extra, "generated.yaml").unwrap();
    let index = CoverageIndex::build(Arc::new(policy), inventory);
    let mut body = fixture("schedule-update-pauses-critical-backup");
    for object in ["object", "oldObject"] {
        body["request"][object]["spec"]["template"]["includedNamespaces"] = json!(["*"]);
    }

    let bytes = serde_json::to_vec(&body).unwrap();
    let decoded = backstop_webhook::review::decode(&bytes).unwrap();
    match backstop_webhook::validate::plan(&index, &decoded.request) {
        backstop_webhook::validate::Plan::Schedule(review) => assert!(
            review.reach(&index) > admission::INLINE_SCHEDULE_REACH,
            "reach {}",
            review.reach(&index)
        ),
        backstop_webhook::validate::Plan::Decided(decision) => {
            panic!("a pause is a Schedule review, got {decision:?}")
        }
    }

    let state = AppState::new(index, Arc::new(Metrics::new()), TimeoutDecision::Deny);
    state.set_ready(true);
    let answer = review(&admission::router(state), "validate", &body).await;
    assert!(!answer.allowed, "{:?}", answer.raw);
    answer.assert_names_every_critical_namespace();
}
