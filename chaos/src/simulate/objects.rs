//! Which objects to simulate and with which schedules, read from the policy crate's coverage
//! index: every protected Namespace, and each protected PVC whose coverage (tier or covering
//! schedules) differs from its namespace's.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use policy::{CoverageIndex, Detail, ObjectKind, Verdict};

use super::{DurationFrom, SimObject, SimSchedule};

/// The objects to simulate, namespaces first, as `audit` orders them.
pub fn objects_to_simulate(index: &CoverageIndex) -> Vec<SimObject> {
    let verdicts: Vec<Verdict> = index
        .evaluate_all_with(Detail::CodesOnly)
        .into_iter()
        .filter(Verdict::is_protected)
        .collect();
    let coverage = |verdict: &Verdict| {
        (
            verdict.tier.clone(),
            verdict.covered_by.iter().cloned().collect::<BTreeSet<_>>(),
        )
    };
    let namespaces: HashMap<&str, _> = verdicts
        .iter()
        .filter(|verdict| verdict.kind == ObjectKind::Namespace)
        .map(|verdict| (verdict.name.as_str(), coverage(verdict)))
        .collect();
    verdicts
        .iter()
        .filter(|verdict| {
            verdict.kind == ObjectKind::Namespace
                || namespaces.get(verdict.namespace.as_str()) != Some(&coverage(verdict))
        })
        .map(|verdict| SimObject {
            kind: verdict.kind,
            namespace: verdict.namespace.clone(),
            name: verdict.name.clone(),
            tier: verdict.tier.clone().unwrap_or_default(),
            target: verdict.rpo_target.unwrap_or_default(),
            covered_by: verdict.covered_by.clone(),
        })
        .collect()
}

/// The schedules that cover at least one of `objects`, in the index's order, each with the
/// backup duration `duration_of` gives it.
pub fn schedules_covering(
    index: &CoverageIndex,
    objects: &[SimObject],
    mut duration_of: impl FnMut(&str) -> (Duration, DurationFrom),
) -> Vec<SimSchedule> {
    let used: BTreeSet<&str> = objects
        .iter()
        .flat_map(|object| object.covered_by.iter().map(String::as_str))
        .collect();
    index
        .schedules()
        .filter(|schedule| used.contains(schedule.name.as_str()))
        .filter_map(|schedule| {
            let cron = schedule.cron.clone()?;
            let (backup_duration, duration_from) = duration_of(&schedule.name);
            Some(SimSchedule {
                name: schedule.name.clone(),
                cron,
                ttl: schedule.ttl,
                backup_duration,
                duration_from,
            })
        })
        .collect()
}
