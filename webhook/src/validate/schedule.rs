//! `/validate` for Velero Schedules (`velero.io/v1`, in the policy's Velero namespace; elsewhere
//! allowed untouched):
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
//! Weighing an edit compiles cron expressions and re-evaluates every object the schedule
//! touches, so it is split in two: [`plan`] decodes and triages on the request path, and
//! [`ScheduleReview::decide`] weighs (inline or on the blocking pool, by [`ScheduleReview::reach`]).

use policy::schedule::ScheduleState;
use policy::velero::{Schedule, ScheduleSpec, ScheduleStatus};
use policy::verdict::Regression;
use policy::{CoverageIndex, Enforcement, Policy, Verdict};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::enforce::enforce;
use crate::review::{AdmissionRequest, Decision, MetaHead, Operation};

/// The Kubernetes namespace controller, which deletes everything in a namespace being deleted:
/// its own service account, or the controller manager's identity when it runs without
/// per-controller credentials.
pub(crate) const NAMESPACE_CONTROLLERS: [&str; 2] = [
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

pub(super) fn plan(policy: &Policy, request: &AdmissionRequest<'_>) -> Plan {
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
        let warnings = self
            .new
            .as_ref()
            .map(|schedule| schedule_warnings(index, schedule))
            .unwrap_or_default();
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

/// What should be seen about a schedule being stored: Velero would refuse it (judged against the
/// cluster the index knows: its storage locations and excluded namespaces), or it never fires.
fn schedule_warnings(index: &CoverageIndex, schedule: &Schedule) -> Vec<String> {
    let compiled = index.compile_schedule(schedule);
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
    use serde_json::{Value, json};

    use crate::review::{Decision, Outcome};
    use crate::validate::tests::{SCHEDULE, body, schedule_object, validate};

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
        assert_eq!(decision.outcome(), Outcome::Invalid);
    }
}
