//! Validation: is the object (or the Schedule change) acceptable under the policy?
//!
//! Namespaces and PVCs (`CREATE`/`UPDATE` of the object itself, not being deleted):
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
//!
//! Schedules (`velero.io/v1`, in the policy's Velero namespace; elsewhere allowed untouched):
//! - `CREATE` is allowed (it can only add coverage), with a warning when Velero would refuse it;
//! - `UPDATE`/`DELETE` compare coverage before and after with
//!   [`CoverageIndex::schedule_change_regressions`]; any protected object left uncovered, outside
//!   its tier's RPO or below its retention, and worse off than before, denies the change, naming
//!   every namespace (and PVC) and why. "Before" is the index with the schedule set to the
//!   request's `oldObject`, which the apiserver guarantees is the stored object: the index may
//!   lag behind (a schedule created a moment ago, or an edit not yet seen), and comparing
//!   against a stale copy would let a pause through or blame an edit for older changes;
//! - an `UPDATE` that leaves `spec` unchanged (status, labels, annotations, finalizers) is
//!   allowed: it cannot change coverage, and Velero's own status writes must never be blocked;
//! - `DELETE` by the namespace controller (the Velero namespace itself is being deleted) is
//!   allowed: that deletion was already decided, and refusing it would only wedge the namespace.
//!
//! Every denial respects `enforcement`: `warn` admits with the reasons as warnings, `dry-run`
//! admits silently (the decision is logged by the router).

use policy::schedule::{CompiledSchedule, CronCache, ScheduleState};
use policy::velero::{Schedule, ScheduleSpec, ScheduleStatus};
use policy::verdict::Regression;
use policy::{CoverageIndex, Enforcement, GapCode, Policy, Severity, Verdict};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::review::{AdmissionRequest, Decision, MetaHead, ObjectHead, Operation, Subject};

/// The Kubernetes namespace controller, which deletes everything in a namespace being deleted.
pub const NAMESPACE_CONTROLLER: &str = "system:serviceaccount:kube-system:namespace-controller";

/// How many PVCs a regression message names per reason before summarising the rest.
const MAX_PVCS_NAMED: usize = 20;

/// A validation either decided at once (cheap) or a Schedule change to weigh (compiles cron
/// expressions and re-evaluates every object the schedule touches: run it off the async path).
#[derive(Debug)]
pub enum Plan {
    Decided(Decision),
    Schedule(Box<ScheduleReview>),
}

/// The answer of `/validate`, computed on the calling thread.
pub fn decide(index: &CoverageIndex, request: &AdmissionRequest<'_>) -> Decision {
    match plan(index, request) {
        Plan::Decided(decision) => decision,
        Plan::Schedule(review) => review.decide(index),
    }
}

pub fn plan(index: &CoverageIndex, request: &AdmissionRequest<'_>) -> Plan {
    if request.is_subresource() {
        return Plan::Decided(Decision::allow());
    }
    match (request.subject(), request.operation) {
        (Subject::Namespace, Operation::Create | Operation::Update) => {
            Plan::Decided(namespace(index, request))
        }
        (Subject::PersistentVolumeClaim, Operation::Create | Operation::Update) => {
            Plan::Decided(pvc(index, request))
        }
        (Subject::Schedule, Operation::Create | Operation::Update | Operation::Delete) => {
            schedule_plan(index.policy(), request)
        }
        _ => Plan::Decided(Decision::allow()),
    }
}

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

fn namespace(index: &CoverageIndex, request: &AdmissionRequest<'_>) -> Decision {
    let object = match decode_object(request.object, "object") {
        Ok(object) => object,
        Err(invalid) => return invalid,
    };
    if object.is_terminating() {
        return Decision::allow();
    }
    let policy = index.policy();
    let facts = object.namespace_facts(request);
    if policy.is_exempt_namespace(&facts.metadata.name) {
        return Decision::allow();
    }
    let verdict = index.evaluate_namespace(&facts);
    let old = old_object(request);
    let before = old
        .as_ref()
        .map(|old| index.evaluate_namespace(&old.namespace_facts(request)));
    let removed = removed_protection(policy, &verdict, old.as_ref(), &object, true);
    judge(policy, &verdict, before.as_ref(), removed)
}

