//! Which Velero Schedules protect each Namespace and PVC, and how well.
//!
//! [`CoverageIndex`] is built once per change of the inputs (policy, schedules, cluster facts)
//! and answers per-object questions without re-reading anything: schedules are compiled once,
//! and indexed by the namespaces they name, so an object is only tested against schedules that
//! can select its namespace.

mod assemble;
mod rules;
mod world;

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::Policy;
use crate::inventory::Inventory;
use crate::objects::{Meta, NamespaceFacts, PvcFacts};
use crate::schedule::{CompiledSchedule, CronCache};
use crate::velero::Schedule;
use crate::verdict::{ObjectKind, Regression, Verdict, regressions};

use self::world::World;

/// Compiled schedules of the Velero namespace, indexed by the namespaces they can select.
#[derive(Debug, Default)]
struct ScheduleSet {
    all: Vec<Arc<CompiledSchedule>>,
    /// Exact namespace name → schedules that include it by name.
    by_namespace: HashMap<String, Vec<usize>>,
    /// Schedules that include every namespace, or include some by glob: tested against all.
    broad: Vec<usize>,
}

impl ScheduleSet {
    fn build(all: Vec<Arc<CompiledSchedule>>) -> Self {
        let mut set = Self {
            all,
            ..Self::default()
        };
        for (index, schedule) in set.all.iter().enumerate() {
            let filter = &schedule.namespaces;
            if filter.includes_all()
                || filter
                    .includes
                    .iter()
                    .any(|pattern| pattern.exact().is_none())
            {
                set.broad.push(index);
            }
            for name in filter.includes.iter().filter_map(|pattern| pattern.exact()) {
                set.by_namespace
                    .entry(name.to_string())
                    .or_default()
                    .push(index);
            }
        }
        set
    }

