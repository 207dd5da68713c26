//! Which Velero Schedules protect each Namespace and PVC, and how well.
//!
//! [`CoverageIndex`] is built once per change of the inputs (policy, schedules, cluster facts)
//! and answers per-object questions without re-reading anything: schedules are compiled once,
//! and indexed by the namespaces they name, so an object is only tested against schedules that
//! can select its namespace.
//!
//! - `rules`: the Velero inclusion rules for one (schedule, object) pair; `membership` (what a
//!   label selector takes in), `volume_data` (file-system backup or snapshot), `snapshot_class`
//!   (which VolumeSnapshotClass), `data_gap` (why data is not backed up) are its parts.
//! - `assemble`: per-schedule outcomes turned into one verdict with its messages.
//! - `edits`: what replacing or deleting one schedule would leave worse off.
//! - `routes`: how each schedule's backups should hold a claim's data (for the evidence).
//! - `world`: the non-Schedule facts (pods, storage) indexed for lookups; `storage` holds the
//!   classes, volumes and snapshot locations.

mod assemble;
mod data_gap;
mod edits;
mod membership;
mod routes;
mod rules;
mod snapshot_class;
mod storage;
mod volume_data;
mod world;

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::{Policy, Tier, TierSource};
use crate::inventory::Inventory;
use crate::objects::{Meta, NamespaceFacts, PvcFacts};
use crate::schedule::{CompiledSchedule, ServerView};
use crate::velero::Schedule;
use crate::verdict::{Detail, ObjectKind, Verdict};

use self::assemble::Exclusion;
pub use self::routes::DataRoute;
use self::rules::MountAssumption;
use self::world::World;

/// Below this many namespaces one thread is faster than spawning more.
const PARALLEL_THRESHOLD: usize = 512;

/// Compiled schedules of the Velero namespace, indexed by the namespaces they can select.
#[derive(Debug, Default)]
struct ScheduleSet {
    all: Vec<Arc<CompiledSchedule>>,
    /// Schedule name → index into `all` (all of them live in the Velero namespace).
    by_name: HashMap<String, usize>,
    /// Exact namespace name → schedules that include it by name.
    by_namespace: HashMap<String, Vec<usize>>,
    /// Schedules that include every namespace, or include some by glob: tested against all.
    broad: Vec<usize>,
    /// The answer of [`ScheduleSet::selecting`] for every namespace the index knows, worked out
    /// once per build so that requests never run glob matchers for existing namespaces.
    known: HashMap<Box<str>, Box<[u32]>>,
}

impl ScheduleSet {
    fn build<'n>(all: Vec<Arc<CompiledSchedule>>, known: impl Iterator<Item = &'n str>) -> Self {
        let mut set = Self {
            all,
            ..Self::default()
        };
        for (index, schedule) in set.all.iter().enumerate() {
            set.by_name.insert(schedule.name.clone(), index);
            // A schedule that can select namespaces it does not name is tried on every one.
            match schedule.namespaces.exact_names() {
                Some(names) => {
                    for name in names {
                        set.by_namespace
                            .entry(name.to_string())
                            .or_default()
                            .push(index);
                    }
                }
                None => set.broad.push(index),
            }
        }
        let known = known
            .map(|name| {
                let indexes: Box<[u32]> = set
                    .selecting_indexes(name)
                    .into_iter()
                    .filter_map(|index| u32::try_from(index).ok())
                    .collect();
                (Box::from(name), indexes)
            })
            .collect();
        set.known = known;
        set
    }

    fn named(&self, namespace: &str, name: &str) -> Option<&Arc<CompiledSchedule>> {
        self.by_name
            .get(name)
            .and_then(|index| self.all.get(*index))
            .filter(|schedule| schedule.namespace == namespace)
    }

    /// Schedules whose namespace filter selects `namespace`, in a stable order.
    fn selecting(&self, namespace: &str) -> Vec<&CompiledSchedule> {
        match self.known.get(namespace) {
            Some(indexes) => indexes
                .iter()
                .filter_map(|index| self.all.get(*index as usize))
                .map(Arc::as_ref)
                .collect(),
            None => self
                .selecting_indexes(namespace)
                .into_iter()
                .filter_map(|index| self.all.get(index))
                .map(Arc::as_ref)
                .collect(),
        }
    }

    fn selecting_indexes(&self, namespace: &str) -> Vec<usize> {
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
        indexes.retain(|index| {
            self.all
                .get(*index)
                .is_some_and(|schedule| schedule.namespaces.selects(namespace))
        });
        indexes
    }
}

#[derive(Debug, Clone)]
pub struct CoverageIndex {
    policy: Arc<Policy>,
    schedules: Arc<ScheduleSet>,
    world: Arc<World>,
    view: Arc<ServerView>,
}