fn pvc(index: &CoverageIndex, request: &AdmissionRequest<'_>) -> Decision {
    let object = match decode_object(request.object, "object") {
        Ok(object) => object,
        Err(invalid) => return invalid,
    };
    if object.is_terminating() {
        return Decision::allow();
    }
    let policy = index.policy();
    let facts = object.pvc_facts(request);
    let verdict = index.evaluate_pvc(&facts);
    if verdict.exempt.is_some() || policy.is_exempt_namespace(facts.metadata.namespace_or_default())
    {
        return Decision::allow();
    }
    let old = old_object(request);
    let before = old
        .as_ref()
        .map(|old| index.evaluate_pvc(&old.pvc_facts(request)));
    let removed = removed_protection(policy, &verdict, old.as_ref(), &object, false);
    judge(policy, &verdict, before.as_ref(), removed)
}

/// `[protection-removed]` reasons for protection keys present in `old` and gone from `new`.
fn removed_protection(
    policy: &Policy,
    verdict: &Verdict,
    old: Option<&ObjectHead>,
    new: &ObjectHead,
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
    let tier_annotation = old.annotation(&keys.tier);
    check(
        &format!("annotation {}", keys.tier),
        tier_annotation,
        new.annotation(&keys.tier),
        names_tier(tier_annotation),
    );
    check(
        &format!("annotation {}", keys.rpo_target),
        old.annotation(&keys.rpo_target),
        new.annotation(&keys.rpo_target),
        verdict.is_protected(),
    );
    if is_namespace {
        let tier_label = old.label(&keys.tier);
        check(
            &format!("label {}", keys.tier),
            tier_label,
            new.label(&keys.tier),
            names_tier(tier_label),
        );
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

/// Denies for `errors` under `deny`; turns them into warnings under `warn`; admits silently
/// under `dry-run`. `warnings` are shown unless the mode is `dry-run`.
fn enforce(
    enforcement: Enforcement,
    headline: &str,
    errors: Vec<String>,
    warnings: Vec<String>,
) -> Decision {
    if errors.is_empty() {
        return match enforcement {
            Enforcement::DryRun => Decision::allow(),
            Enforcement::Deny | Enforcement::Warn => Decision::allow().with_warnings(warnings),
        };
    }
    let message = format!("{headline}: {}", errors.join("; "));
    match enforcement {
        Enforcement::Deny => Decision::deny(message).with_warnings(warnings),
        Enforcement::Warn => {
            let mut shown: Vec<String> = errors
                .iter()
                .map(|error| format!("{error} (enforcement is warn: admitted anyway)"))
                .collect();
            shown.extend(warnings);
            Decision {
                overridden: Some(format!("warn: {message}")),
                ..Decision::allow().with_warnings(shown)
            }
        }
        Enforcement::DryRun => Decision {
            overridden: Some(format!("dry-run: {message}")),
            ..Decision::allow()
        },
    }
}

/// A Schedule `CREATE`, `UPDATE` or `DELETE`, decoded and ready to weigh.
#[derive(Debug, Clone)]
pub struct ScheduleReview {
    pub operation: Operation,
    pub namespace: String,
    pub name: String,
    /// The stored schedule (`oldObject`), when the request carries it.
    pub old: Option<Schedule>,
    /// The schedule as it would be stored; `None` for a deletion.
    pub new: Option<Schedule>,
    pub enforcement: Enforcement,
}

#[derive(Deserialize)]
struct ScheduleObject {
    #[serde(default)]
    metadata: Option<MetaHead>,
    #[serde(default)]
    spec: Option<ScheduleSpec>,
    #[serde(default)]
    status: Option<ScheduleStatus>,
}

impl ScheduleObject {
    fn decode(raw: &RawValue) -> Result<Self, serde_json::Error> {
        serde_json::from_str(raw.get())
    }

    fn is_terminating(&self) -> bool {
        self.metadata
            .as_ref()
            .is_some_and(|meta| meta.deletion_timestamp.is_some())
    }

    fn into_schedule(self, name: &str, namespace: &str) -> Schedule {
        let mut schedule = Schedule::new(name, self.spec.unwrap_or_default());
        schedule.metadata.namespace = Some(namespace.to_string());
        schedule.status = self.status;
        schedule
    }
}

fn decode_schedule(raw: Option<&RawValue>, what: &str) -> Result<ScheduleObject, Decision> {
    let raw = raw.ok_or_else(|| Decision::invalid(format!("request.{what} is missing")))?;
    ScheduleObject::decode(raw).map_err(|error| {
        Decision::invalid(format!(
            "request.{what} is not a velero.io/v1 Schedule: {error}"
        ))
    })
}

fn schedule_plan(policy: &Policy, request: &AdmissionRequest<'_>) -> Plan {
    if request.namespace != policy.velero_namespace {
        // Velero only runs schedules of its own namespace: others protect nothing.
        return Plan::Decided(Decision::allow());
    }
    let namespace = request.namespace.as_ref();
    let name_of = |object: &ScheduleObject| {
        object
            .metadata
            .as_ref()
            .map(|meta| meta.name.as_str())
            .filter(|name| !name.is_empty())
            .unwrap_or(&request.name)
            .to_string()
    };
    let decoded = match request.operation {
        Operation::Create => decode_schedule(request.object, "object").map(|new| (None, Some(new))),
        Operation::Update => decode_schedule(request.old_object, "oldObject").and_then(|old| {
            decode_schedule(request.object, "object").map(|new| (Some(old), Some(new)))
        }),
        Operation::Delete => {
            if request.user_info.username == NAMESPACE_CONTROLLER {
                return Plan::Decided(Decision {
                    overridden: Some(
                        "the namespace controller deletes it with its namespace".to_string(),
                    ),
                    ..Decision::allow()
                });
            }
            // Without oldObject (apiservers before 1.15) the index's copy is the "before".
            Ok((
                request
                    .old_object
                    .and_then(|raw| ScheduleObject::decode(raw).ok()),
                None,
            ))
        }
        Operation::Connect | Operation::Other => return Plan::Decided(Decision::allow()),
    };
    let (old, new) = match decoded {
        Ok(pair) => pair,
        Err(invalid) => return Plan::Decided(invalid),
    };
    if let (Some(old), Some(new)) = (&old, &new)
        && (old.spec == new.spec || new.is_terminating())
    {
        return Plan::Decided(Decision::allow());
    }
    let name = new
        .as_ref()
        .or(old.as_ref())
        .map(name_of)
        .unwrap_or_else(|| request.name.to_string());
    Plan::Schedule(Box::new(ScheduleReview {
        operation: request.operation,
        old: old.map(|old| old.into_schedule(&name, namespace)),
        new: new.map(|new| new.into_schedule(&name, namespace)),
        namespace: namespace.to_string(),
        name,
        enforcement: policy.enforcement,
    }))
}

impl ScheduleReview {
    pub fn decide(&self, index: &CoverageIndex) -> Decision {
        let warnings = self.new.as_ref().map(schedule_warnings).unwrap_or_default();
        if self.operation == Operation::Create {
            return enforce(self.enforcement, "", Vec::new(), warnings);
        }
        let regressions = match &self.old {
            Some(old) => index
                .with_schedule(&self.namespace, &self.name, Some(old))
                .schedule_change_regressions(&self.namespace, &self.name, self.new.as_ref()),
            None => {
                index.schedule_change_regressions(&self.namespace, &self.name, self.new.as_ref())
            }
        };
        let errors = if regressions.is_empty() {
            Vec::new()
        } else {
            vec![self.regression_message(&regressions)]
        };
        enforce(
            self.enforcement,
            &format!(
                "backstop denied {} Schedule {}/{}",
                self.verb(),
                self.namespace,
                self.name
            ),
            errors,
            warnings,
        )
    }

    fn verb(&self) -> &'static str {
        let paused = |schedule: &Schedule| schedule.spec.paused == Some(true);
        match (&self.old, &self.new) {
            (_, None) => "deleting",
            (Some(old), Some(new)) if paused(new) && !paused(old) => "pausing",
            _ => "changing",
        }
    }

    /// Every object named, grouped by what would happen to it.
    fn regression_message(&self, regressions: &[Regression]) -> String {
        let mut groups: Vec<(&str, Vec<&Verdict>)> = Vec::new();
        for regression in regressions {
            match groups
                .iter_mut()
                .find(|(reason, _)| *reason == regression.reason)
            {
                Some((_, verdicts)) => verdicts.push(&regression.after),
                None => groups.push((&regression.reason, vec![&regression.after])),
            }
        }
        let namespaces = |verdicts: &[&Verdict]| {
            verdicts
                .iter()
                .filter(|verdict| verdict.kind == policy::ObjectKind::Namespace)
                .count()
        };
        let described: Vec<String> = groups
            .iter()
            .map(|(reason, verdicts)| {
                let mut names: Vec<String> = verdicts
                    .iter()
                    .filter(|verdict| verdict.kind == policy::ObjectKind::Namespace)
                    .map(|verdict| tiered(verdict))
                    .collect();
                let pvcs: Vec<&&Verdict> = verdicts
                    .iter()
                    .filter(|verdict| verdict.kind == policy::ObjectKind::PersistentVolumeClaim)
                    .collect();
                names.extend(
                    pvcs.iter()
                        .take(MAX_PVCS_NAMED)
                        .map(|verdict| tiered(verdict)),
                );
                if pvcs.len() > MAX_PVCS_NAMED {
                    names.push(format!(
                        "and {} more PersistentVolumeClaims",
                        pvcs.len() - MAX_PVCS_NAMED
                    ));
                }
                format!("{} {reason}", names.join(", "))
            })
            .collect();
        let total_namespaces: usize = groups
            .iter()
            .map(|(_, verdicts)| namespaces(verdicts))
            .sum();
        format!(
            "it would leave {} protected object(s) ({} namespace(s)) worse off than now: {}; keep the schedule as it is, or first add a schedule that covers them within their tier",
            regressions.len(),
            total_namespaces,
            described.join("; ")
        )
    }
}

/// `Namespace data-platform (critical)`.
fn tiered(verdict: &Verdict) -> String {
    match &verdict.tier {
        Some(tier) => format!("{} ({tier})", verdict.subject()),
        None => verdict.subject(),
    }
}

/// What should be seen about a schedule being stored: Velero would refuse it, or it never fires.
fn schedule_warnings(schedule: &Schedule) -> Vec<String> {
    let compiled = CompiledSchedule::compile(schedule, &mut CronCache::default());
    let mut warnings = Vec::new();
    match compiled.state() {
        ScheduleState::Invalid => warnings.push(format!(
            "[schedule-invalid] Schedule {}/{} will be refused by Velero (FailedValidation): {}",
            compiled.namespace,
            compiled.name,
            compiled.problems.join("; ")
        )),
        ScheduleState::Active if compiled.worst_interval().is_none() => warnings.push(format!(
            "[schedule-never-fires] Schedule {}/{}: cron {:?} never fires, so it backs up nothing",
            compiled.namespace, compiled.name, compiled.expression
        )),
        ScheduleState::Active | ScheduleState::Paused => {}
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_mode_refuses_with_every_reason() {
        let decision = enforce(
            Enforcement::Deny,
            "backstop denied Namespace a",
            vec![
                "[no-schedule] x".to_string(),
                "[rpo-exceeds-target] y".to_string(),
            ],
            vec!["w".to_string()],
        );
        assert_eq!(
            decision.message(),
            Some("backstop denied Namespace a: [no-schedule] x; [rpo-exceeds-target] y")
        );
        assert_eq!(decision.warnings, ["w"]);
    }

    #[test]
    fn warn_mode_admits_with_the_reasons_as_warnings() {
        let decision = enforce(
            Enforcement::Warn,
            "h",
            vec!["[no-schedule] x".to_string()],
            vec!["w".to_string()],
        );
        assert!(decision.is_allowed());
        assert_eq!(
            decision.warnings,
            [
                "[no-schedule] x (enforcement is warn: admitted anyway)",
                "w"
            ]
        );
        assert!(decision.overridden.is_some());
    }

    #[test]
    fn dry_run_mode_admits_silently_but_remembers_the_denial() {
        let decision = enforce(
            Enforcement::DryRun,
            "h",
            vec!["[no-schedule] x".to_string()],
            vec!["w".to_string()],
        );
        assert_eq!(decision.refusal, None);
        assert!(decision.warnings.is_empty());
        assert_eq!(
            decision.overridden.as_deref(),
            Some("dry-run: h: [no-schedule] x")
        );
    }
}
