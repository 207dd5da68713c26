//! `/validate` for Namespaces and PVCs (`CREATE`/`UPDATE` of the object itself, not being
//! deleted):
//! - the object is evaluated with the coverage index as it arrives (already mutated);
//! - error gaps deny it, warning gaps become `warnings`; at admission a PVC is not mounted yet,
//!   so `unmounted-fs-backup-only` is always a warning, never a denial;
//! - on `UPDATE`, an error gap the old object already had is a warning, not a denial: an edit
//!   is refused only for what it breaks, so a label change on a namespace whose schedules miss
//!   the tier (or a controller's status/finalizer write) is never blocked by an older problem;
//! - removing `<prefix>/tier` (annotation, or label on a Namespace) that named a known tier, or
//!   `<prefix>/rpo-target` from an object that is still protected, is denied;
//! - a PVC exempt with a reason (`<prefix>/exempt`) is allowed; an empty reason is denied by the
//!   policy's `exemption-without-reason` gap.

use policy::objects::Meta;
use policy::{CoverageIndex, Detail, GapCode, ObjectKind, Policy, Severity, Verdict};
use serde_json::value::RawValue;

use super::enforce::enforce;
use crate::review::{AdmissionRequest, Decision, Facts, ObjectHead, Operation};

fn decode_object(raw: Option<&RawValue>, what: &str) -> Result<ObjectHead, Decision> {
    let raw = raw.ok_or_else(|| Decision::invalid(format!("request.{what} is missing")))?;
    ObjectHead::decode(raw)
        .map_err(|error| Decision::invalid(format!("request.{what} cannot be read: {error}")))
}

/// The old object of an `UPDATE`, when there is one that can be read.
fn old_object(request: &AdmissionRequest<'_>) -> Option<ObjectHead> {
    (request.operation == Operation::Update)
        .then_some(request.old_object)
        .flatten()
        .and_then(|raw| ObjectHead::decode(raw).ok())
}

/// A Namespace or PVC: its verdict as admitted (a new PVC judged as it will be once mounted),
/// the verdict of the object it replaces, and any protection key the update removes.
pub(super) fn review(
    index: &CoverageIndex,
    request: &AdmissionRequest<'_>,
    kind: ObjectKind,
) -> Decision {
    let object = match decode_object(request.object, "object") {
        Ok(object) => object,
        Err(invalid) => return invalid,
    };
    if object.is_terminating() {
        return Decision::allow();
    }
    let facts = object.into_facts(kind, request);
    let verdict = facts.evaluate_at_admission(index, Detail::Messages);
    let policy = index.policy();
    if verdict.exempt.is_some() || policy.is_exempt_namespace(&verdict.namespace) {
        return Decision::allow();
    }
    let old = old_object(request).map(|head| head.into_facts(kind, request));
    // The old object's verdict is compared by gap code only.
    let before = old
        .as_ref()
        .map(|old| old.evaluate_at_admission(index, Detail::CodesOnly));
    let removed = removed_protection(
        policy,
        &verdict,
        before.as_ref(),
        old.as_ref().map(Facts::meta),
        facts.meta(),
        kind == ObjectKind::Namespace,
    );
    judge(policy, &verdict, before.as_ref(), removed)
}

/// `[protection-removed]` reasons for protection keys present in `old` and gone from `new`.
fn removed_protection(
    policy: &Policy,
    verdict: &Verdict,
    before: Option<&Verdict>,
    old: Option<&Meta>,
    new: &Meta,
    is_namespace: bool,
) -> Vec<String> {
    let Some(old) = old else {
        return Vec::new();
    };
    let keys = &policy.keys;
    let subject = verdict.subject();
    let mut reasons = Vec::new();
    let mut check = |what: &str, before: Option<&str>, after: Option<&str>, matters: bool| {
        if let (Some(value), None) = (before, after)
            && matters
        {
            let opt_out = if is_namespace {
                String::new()
            } else {
                format!(", or opt the claim out with {}: \"<reason>\"", keys.exempt)
            };
            reasons.push(format!(
                "[protection-removed] {subject}: removing the {what} (was {value:?}) would take it out of Backstop's protection; keep it{opt_out}"
            ));
        }
    };
    let names_tier = |value: Option<&str>| value.is_some_and(|tier| policy.tier(tier).is_some());
    fn annotation<'m>(meta: &'m Meta, key: &str) -> Option<&'m str> {
        meta.annotations.get(key).map(String::as_str)
    }
    fn label<'m>(meta: &'m Meta, key: &str) -> Option<&'m str> {
        meta.labels.get(key).map(String::as_str)
    }
    let tier_annotation = annotation(old, &keys.tier);
    check(
        &format!("annotation {}", keys.tier),
        tier_annotation,
        annotation(new, &keys.tier),
        names_tier(tier_annotation),
    );
    check(
        &format!("annotation {}", keys.rpo_target),
        annotation(old, &keys.rpo_target),
        annotation(new, &keys.rpo_target),
        verdict.is_protected(),
    );
    if is_namespace {
        let tier_label = label(old, &keys.tier);
        check(
            &format!("label {}", keys.tier),
            tier_label,
            label(new, &keys.tier),
            names_tier(tier_label),
        );
    }
    // Any other change that takes the object out of the protected set (say, removing the
    // label a policy selector protects it by) is the same removal.
    if let Some(tier) = before
        .filter(|before| before.is_protected())
        .and_then(|before| before.tier.as_deref())
        && reasons.is_empty()
        && verdict.tier.is_none()
    {
        reasons.push(format!(
            "[protection-removed] {subject}: this change takes it out of the protected set (it is in the {tier} tier); undo it, or exempt it in the policy file"
        ));
    }
    reasons
}

