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
//!   [`CoverageIndex::schedule_edit_regressions`]; any protected object left uncovered, outside
//!   its tier's RPO or below its retention, and worse off than before, denies the change, naming
//!   every namespace (and PVC) and why. "Before" is the index with the schedule set to the
//!   request's `oldObject`, which the apiserver guarantees is the stored object: the index may
//!   lag behind (a schedule created a moment ago, or an edit not yet seen), and comparing
//!   against a stale copy would let a pause through or blame an edit for older changes;
//! - an `UPDATE` that leaves `spec` unchanged (status, labels, annotations, finalizers) is
//!   allowed: it cannot change coverage, and Velero's own status writes must never be blocked;
//! - `DELETE` by the namespace controller (the Velero namespace itself is being deleted) is
//!   allowed: that deletion was already decided, and refusing it would only wedge the namespace
//!   in `Terminating`.
//!
//! Every denial respects `enforcement`: `warn` admits with the reasons as warnings, `dry-run`
//! admits silently (the decision is logged by the router).

use policy::objects::Meta;
use policy::schedule::{CompiledSchedule, ScheduleState};
use policy::velero::{Schedule, ScheduleSpec, ScheduleStatus};
use policy::verdict::Regression;
use policy::{CoverageIndex, Detail, Enforcement, GapCode, ObjectKind, Policy, Severity, Verdict};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::review::{AdmissionRequest, Decision, Facts, MetaHead, ObjectHead, Operation, Subject};

/// The Kubernetes namespace controller, which deletes everything in a namespace being deleted:
/// its own service account, or the controller manager's identity when it runs without
/// per-controller credentials.
pub const NAMESPACE_CONTROLLERS: [&str; 2] = [
    "system:serviceaccount:kube-system:namespace-controller",
    "system:kube-controller-manager",
];

/// How many PVCs a regression message names per reason before summarising the rest.
const MAX_PVCS_NAMED: usize = 20;