impl CoverageIndex {
    pub fn build(policy: Arc<Policy>, mut inventory: Inventory) -> Self {
        let schedules = std::mem::take(&mut inventory.schedules);
        let view = ServerView::of(&inventory, &policy.velero, &policy.velero_namespace);
        let compiled = schedules
            .iter()
            .filter(|schedule| {
                schedule.metadata.namespace.as_deref() == Some(policy.velero_namespace.as_str())
            })
            .map(|schedule| Arc::new(CompiledSchedule::compile(schedule, &view)))
            .collect();
        let world = World::build(inventory, &policy.velero_namespace);
        Self {
            schedules: Arc::new(ScheduleSet::build(compiled, world.namespace_names())),
            world: Arc::new(world),
            view: Arc::new(view),
            policy,
        }
    }

    /// `schedule` compiled against this index's cluster, as Velero would validate it here.
    pub fn compile_schedule(&self, schedule: &Schedule) -> CompiledSchedule {
        CompiledSchedule::compile(schedule, &self.view)
    }

    /// The cluster as Velero's backup controller sees it (server, locations, excluded namespaces).
    pub fn server_view(&self) -> &ServerView {
        &self.view
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
        self.world.pvc_count()
    }

    pub fn pod_count(&self) -> usize {
        self.world.pod_count()
    }

    /// The verdict for a Namespace (which need not be in the index: at admission it is new).
    pub fn evaluate_namespace(&self, namespace: &NamespaceFacts) -> Verdict {
        self.evaluate_namespace_with(namespace, Detail::Messages)
    }

    /// [`CoverageIndex::evaluate_namespace`], writing gap messages only with [`Detail::Messages`].
    pub fn evaluate_namespace_with(&self, namespace: &NamespaceFacts, detail: Detail) -> Verdict {
        let meta = &namespace.metadata;
        match self.policy.namespace_tier(meta) {
            Some(resolved) => self.evaluate_namespace_in(
                namespace,
                resolved,
                &self.schedules.selecting(&meta.name),
                detail,
            ),
            None => Verdict::unprotected(ObjectKind::Namespace, &meta.name, &meta.name),
        }
    }

    fn evaluate_namespace_in(
        &self,
        namespace: &NamespaceFacts,
        (tier, source): (&Tier, TierSource),
        selecting: &[&CompiledSchedule],
        detail: Detail,
    ) -> Verdict {
        let outcomes = selecting
            .iter()
            .map(|schedule| {
                (
                    *schedule,
                    rules::namespace_outcome(schedule, namespace, &self.world),
                )
            })
            .collect();
        assemble::verdict(
            &self.policy,
            ObjectKind::Namespace,
            &namespace.metadata,
            (tier, source),
            outcomes,
            Exclusion::None,
            detail,
        )
    }

    /// The verdict for a PVC. Its namespace's tier applies; the namespace is looked up in the
    /// index (a PVC in a namespace the index does not know is judged by its name alone).
    pub fn evaluate_pvc(&self, pvc: &PvcFacts) -> Verdict {
        self.evaluate_pvc_with(pvc, MountAssumption::AsObserved, Detail::Messages)
    }

    /// The verdict for a PVC being admitted: no pod can mount it yet, so where file-system backup
    /// would take its data once a running pod mounts it, it counts as covered, with an
    /// `unmounted-fs-backup-only` warning (an audit finding if it stays unmounted).
    pub fn evaluate_pvc_at_admission(&self, pvc: &PvcFacts) -> Verdict {
        self.evaluate_pvc_at_admission_with(pvc, Detail::Messages)
    }

    /// [`CoverageIndex::evaluate_pvc_at_admission`], writing gap messages only with
    /// [`Detail::Messages`].
    pub fn evaluate_pvc_at_admission_with(&self, pvc: &PvcFacts, detail: Detail) -> Verdict {
        self.evaluate_pvc_with(pvc, MountAssumption::WillBeMounted, detail)
    }

    fn evaluate_pvc_with(&self, pvc: &PvcFacts, mount: MountAssumption, detail: Detail) -> Verdict {
        let namespace_name = pvc.metadata.namespace_or_default();
        let (_, namespace_tier) = self.namespace_by_name(namespace_name);
        match self.pvc_tier(pvc, namespace_tier) {
            Some(resolved) => self.evaluate_pvc_in(
                pvc,
                resolved,
                &self.schedules.selecting(namespace_name),
                mount,
                detail,
            ),
            None => Verdict::unprotected(
                ObjectKind::PersistentVolumeClaim,
                namespace_name,
                &pvc.metadata.name,
            ),
        }
    }

    /// The namespace's facts, when the index has its Namespace object, and its tier (a namespace
    /// the index does not know is judged by its name alone).
    fn namespace_by_name(
        &self,
        name: &str,
    ) -> (Option<&NamespaceFacts>, Option<(&Tier, TierSource)>) {
        let facts = self.world.namespaces.get(name);
        let tier = match facts {
            Some(facts) => self.policy.namespace_tier(&facts.metadata),
            None => self.policy.namespace_tier(&Meta::named(name)),
        };
        (facts, tier)
    }

