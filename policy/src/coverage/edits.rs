//! Judging a Schedule edit: which protected objects replacing (or deleting) one schedule would
//! leave worse off than now, and how many objects that judgement costs.

use std::sync::Arc;

use crate::schedule::{CompiledSchedule, ScheduleState};
use crate::velero::Schedule;
use crate::verdict::{Detail, Regression, Verdict, worsening};

use super::CoverageIndex;
use super::rules::{self, MountAssumption, Outcome};

impl CoverageIndex {
    /// Protected objects that replacing (or deleting) the schedule `namespace/name` would leave
    /// uncovered, outside their tier's RPO or below its retention, and worse off than now.
    /// "Now" is the index's own copy of the schedule.
    pub fn schedule_change_regressions(
        &self,
        namespace: &str,
        name: &str,
        replacement: Option<&Schedule>,
    ) -> Vec<Regression> {
        self.schedule_edit_regressions(namespace, name, None, replacement)
    }

    /// As [`CoverageIndex::schedule_change_regressions`], judging the edit from `before` (the
    /// object the apiserver holds, when the index may lag behind it) to `after` (`None`:
    /// deleted). With `before` `None`, the index's own copy is the starting point.
    ///
    /// Only objects the schedule covered before can end up worse, so only they are evaluated,
    /// each with the schedule swapped in place: an edit costs the objects it touches, not a
    /// rebuilt index or a walk over every namespace.
    pub fn schedule_edit_regressions(
        &self,
        namespace: &str,
        name: &str,
        before: Option<&Schedule>,
        after: Option<&Schedule>,
    ) -> Vec<Regression> {
        let Some(old) = self.edit_origin(namespace, name, before) else {
            return Vec::new();
        };
        let new = after.map(|schedule| self.compile_schedule(schedule));
        let edit_before = Edit {
            namespace,
            name,
            replacement: Some(&old),
        };
        let edit_after = Edit {
            namespace,
            name,
            replacement: new.as_ref(),
        };
        let mut found = Vec::new();
        let mut judge = |before: Verdict, after: Verdict| {
            if after.is_protected()
                && let Some(reason) = worsening(&before, &after)
            {
                found.push(Regression {
                    before,
                    after,
                    reason,
                });
            }
        };
        for scope in self.namespaces_selected_by(&old) {
            let (namespace_facts, namespace_tier) = self.namespace_by_name(scope);
            // The same for every object of the namespace: worked out once, when first needed.
            let mut edited = None;
            let mut selecting = || -> (Vec<&CompiledSchedule>, Vec<&CompiledSchedule>) {
                (
                    self.selecting_edited(scope, &edit_before),
                    self.selecting_edited(scope, &edit_after),
                )
            };
            if let (Some(facts), Some(resolved)) = (namespace_facts, namespace_tier)
                && rules::namespace_outcome(&old, facts, &self.world)
                    == Outcome::Covers(rules::DataPath::Objects)
            {
                let (selecting_before, selecting_after) = edited.get_or_insert_with(&mut selecting);
                judge(
                    self.evaluate_namespace_in(
                        facts,
                        resolved,
                        selecting_before,
                        Detail::CodesOnly,
                    ),
                    self.evaluate_namespace_in(facts, resolved, selecting_after, Detail::CodesOnly),
                );
            }
            for pvc in self.world.pvcs.get(scope).into_iter().flatten() {
                let Some(resolved) = self.pvc_tier(pvc, namespace_tier) else {
                    continue;
                };
                if !matches!(
                    rules::pvc_outcome(&old, pvc, &self.world, MountAssumption::AsObserved),
                    Outcome::Covers(_)
                ) {
                    continue;
                }
                let (selecting_before, selecting_after) = edited.get_or_insert_with(&mut selecting);
                judge(
                    self.evaluate_pvc_in(
                        pvc,
                        resolved,
                        selecting_before,
                        MountAssumption::AsObserved,
                        Detail::CodesOnly,
                    ),
                    self.evaluate_pvc_in(
                        pvc,
                        resolved,
                        selecting_after,
                        MountAssumption::AsObserved,
                        Detail::CodesOnly,
                    ),
                );
            }
        }
        found
    }

