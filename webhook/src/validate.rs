//! Validation: is the object (or the Schedule change) acceptable under the policy?
//!
//! - [`object`]: Namespaces and PVCs, judged as they arrive against the coverage index, and
//!   against the object they replace.
//! - [`schedule`]: Schedule creation, edits and deletions, judged by comparing the coverage of
//!   every protected object before and after.
//! - [`enforce`]: the policy's `enforcement` (`deny`, `warn`, `dry-run`) applied to the reasons.
//!
//! Sub-resources, other operations and kinds Backstop does not govern are allowed untouched.

mod enforce;
mod object;
mod schedule;
#[cfg(test)]
pub(crate) mod tests;

use policy::{CoverageIndex, ObjectKind};

pub use schedule::{Plan, ScheduleReview};

use crate::review::{AdmissionRequest, Decision, Operation, Subject};

/// The answer of `/validate`, computed on the calling thread.
pub fn decide(index: &CoverageIndex, request: &AdmissionRequest<'_>) -> Decision {
    match plan(index, request) {
        Plan::Decided(decision) => decision,
        Plan::Schedule(review) => review.decide(index),
    }
}

/// The answer of `/validate` if it is cheap, else the Schedule change to weigh.
pub fn plan(index: &CoverageIndex, request: &AdmissionRequest<'_>) -> Plan {
    if request.is_subresource() {
        return Plan::Decided(Decision::allow());
    }
    match (request.subject(), request.operation) {
        (Subject::Namespace, Operation::Create | Operation::Update) => {
            Plan::Decided(object::review(index, request, ObjectKind::Namespace))
        }
        (Subject::PersistentVolumeClaim, Operation::Create | Operation::Update) => Plan::Decided(
            object::review(index, request, ObjectKind::PersistentVolumeClaim),
        ),
        (Subject::Schedule, Operation::Create | Operation::Update | Operation::Delete) => {
            schedule::plan(index.policy(), request)
        }
        _ => Plan::Decided(Decision::allow()),
    }
}
