//! Namespaces: the tier annotations and label `/mutate` adds, what `/validate` denies, and how
//! enforcement changes the answer.

use backstop_webhook::args::TimeoutDecision;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn mutates_a_new_protected_namespace_with_tier_annotations_and_label() {
    let router = platform();
    let body = fixture("namespace-create-protected-missing-tier");
    let answer = review(&router, "mutate", &body).await;
    assert!(answer.allowed);
    let object = patched(&body, &answer);
    assert_eq!(
        Value::Object(annotations(&object).clone()),
        json!({
            "backstop.io/tier": "critical",
            "backstop.io/rpo-target": "15m",
            "backstop.io/covered-by": COVERED_BY_ALL_THREE,
        })
    );
    assert_eq!(
        Value::Object(labels(&object).clone()),
        json!({"kubernetes.io/metadata.name": "data-platform", "backstop.io/tier": "critical"})
    );
    // managedFields and everything else are untouched.
    assert_eq!(
        object["metadata"]["managedFields"],
        body["request"]["object"]["metadata"]["managedFields"]
    );
    assert_eq!(object["status"], body["request"]["object"]["status"]);
}

#[tokio::test]
async fn denies_a_new_critical_namespace_whose_hourly_schedule_misses_fifteen_minutes() {
    let router = platform();
    let (_, object, validated) =
        admit(&router, &fixture("namespace-create-protected-missing-tier")).await;
    assert_eq!(annotations(&object)["backstop.io/tier"], "critical");
    assert!(!validated.allowed);
    assert_eq!(validated.code, Some(403));
    assert!(
        validated
            .message
            .starts_with("backstop denied Namespace data-platform: [rpo-exceeds-target]"),
        "{}",
        validated.message
    );
    // The message names the fix.
    assert!(
        validated.message.contains("e.g. \"*/12 * * * *\""),
        "{}",
        validated.message
    );
}

#[tokio::test]
async fn admits_that_namespace_with_the_reasons_as_warnings_under_warn_enforcement() {
    let router = router_with("warn", TimeoutDecision::Deny);
    let (mutated, _, validated) =
        admit(&router, &fixture("namespace-create-protected-missing-tier")).await;
    assert!(mutated.patch.is_some(), "warn still annotates");
    assert!(validated.allowed);
    assert!(
        validated.warned("[rpo-exceeds-target]"),
        "{:?}",
        validated.warnings
    );
    assert!(
        validated.warned("enforcement is warn"),
        "{:?}",
        validated.warnings
    );
}

#[tokio::test]
async fn admits_that_namespace_silently_and_untouched_under_dry_run_enforcement() {
    let router = router_with("dry-run", TimeoutDecision::Deny);
    let (mutated, _, validated) =
        admit(&router, &fixture("namespace-create-protected-missing-tier")).await;
    assert!(
        mutated.patch.is_none(),
        "dry-run only logs the patch it would apply"
    );
    assert!(validated.allowed);
    assert!(validated.warnings.is_empty(), "{:?}", validated.warnings);
}

#[tokio::test]
async fn answers_a_dry_run_review_exactly_like_the_real_one() {
    let router = platform();
    let real = fixture("namespace-create-protected-missing-tier");
    let dry = fixture("namespace-create-protected-missing-tier-dry-run");
    assert_eq!(dry["request"]["dryRun"], true);
    for endpoint in ["mutate", "validate"] {
        let mut real_answer = review(&router, endpoint, &real).await.raw;
        let mut dry_answer = review(&router, endpoint, &dry).await.raw;
        real_answer["response"]["uid"] = Value::Null;
        dry_answer["response"]["uid"] = Value::Null;
        assert_eq!(real_answer, dry_answer, "{endpoint}");
    }
    // And twice in a row: deciding has no side effect.
    let first = review(&router, "validate", &dry).await.raw;
    let second = review(&router, "validate", &dry).await.raw;
    assert_eq!(first, second);
}

#[tokio::test]
async fn creates_the_annotations_and_labels_maps_when_a_namespace_has_neither() {
    let router = platform();
    let body = fixture("namespace-create-protected-without-labels-or-annotations");
    let metadata = &body["request"]["object"]["metadata"];
    assert!(metadata.get("labels").is_none() && metadata.get("annotations").is_none());
    let answer = review(&router, "mutate", &body).await;
    let object = patched(&body, &answer);
    assert_eq!(
        Value::Object(annotations(&object).clone()),
        json!({
            "backstop.io/tier": "standard",
            "backstop.io/rpo-target": "24h",
            "backstop.io/covered-by": "daily-backup,weekly-full-backup",
        })
    );
    assert_eq!(
        Value::Object(labels(&object).clone()),
        json!({"backstop.io/tier": "standard"})
    );
    let patch = serde_json::to_value(answer.patch.unwrap()).unwrap();
    assert_eq!(
        patch.as_array().unwrap().len(),
        2,
        "one add per missing map: {patch}"
    );
}