    /// Schedules whose namespace filter selects `namespace`, in a stable order.
    fn selecting(&self, namespace: &str) -> Vec<&CompiledSchedule> {
        let mut indexes: Vec<usize> = self
            .by_namespace
            .get(namespace)
            .into_iter()
            .flatten()
            .chain(self.broad.iter())
            .copied()
            .collect();
        indexes.sort_unstable();
        indexes.dedup();
        indexes
            .into_iter()
            .filter_map(|index| self.all.get(index))
            .filter(|schedule| schedule.namespaces.selects(namespace))
            .map(Arc::as_ref)
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct CoverageIndex {
    policy: Arc<Policy>,
    schedules: Arc<ScheduleSet>,
    world: Arc<World>,
}

impl CoverageIndex {
    pub fn build(policy: Arc<Policy>, inventory: Inventory) -> Self {
        Self::build_with_cache(policy, inventory, &mut CronCache::default())
    }

    /// As [`CoverageIndex::build`], reusing cron analyses from earlier builds.
    pub fn build_with_cache(
        policy: Arc<Policy>,
        mut inventory: Inventory,
        crons: &mut CronCache,
    ) -> Self {
        let schedules = std::mem::take(&mut inventory.schedules);
        let compiled = schedules
            .iter()
            .filter(|schedule| {
                schedule.metadata.namespace.as_deref() == Some(policy.velero_namespace.as_str())
            })
            .map(|schedule| Arc::new(CompiledSchedule::compile(schedule, crons)))
            .collect();
        let world = World::build(inventory, &policy.velero_namespace);
        Self {
            schedules: Arc::new(ScheduleSet::build(compiled)),
            world: Arc::new(world),
            policy,
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Every schedule of the Velero namespace, valid or not, in input order.
    pub fn schedules(&self) -> impl Iterator<Item = &CompiledSchedule> {
        self.schedules.all.iter().map(Arc::as_ref)
    }

    pub fn namespace(&self, name: &str) -> Option<&NamespaceFacts> {
        self.world.namespaces.get(name)
    }

    pub fn namespace_count(&self) -> usize {
        self.world.namespaces.len()
    }

    pub fn pvc_count(&self) -> usize {
        self.world.pvcs.values().map(Vec::len).sum()
    }

    pub fn pod_count(&self) -> usize {
        self.world.pod_count()
    }

    /// The verdict for a Namespace (which need not be in the index: at admission it is new).
    pub fn evaluate_namespace(&self, namespace: &NamespaceFacts) -> Verdict {
        let meta = &namespace.metadata;
        let Some((tier, source)) = self.policy.namespace_tier(meta) else {
            return Verdict::unprotected(ObjectKind::Namespace, &meta.name, &meta.name);
        };
        let outcomes = self
            .schedules
            .selecting(&meta.name)
            .into_iter()
            .map(|schedule| (schedule, rules::namespace_outcome(schedule, namespace)))
            .collect();
        assemble::verdict(
            &self.policy,
            ObjectKind::Namespace,
            meta,
            tier,
            source,
            outcomes,
        )
    }

    /// The verdict for a PVC. Its namespace's tier applies; the namespace is looked up in the
    /// index (a PVC in a namespace the index does not know is judged by its name alone).
    pub fn evaluate_pvc(&self, pvc: &PvcFacts) -> Verdict {
        let namespace_name = pvc.metadata.namespace_or_default();
        let fallback;
        let namespace_meta = match self.world.namespaces.get(namespace_name) {
            Some(namespace) => &namespace.metadata,
            None => {
                fallback = Meta::named(namespace_name);
                &fallback
            }
        };
        self.evaluate_pvc_in(
            pvc,
            namespace_meta,
            &self.schedules.selecting(namespace_name),
        )
    }

    fn evaluate_pvc_in(
        &self,
        pvc: &PvcFacts,
        namespace: &Meta,
        selecting: &[&CompiledSchedule],
    ) -> Verdict {
        let meta = &pvc.metadata;
        let namespace_name = meta.namespace_or_default();
        let resolved = self.policy.namespace_tier(namespace).or_else(|| {
            (!self.policy.is_exempt_namespace(namespace_name))
                .then(|| self.policy.declared_tier(meta))
                .flatten()
                .map(|tier| (tier, crate::config::TierSource::Annotation))
        });
        let Some((tier, source)) = resolved else {
            return Verdict::unprotected(
                ObjectKind::PersistentVolumeClaim,
                namespace_name,
                &meta.name,
            );
        };
        let outcomes = selecting
            .iter()
            .map(|schedule| (*schedule, rules::pvc_outcome(schedule, pvc, &self.world)))
            .collect();
        assemble::verdict(
            &self.policy,
            ObjectKind::PersistentVolumeClaim,
            meta,
            tier,
            source,
            outcomes,
        )
    }

    /// Verdicts for every protected Namespace and PVC in the index, namespaces first, by name.
    pub fn evaluate_all(&self) -> Vec<Verdict> {
        self.evaluate_where(|_| true)
    }

    fn evaluate_where(&self, include_namespace: impl Fn(&str) -> bool) -> Vec<Verdict> {
        let mut namespaces = Vec::new();
        let mut pvcs = Vec::new();
        let mut names: Vec<&str> = self
            .world
            .namespaces
            .keys()
            .chain(self.world.pvcs.keys())
            .map(String::as_str)
            .filter(|name| include_namespace(name))
            .collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            let selecting = self.schedules.selecting(name);
            let fallback = Meta::named(name);
            let namespace_meta = match self.world.namespaces.get(name) {
                Some(namespace) => {
                    let verdict = self.evaluate_namespace(namespace);
                    if verdict.tier.is_some() {
                        namespaces.push(verdict);
                    }
                    &namespace.metadata
                }
                None => &fallback,
            };
            for pvc in self.world.pvcs.get(name).into_iter().flatten() {
                let verdict = self.evaluate_pvc_in(pvc, namespace_meta, &selecting);
                if verdict.tier.is_some() {
                    pvcs.push(verdict);
                }
            }
        }
        namespaces.extend(pvcs);
        namespaces
    }

    /// This index with the schedule `namespace/name` replaced by `replacement` (added when it
    /// was absent, removed when `replacement` is `None`).
    pub fn with_schedule(
        &self,
        namespace: &str,
        name: &str,
        replacement: Option<&Schedule>,
    ) -> Self {
        let mut crons = CronCache::default();
        let mut all: Vec<Arc<CompiledSchedule>> = self
            .schedules
            .all
            .iter()
            .filter(|schedule| !(schedule.namespace == namespace && schedule.name == name))
            .cloned()
            .collect();
        if let Some(schedule) = replacement
            && namespace == self.policy.velero_namespace
        {
            all.push(Arc::new(CompiledSchedule::compile(schedule, &mut crons)));
        }
        Self {
            policy: Arc::clone(&self.policy),
            schedules: Arc::new(ScheduleSet::build(all)),
            world: Arc::clone(&self.world),
        }
    }

    /// Protected objects that replacing (or deleting) the schedule `namespace/name` would leave
    /// uncovered, outside their tier's RPO or below its retention, and worse off than now.
    pub fn schedule_change_regressions(
        &self,
        namespace: &str,
        name: &str,
        replacement: Option<&Schedule>,
    ) -> Vec<Regression> {
        let after = self.with_schedule(namespace, name, replacement);
        let touched = |schedule: &CompiledSchedule, ns: &str| schedule.namespaces.selects(ns);
        let before_schedule = self
            .schedules
            .all
            .iter()
            .find(|schedule| schedule.namespace == namespace && schedule.name == name);
        let after_schedule = after
            .schedules
            .all
            .iter()
            .find(|schedule| schedule.namespace == namespace && schedule.name == name);
        let in_scope = |ns: &str| {
            before_schedule.is_some_and(|schedule| touched(schedule, ns))
                || after_schedule.is_some_and(|schedule| touched(schedule, ns))
        };
        regressions(
            &self.evaluate_where(in_scope),
            &after.evaluate_where(in_scope),
        )
    }
}

#[cfg(test)]
mod tests;