/// Sorts a verdict's gaps into denials and warnings, then applies the enforcement mode.
fn judge(
    policy: &Policy,
    verdict: &Verdict,
    before: Option<&Verdict>,
    mut errors: Vec<String>,
) -> Decision {
    let mut warnings = Vec::new();
    for gap in &verdict.gaps {
        let text = format!("[{}] {}", gap.code, gap.message);
        let admission_warning =
            gap.severity == Severity::Warning || gap.code == GapCode::UnmountedFsBackupOnly;
        let pre_existing =
            before.is_some_and(|before| before.errors().any(|old| old.code == gap.code));
        if admission_warning {
            warnings.push(text);
        } else if pre_existing {
            warnings.push(format!("{text} (already so before this change)"));
        } else {
            errors.push(text);
        }
    }
    enforce(
        policy.enforcement,
        &format!("backstop denied {}", verdict.subject()),
        errors,
        warnings,
    )
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::review::Decision;
    use crate::validate::tests::{NAMESPACE, PVC, body, namespace_object, pvc_object, validate};

    #[test]
    fn admits_a_namespace_covered_within_its_tier_without_a_word() {
        let object = namespace_object("data-platform", json!({}), json!({}));
        let decision = validate(&body(
            NAMESPACE,
            "CREATE",
            "data-platform",
            "data-platform",
            object,
            Value::Null,
        ));
        assert_eq!(decision, Decision::allow());
    }

    #[test]
    fn denies_a_new_namespace_no_schedule_covers() {
        let object = namespace_object("team-a", json!({}), json!({}));
        let decision = validate(&body(
            NAMESPACE,
            "CREATE",
            "team-a",
            "team-a",
            object,
            Value::Null,
        ));
        assert!(
            decision
                .message()
                .unwrap()
                .starts_with("backstop denied Namespace team-a: [no-schedule]"),
            "{decision:?}"
        );
    }

    #[test]
    fn keeps_an_older_gap_as_a_warning_when_a_namespace_is_updated() {
        let old = namespace_object("team-a", json!({}), json!({}));
        let new = namespace_object("team-a", json!({"team": "a"}), json!({}));
        let decision = validate(&body(NAMESPACE, "UPDATE", "team-a", "team-a", new, old));
        assert!(decision.is_allowed());
        assert_eq!(decision.warnings.len(), 1);
        assert!(decision.warnings[0].starts_with("[no-schedule]"));
        assert!(decision.warnings[0].ends_with("(already so before this change)"));
    }

    #[test]
    fn denies_an_update_that_excludes_a_covered_namespace_from_backup() {
        let old = namespace_object("data-platform", json!({}), json!({}));
        let new = namespace_object(
            "data-platform",
            json!({"velero.io/exclude-from-backup": "true"}),
            json!({}),
        );
        let decision = validate(&body(
            NAMESPACE,
            "UPDATE",
            "data-platform",
            "data-platform",
            new,
            old,
        ));
        assert!(
            decision
                .message()
                .unwrap()
                .contains("[excluded-from-backup]"),
            "{decision:?}"
        );
    }

    #[test]
    fn denies_removing_the_label_a_policy_selector_protects_a_namespace_by() {
        let old = namespace_object(
            "analytics",
            json!({"backstop.io/protect": "true"}),
            json!({}),
        );
        let new = namespace_object("analytics", json!({}), json!({}));
        let decision = validate(&body(
            NAMESPACE,
            "UPDATE",
            "analytics",
            "analytics",
            new,
            old,
        ));
        assert_eq!(
            decision.message(),
            Some(
                "backstop denied Namespace analytics: [protection-removed] Namespace analytics: this change takes it out of the protected set (it is in the standard tier); undo it, or exempt it in the policy file"
            )
        );
    }

    #[test]
    fn admits_a_pvc_a_snapshot_covers_within_its_tier() {
        let object = pvc_object("registry", "blobs", "fast");
        let decision = validate(&body(
            PVC,
            "CREATE",
            "registry",
            "blobs",
            object,
            Value::Null,
        ));
        assert_eq!(decision, Decision::allow());
    }

    #[test]
    fn denies_a_pvc_whose_volume_no_backup_reaches() {
        // No snapshot path for `slow` and no file-system backup: the claim object is backed up,
        // its data is not. That is not the unmounted case, so it denies.
        let object = pvc_object("registry", "blobs", "slow");
        let decision = validate(&body(
            PVC,
            "CREATE",
            "registry",
            "blobs",
            object,
            Value::Null,
        ));
        assert!(
            decision
                .message()
                .unwrap()
                .contains("[volume-not-backed-up]"),
            "{decision:?}"
        );
    }
}
