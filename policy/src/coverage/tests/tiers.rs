//! Tiers and exemptions: which objects are protected, and how they opt out.

use super::*;

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