#[tokio::test]
async fn never_overwrites_tier_or_covered_by_values_a_user_set_and_escapes_keys() {
    let router = platform();
    let body = fixture("namespace-create-protected-user-set-values");
    let answer = review(&router, "mutate", &body).await;
    let patch = serde_json::to_value(answer.patch.as_ref().unwrap()).unwrap();
    assert_eq!(
        patch,
        json!([{"op": "add", "path": "/metadata/annotations/backstop.io~1rpo-target", "value": "15m"}])
    );
    let object = patched(&body, &answer);
    assert_eq!(
        Value::Object(annotations(&object).clone()),
        json!({
            "backstop.io/tier": "archive",
            "backstop.io/covered-by": "my-own-schedule",
            "backstop.io/rpo-target": "15m",
            "team~ops/owner": "vault-team",
        })
    );
    assert_eq!(labels(&object)["backstop.io/tier"], "archive");
    // The mismatch is shown, not silently corrected.
    let mut validated_body = body.clone();
    validated_body["request"]["object"] = object;
    let validated = review(&router, "validate", &validated_body).await;
    assert!(
        validated.warned("[tier-annotation-mismatch]"),
        "{:?}",
        validated.raw
    );
}

#[tokio::test]
async fn leaves_an_unprotected_namespace_untouched() {
    let router = platform();
    for name in [
        "namespace-create-unprotected",
        "namespace-create-unprotected-dry-run",
    ] {
        let (mutated, _, validated) = admit(&router, &fixture(name)).await;
        assert!(mutated.patch.is_none(), "{name}");
        assert!(
            validated.allowed && validated.warnings.is_empty(),
            "{name}: {:?}",
            validated.raw
        );
    }
}

#[tokio::test]
async fn leaves_the_exempt_kube_system_namespace_untouched() {
    let router = platform();
    let (mutated, _, validated) =
        admit(&router, &fixture("namespace-update-exempt-kube-system")).await;
    assert!(mutated.patch.is_none());
    assert!(validated.allowed && validated.warnings.is_empty());
}

#[tokio::test]
async fn admits_a_label_change_on_a_protected_namespace_despite_its_older_rpo_gap() {
    let router = platform();
    let (mutated, object, validated) = admit(
        &router,
        &fixture("namespace-update-adds-a-label-to-a-protected-namespace"),
    )
    .await;
    assert!(
        mutated.patch.is_some(),
        "the missing tier annotations are added on UPDATE too"
    );
    assert_eq!(labels(&object)["team"], "data");
    assert!(validated.allowed, "{:?}", validated.raw);
    assert!(
        validated.warned("[rpo-exceeds-target]") && validated.warned("already so before"),
        "{:?}",
        validated.warnings
    );
}

#[tokio::test]
async fn denies_removing_the_tier_label_and_annotation_that_opted_a_namespace_in() {
    let router = platform();
    let (mutated, _, validated) = admit(
        &router,
        &fixture("namespace-update-removes-tier-label-and-annotation"),
    )
    .await;
    assert!(
        mutated.patch.is_none(),
        "no longer protected: nothing to add back"
    );
    assert!(!validated.allowed);
    for removed in ["label backstop.io/tier", "annotation backstop.io/tier"] {
        assert!(
            validated.message.contains(&format!(
                "[protection-removed] Namespace analytics: removing the {removed} (was \"standard\")"
            )),
            "{}",
            validated.message
        );
    }
}

#[tokio::test]
async fn denies_removing_the_label_the_policy_selector_protects_a_namespace_by() {
    let router = platform();
    let (mutated, _, validated) =
        admit(&router, &fixture("namespace-update-removes-protect-label")).await;
    assert!(mutated.patch.is_none());
    assert!(!validated.allowed);
    assert!(
        validated.message.contains(
            "[protection-removed] Namespace analytics: this change takes it out of the protected set (it is in the standard tier)"
        ),
        "{}",
        validated.message
    );
}

#[tokio::test]
async fn puts_back_a_removed_tier_label_while_the_annotation_still_declares_the_tier() {
    let router = platform();
    let mut body = fixture("namespace-update-removes-tier-label-and-annotation");
    body["request"]["object"]["metadata"]["annotations"]["backstop.io/tier"] = json!("standard");
    let (_, object, validated) = admit(&router, &body).await;
    assert_eq!(labels(&object)["backstop.io/tier"], "standard");
    assert!(validated.allowed, "{:?}", validated.raw);
}

#[tokio::test]
async fn denies_removing_the_rpo_target_annotation_unless_mutate_puts_it_back() {
    let router = platform();
    let body = fixture("namespace-update-removes-rpo-target-annotation");
    let validated = review(&router, "validate", &body).await;
    assert!(!validated.allowed);
    assert!(
        validated
            .message
            .contains("removing the annotation backstop.io/rpo-target (was \"15m\")"),
        "{}",
        validated.message
    );
    // Through the whole chain, mutation restores it and the update goes through.
    let (_, object, validated) = admit(&router, &body).await;
    assert_eq!(annotations(&object)["backstop.io/rpo-target"], "15m");
    assert!(validated.allowed, "{:?}", validated.raw);
}

#[tokio::test]
async fn allows_deleting_a_protected_namespace() {
    let router = platform();
    let (mutated, _, validated) = admit(&router, &fixture("namespace-delete-protected")).await;
    assert!(mutated.patch.is_none());
    assert!(validated.allowed && validated.warnings.is_empty());
}
