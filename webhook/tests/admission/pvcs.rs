//! PersistentVolumeClaims: annotations for claims not yet mounted, exemptions, protection removal,
//! terminating claims.

use backstop_webhook::args::TimeoutDecision;

use crate::support::*;

#[tokio::test]
async fn annotates_a_new_pvc_with_the_schedules_that_will_take_it_once_mounted() {
    let router = platform();
    let (mutated, object, validated) =
        admit(&router, &fixture("pvc-create-in-protected-namespace")).await;
    assert!(mutated.patch.is_some());
    let annotations = annotations(&object);
    assert_eq!(annotations["backstop.io/tier"], "critical");
    assert_eq!(annotations["backstop.io/rpo-target"], "15m");
    assert!(
        annotations.contains_key("kubectl.kubernetes.io/last-applied-configuration"),
        "existing annotations stay"
    );
    assert_eq!(
        annotations["backstop.io/covered-by"], "critical-backup,daily-backup,weekly-full-backup",
        "fs-backup takes its data once its pod starts"
    );
    assert!(
        object["metadata"]
            .get("labels")
            .is_some_and(|labels| labels.get("backstop.io/tier").is_none())
    );
    // Not mounted yet is never the reason for a denial; the hourly schedule is.
    assert!(!validated.allowed);
    assert!(
        validated.message.contains("[rpo-exceeds-target]"),
        "{}",
        validated.message
    );
    assert!(!validated.message.contains("[unmounted-fs-backup-only]"));
}

#[tokio::test]
async fn warns_that_a_new_pvc_is_unmounted_instead_of_denying() {
    let router = router_with("warn", TimeoutDecision::Deny);
    let (_, _, validated) = admit(&router, &fixture("pvc-create-in-protected-namespace")).await;
    assert!(validated.allowed, "{:?}", validated.raw);
    assert!(
        validated.warned("[unmounted-fs-backup-only]"),
        "{:?}",
        validated.warnings
    );
}

#[tokio::test]
async fn leaves_the_pvc_status_subresource_untouched() {
    let router = platform();
    let body = fixture("pvc-update-status-subresource");
    assert_eq!(body["request"]["subResource"], "status");
    let (mutated, _, validated) = admit(&router, &body).await;
    assert!(mutated.patch.is_none());
    assert!(validated.allowed && validated.warnings.is_empty());
}

#[tokio::test]
async fn honours_a_pvc_exemption_with_a_reason() {
    let router = platform();
    let (mutated, _, validated) = admit(&router, &fixture("pvc-create-exempt-with-reason")).await;
    assert!(mutated.patch.is_none(), "an exempt claim is not annotated");
    assert!(
        validated.allowed && validated.warnings.is_empty(),
        "{:?}",
        validated.raw
    );
}

#[tokio::test]
async fn denies_a_pvc_exemption_without_a_reason() {
    let router = platform();
    let (_, _, validated) = admit(&router, &fixture("pvc-create-exempt-without-reason")).await;
    assert!(!validated.allowed);
    assert!(
        validated.message.contains("[exemption-without-reason]"),
        "{}",
        validated.message
    );
}

#[tokio::test]
async fn denies_removing_the_tier_annotation_that_opted_a_pvc_in() {
    let router = platform();
    let (_, _, validated) = admit(&router, &fixture("pvc-update-removes-tier-annotation")).await;
    assert!(!validated.allowed);
    assert!(
        validated.message.contains(
            "[protection-removed] PersistentVolumeClaim analytics/clickhouse-data: removing the annotation backstop.io/tier"
        ),
        "{}",
        validated.message
    );
    assert!(
        validated
            .message
            .contains("backstop.io/exempt: \"<reason>\"")
    );
}

#[tokio::test]
async fn lets_a_controller_remove_the_finalizer_of_a_terminating_pvc() {
    let router = platform();
    let (mutated, _, validated) = admit(
        &router,
        &fixture("pvc-update-removes-finalizer-while-terminating"),
    )
    .await;
    assert!(mutated.patch.is_none());
    assert!(validated.allowed && validated.warnings.is_empty());
}

#[tokio::test]
async fn allows_deleting_a_pvc() {
    let router = platform();
    let (mutated, _, validated) =
        admit(&router, &fixture("pvc-delete-in-protected-namespace")).await;
    assert!(mutated.patch.is_none());
    assert!(validated.allowed);
}