    /// A PVC takes its namespace's tier; in an unprotected (but not exempt) namespace it may opt
    /// in with its own `<prefix>/tier`.
    fn pvc_tier<'p>(
        &'p self,
        pvc: &PvcFacts,
        namespace_tier: Option<(&'p Tier, TierSource)>,
    ) -> Option<(&'p Tier, TierSource)> {
        namespace_tier.or_else(|| {
            let namespace = pvc.metadata.namespace_or_default();
            (!self.policy.is_exempt_namespace(namespace))
                .then(|| self.policy.declared_tier(&pvc.metadata))
                .flatten()
                .map(|tier| (tier, TierSource::Annotation))
        })
    }

    fn evaluate_pvc_in(
        &self,
        pvc: &PvcFacts,
        (tier, source): (&Tier, TierSource),
        selecting: &[&CompiledSchedule],
        mount: MountAssumption,
        detail: Detail,
    ) -> Verdict {
        let outcomes = selecting
            .iter()
            .map(|schedule| {
                (
                    *schedule,
                    rules::pvc_outcome(schedule, pvc, &self.world, mount),
                )
            })
            .collect();
        let exclusion = if self
            .view
            .label_excluded_namespaces
            .binary_search_by(|name| name.as_str().cmp(pvc.metadata.namespace_or_default()))
            .is_ok()
        {
            Exclusion::Namespace
        } else {
            Exclusion::None
        };
        assemble::verdict(
            &self.policy,
            ObjectKind::PersistentVolumeClaim,
            &pvc.metadata,
            (tier, source),
            outcomes,
            exclusion,
            detail,
        )
    }

    /// Verdicts for every protected Namespace and PVC in the index, namespaces first, by name.
    /// Large indexes are evaluated on every core: namespaces are independent of each other.
    pub fn evaluate_all(&self) -> Vec<Verdict> {
        self.evaluate_all_with(Detail::Messages)
    }

    /// [`CoverageIndex::evaluate_all`], writing gap messages only with [`Detail::Messages`]
    /// (counting covered and uncovered objects reads none).
    pub fn evaluate_all_with(&self, detail: Detail) -> Vec<Verdict> {
        let mut names: Vec<&str> = self.world.namespace_names().collect();
        names.sort_unstable();
        let workers = std::thread::available_parallelism().map_or(1, usize::from);
        let chunks: Vec<(Vec<Verdict>, Vec<Verdict>)> =
            if workers > 1 && names.len() >= PARALLEL_THRESHOLD {
                let chunk_size = names.len().div_ceil(workers);
                std::thread::scope(|scope| {
                    let handles: Vec<_> = names
                        .chunks(chunk_size)
                        .map(|chunk| scope.spawn(move || self.evaluate_namespaces(chunk, detail)))
                        .collect();
                    handles
                        .into_iter()
                        .map(|handle| {
                            handle
                                .join()
                                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                        })
                        .collect()
                })
            } else {
                vec![self.evaluate_namespaces(&names, detail)]
            };
        let total = chunks.iter().map(|(ns, pvcs)| ns.len() + pvcs.len()).sum();
        let mut verdicts = Vec::with_capacity(total);
        let mut pvc_verdicts = Vec::new();
        for (namespaces, pvcs) in chunks {
            verdicts.extend(namespaces);
            pvc_verdicts.push(pvcs);
        }
        verdicts.extend(pvc_verdicts.into_iter().flatten());
        verdicts
    }

    /// Namespace and PVC verdicts for the namespaces `names`, in that order.
    fn evaluate_namespaces(&self, names: &[&str], detail: Detail) -> (Vec<Verdict>, Vec<Verdict>) {
        let mut namespaces = Vec::new();
        let mut pvcs = Vec::new();
        for &name in names {
            let (namespace, namespace_tier) = self.namespace_by_name(name);
            let mut selecting = None;
            if let (Some(namespace), Some(resolved)) = (namespace, namespace_tier) {
                let selecting = selecting.get_or_insert_with(|| self.schedules.selecting(name));
                namespaces.push(self.evaluate_namespace_in(namespace, resolved, selecting, detail));
            }
            for pvc in self.world.pvcs.get(name).into_iter().flatten() {
                if let Some(resolved) = self.pvc_tier(pvc, namespace_tier) {
                    let selecting = selecting.get_or_insert_with(|| self.schedules.selecting(name));
                    pvcs.push(self.evaluate_pvc_in(
                        pvc,
                        resolved,
                        selecting,
                        MountAssumption::AsObserved,
                        detail,
                    ));
                }
            }
        }
        (namespaces, pvcs)
    }
}

#[cfg(test)]
mod tests;