/// A validation either decided at once (cheap) or a Schedule change to weigh (compiles cron
/// expressions and re-evaluates every object the schedule touches: see [`ScheduleReview::reach`]).
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
            Plan::Decided(governed(index, request, ObjectKind::Namespace))
        }
        (Subject::PersistentVolumeClaim, Operation::Create | Operation::Update) => {
            Plan::Decided(governed(index, request, ObjectKind::PersistentVolumeClaim))
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

/// A Namespace or PVC: its verdict as admitted (a new PVC judged as it will be once mounted),
/// the verdict of the object it replaces, and any protection key the update removes.
fn governed(index: &CoverageIndex, request: &AdmissionRequest<'_>, kind: ObjectKind) -> Decision {
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
        MetaHead::is_terminating(self.metadata.as_ref())
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
            if NAMESPACE_CONTROLLERS.contains(&request.user_info.username.as_ref()) {
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
    /// At most how many Namespaces and PVCs [`ScheduleReview::decide`] re-evaluates (twice each).
    pub fn reach(&self, index: &CoverageIndex) -> usize {
        if self.operation == Operation::Create {
            return 0;
        }
        index.schedule_edit_reach(&self.namespace, &self.name, self.old.as_ref())
    }

    pub fn decide(&self, index: &CoverageIndex) -> Decision {
        let warnings = self.new.as_ref().map(schedule_warnings).unwrap_or_default();
        if self.operation == Operation::Create {
            return enforce(self.enforcement, "", Vec::new(), warnings);
        }
        // oldObject is what the apiserver holds; the index may lag behind it.
        let regressions = index.schedule_edit_regressions(
            &self.namespace,
            &self.name,
            self.old.as_ref(),
            self.new.as_ref(),
        );
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
    let compiled = CompiledSchedule::compile(schedule);
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
pub(crate) mod tests {
    use std::sync::Arc;

    use policy::Inventory;
    use serde_json::{Value, json};

    use super::*;
    use crate::review;

    const POLICY: &str = include_str!("../../fixtures/policy/rules-daily-meets-standard.yaml");

    /// Every ten minutes for data-platform (7 days kept), daily for registry (30 days), and a
    /// CSI snapshot path for the `fast` storage class. `team-a` is in no schedule.
    const CLUSTER: &str = "
apiVersion: velero.io/v1
kind: Schedule
metadata: {name: ten-minutes, namespace: velero}
spec:
  schedule: '*/10 * * * *'
  template: {includedNamespaces: [data-platform], ttl: 168h0m0s}
---
apiVersion: velero.io/v1
kind: Schedule
metadata: {name: daily, namespace: velero}
spec:
  schedule: '0 2 * * *'
  template: {includedNamespaces: [registry], ttl: 720h0m0s}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast}
provisioner: csi.example.com
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata: {name: fast-snapshots, labels: {velero.io/csi-volumesnapshot-class: 'true'}}
driver: csi.example.com
---
apiVersion: v1
kind: Namespace
metadata: {name: data-platform}
---
apiVersion: v1
kind: Namespace
metadata: {name: registry}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-a}
";

    pub(crate) fn index() -> CoverageIndex {
        let policy = Policy::from_yaml(POLICY, "policy.yaml").unwrap();
        let mut inventory = Inventory::default();
        inventory.add_yaml(CLUSTER, "cluster.yaml").unwrap();
        CoverageIndex::build(Arc::new(policy), inventory)
    }

    /// An AdmissionReview body as the apiserver would send it.
    pub(crate) fn body(
        kind: (&str, &str),
        operation: &str,
        namespace: &str,
        name: &str,
        object: Value,
        old_object: Value,
    ) -> String {
        json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": "u-1",
                "kind": {"group": kind.0, "version": "v1", "kind": kind.1},
                "resource": {"group": kind.0, "version": "v1", "resource": "x"},
                "name": name,
                "namespace": namespace,
                "operation": operation,
                "userInfo": {"username": "admin"},
                "object": object,
                "oldObject": old_object,
                "dryRun": false,
            }
        })
        .to_string()
    }

    pub(crate) fn namespace_object(name: &str, labels: Value, annotations: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"name": name, "labels": labels, "annotations": annotations}})
    }

    pub(crate) fn pvc_object(namespace: &str, name: &str, storage_class: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"name": name, "namespace": namespace},
               "spec": {"storageClassName": storage_class}})
    }

    fn schedule_object(name: &str, cron: &str, template: Value) -> Value {
        json!({"apiVersion": "velero.io/v1", "kind": "Schedule",
               "metadata": {"name": name, "namespace": "velero"},
               "spec": {"schedule": cron, "template": template}})
    }

    fn validate(body: &str) -> Decision {
        let review = review::decode(body.as_bytes()).unwrap();
        decide(&index(), &review.request)
    }

    const NAMESPACE: (&str, &str) = ("", "Namespace");
    const PVC: (&str, &str) = ("", "PersistentVolumeClaim");
    const SCHEDULE: (&str, &str) = ("velero.io", "Schedule");

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

    fn ten_minutes(template: Value) -> Value {
        schedule_object("ten-minutes", "*/10 * * * *", template)
    }

    #[test]
    fn denies_shortening_retention_below_the_tier_minimum() {
        let old = ten_minutes(json!({"includedNamespaces": ["data-platform"], "ttl": "168h0m0s"}));
        let new = ten_minutes(json!({"includedNamespaces": ["data-platform"], "ttl": "24h0m0s"}));
        let decision = validate(&body(SCHEDULE, "UPDATE", "velero", "ten-minutes", new, old));
        let message = decision.message().unwrap();
        assert!(
            message.starts_with("backstop denied changing Schedule velero/ten-minutes"),
            "{message}"
        );
        assert!(
            message.contains("Namespace data-platform (critical) retention would drop to 1d"),
            "{message}"
        );
    }

    #[test]
    fn denies_excluding_a_namespace_the_schedule_alone_covers() {
        let old = ten_minutes(json!({"includedNamespaces": ["data-platform"]}));
        let new = ten_minutes(
            json!({"includedNamespaces": ["*"], "excludedNamespaces": ["data-platform"]}),
        );
        let decision = validate(&body(SCHEDULE, "UPDATE", "velero", "ten-minutes", new, old));
        assert!(
            decision
                .message()
                .unwrap()
                .contains("Namespace data-platform (critical) would lose all backup coverage"),
            "{decision:?}"
        );
    }

    #[test]
    fn allows_widening_a_schedule() {
        let old = ten_minutes(json!({"includedNamespaces": ["data-platform"]}));
        let new = ten_minutes(json!({"includedNamespaces": ["data-platform", "team-a"]}));
        let decision = validate(&body(SCHEDULE, "UPDATE", "velero", "ten-minutes", new, old));
        assert_eq!(decision, Decision::allow());
    }

    #[test]
    fn warns_about_a_schedule_that_never_fires() {
        let new = schedule_object("never", "0 0 30 2 *", json!({}));
        let decision = validate(&body(
            SCHEDULE,
            "CREATE",
            "velero",
            "never",
            new,
            Value::Null,
        ));
        assert!(decision.is_allowed());
        assert!(
            decision.warnings[0].starts_with("[schedule-never-fires]"),
            "{decision:?}"
        );
    }

    #[test]
    fn answers_a_schedule_it_cannot_read_as_invalid() {
        let new = json!({"spec": {"schedule": 5}});
        let decision = validate(&body(SCHEDULE, "CREATE", "velero", "x", new, Value::Null));
        assert_eq!(decision.outcome(), crate::review::Outcome::Invalid);
    }

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