    /// At most how many objects [`CoverageIndex::schedule_edit_regressions`] evaluates for the
    /// same edit: the Namespaces and PVCs of the namespaces the old schedule includes by name, or
    /// every object the index knows when it includes namespaces by pattern or includes them all.
    /// Costs a few lookups, so a caller can judge small edits at once and send large ones where
    /// they hold nothing else up.
    pub fn schedule_edit_reach(
        &self,
        namespace: &str,
        name: &str,
        before: Option<&Schedule>,
    ) -> usize {
        let Some(old) = self.edit_origin(namespace, name, before) else {
            return 0;
        };
        match old.namespaces.exact_names() {
            Some(names) => names
                .into_iter()
                .map(|name| {
                    usize::from(self.world.namespaces.contains_key(name))
                        + self.world.pvcs.get(name).map_or(0, Vec::len)
                })
                .sum(),
            None => self.object_count(),
        }
    }

    /// The schedule an edit starts from, when the edit can leave anything worse off: the stored
    /// copy (`before`, what the apiserver holds; the index may lag behind it) or else the indexed
    /// one, in Velero's namespace, active and firing. A paused, invalid or never-firing schedule
    /// covers nothing, so no edit of it makes anything worse.
    fn edit_origin(
        &self,
        namespace: &str,
        name: &str,
        before: Option<&Schedule>,
    ) -> Option<Arc<CompiledSchedule>> {
        if namespace != self.policy.velero_namespace {
            return None;
        }
        let old = match before {
            Some(schedule) => Arc::new(self.compile_schedule(schedule)),
            None => Arc::clone(self.schedules.named(namespace, name)?),
        };
        (old.state() == ScheduleState::Active && old.worst_interval().is_some()).then_some(old)
    }

    fn object_count(&self) -> usize {
        self.namespace_count() + self.pvc_count()
    }

    /// Known namespaces (with a Namespace object or PVCs) that `schedule`'s filter selects; by
    /// name lookup when it lists names only, else by testing every known namespace.
    fn namespaces_selected_by<'s>(&'s self, schedule: &CompiledSchedule) -> Vec<&'s str> {
        let filter = &schedule.namespaces;
        let mut names: Vec<&str> = match filter.exact_names() {
            None => self
                .world
                .namespaces
                .keys()
                .chain(self.world.pvcs.keys())
                .map(String::as_str)
                .filter(|name| filter.selects(name))
                .collect(),
            Some(listed) => listed
                .into_iter()
                .filter_map(|name| {
                    self.world
                        .namespaces
                        .get_key_value(name)
                        .map(|(key, _)| key.as_str())
                        .or_else(|| {
                            self.world
                                .pvcs
                                .get_key_value(name)
                                .map(|(key, _)| key.as_str())
                        })
                })
                .filter(|name| filter.selects(name))
                .collect(),
        };
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The schedules selecting `namespace` with `edit` applied: its schedule removed and, when
    /// the replacement selects the namespace, the replacement in its place.
    fn selecting_edited<'s>(
        &'s self,
        namespace: &str,
        edit: &Edit<'s>,
    ) -> Vec<&'s CompiledSchedule> {
        let mut selecting = self.schedules.selecting(namespace);
        selecting.retain(|schedule| {
            !(schedule.namespace == edit.namespace && schedule.name == edit.name)
        });
        if let Some(replacement) = edit.replacement
            && replacement.namespaces.selects(namespace)
        {
            selecting.push(replacement);
        }
        selecting
    }
}

/// One schedule of the index swapped for another (or removed), for judging an edit.
struct Edit<'a> {
    namespace: &'a str,
    name: &'a str,
    replacement: Option<&'a CompiledSchedule>,
}
